// Test support for mtty: a host with the mtty module registered, mttys created as the kernel does (an mdev of a
// type, probed by the mtty driver), an opened mtty with byte access to its BARs and config space.
import { randomUUID } from 'node:crypto';
import { deviceFileRead, deviceFileRelease, deviceFileWrite, openDeviceFile } from '../../vfio/device-file.js';
import type { VfioDeviceFile } from '../../vfio/device-file.js';
import { vfioConfigure } from '../../vfio/core-state.js';
import { Host } from '../../base/host.js';
import { pciEmuIndexToOffset } from '../../emu/regions.js';
import { mdevCreate, mdevRemove } from '../../mdev/mdev-device.js';
import { mdevParentType } from '../../mdev/mdev-parent.js';
import { mdevVfioDevice } from '../../mdev/mdev-vfio.js';
import type { MdevDevice } from '../../mdev/mdev-objects.js';
import type { MdevSample } from '../../mdev/sample-parent.js';
import { mttyRegister } from './mtty-driver.js';
import { MttyState } from './mtty.js';
import type { MttyParams } from './mtty-params.js';
import type { MttyTypeName } from './mtty-types.js';

/** A host with the mtty module loaded. */
export interface MttyTestHost {
  readonly host: Host;
  readonly sample: MdevSample;
  /** mdev create of `type` with `params`: the mtty driver's probe makes the device (its errno propagates). */
  create(type: MttyTypeName, params?: MttyParams): { mdev: MdevDevice; dev: MttyState };
  /** The module's exit (removes what is left). */
  unload(): Promise<void>;
}

export function mttyTestHost(requestIntervalMs = 10): MttyTestHost {
  const host = new Host();
  vfioConfigure(host, { requestIntervalMs });
  const sample = mttyRegister(host);
  return {
    host,
    sample,
    create: (type, params) => {
      const t = mdevParentType(sample.parent, type);
      if (t === undefined) throw new Error(`no mtty type ${type}`);
      const mdev = mdevCreate(t, randomUUID(), params);
      const dev = mdevVfioDevice(mdev);
      if (!(dev instanceof MttyState)) throw new Error('mtty probe made no MttyState');
      return { mdev, dev };
    },
    unload: () => sample.unregister(),
  };
}

export interface OpenMtty {
  host: Host;
  mdev: MdevDevice;
  dev: MttyState;
  df: VfioDeviceFile;
  /** Guest inb/outb on port `bar`'s register. */
  inb(bar: number, reg: number): number;
  outb(bar: number, reg: number, v: number): void;
  cfg32(off: number): number;
  cfgWrite32(off: number, v: number): void;
  /** Closes the device file, removes the mdev (waiting for its users) and unloads the module. */
  done(): Promise<void>;
}

export function openMtty(type: MttyTypeName = '2', params?: MttyParams): OpenMtty {
  const th = mttyTestHost();
  const { mdev, dev } = th.create(type, params);
  const df = openDeviceFile(dev);
  const b1 = new Uint8Array(1);
  const b4 = new Uint8Array(4);
  const dv = new DataView(b4.buffer);
  return {
    host: th.host,
    mdev,
    dev,
    df,
    inb: (bar, reg) => {
      deviceFileRead(df, b1, pciEmuIndexToOffset(bar) + reg);
      return b1[0] ?? 0;
    },
    outb: (bar, reg, v) => {
      b1[0] = v;
      deviceFileWrite(df, b1, pciEmuIndexToOffset(bar) + reg);
    },
    cfg32: (off) => {
      deviceFileRead(df, b4, pciEmuIndexToOffset(7) + off);
      return dv.getUint32(0, true);
    },
    cfgWrite32: (off, v) => {
      dv.setUint32(0, v >>> 0, true);
      deviceFileWrite(df, b4, pciEmuIndexToOffset(7) + off);
    },
    done: async () => {
      deviceFileRelease(df);
      await mdevRemove(mdev);
      await th.unload();
    },
  };
}
