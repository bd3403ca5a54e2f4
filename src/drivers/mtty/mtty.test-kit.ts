// Test support for mtty: a host with a parent, an opened mtty, byte access to its BARs and config space.
import { deviceFileRead, deviceFileRelease, deviceFileWrite, openDeviceFile } from '../../vfio/device-file.js';
import type { VfioDeviceFile } from '../../vfio/device-file.js';
import { makeHost } from '../../vfio/recording-ops.test-kit.js';
import type { Host } from '../../base/host.js';
import type { Device } from '../../base/device.js';
import { pciEmuIndexToOffset } from '../../emu/regions.js';
import { mttyCreate, mttyRemove } from './mtty.js';
import type { MttyOptions, MttyState } from './mtty.js';
import type { MttyTypeName } from './mtty-types.js';

export interface OpenMtty {
  host: Host;
  parent: Device;
  dev: MttyState;
  df: VfioDeviceFile;
  /** Guest inb/outb on port `bar`'s register. */
  inb(bar: number, reg: number): number;
  outb(bar: number, reg: number, v: number): void;
  cfg32(off: number): number;
  cfgWrite32(off: number, v: number): void;
  done(): Promise<void>;
}

export function openMtty(type: MttyTypeName = '2', opts: MttyOptions = {}): OpenMtty {
  const { host, parent } = makeHost('mtty-parent', 10);
  const dev = mttyCreate(parent, type, opts);
  const df = openDeviceFile(dev);
  const b1 = new Uint8Array(1);
  const b4 = new Uint8Array(4);
  const dv = new DataView(b4.buffer);
  return {
    host,
    parent,
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
      await mttyRemove(dev);
    },
  };
}
