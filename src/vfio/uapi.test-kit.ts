// Test support for the uAPI file objects: a registered fake device, a VfioProcess, the group-path open sequence
// and errno predicates. Every fixture's cleanup closes all fds, unregisters, puts and checks the sanitizer.
import { VfioError } from '../uapi/errno.js';
import type { ErrnoName } from '../uapi/errno.js';
import { sanitizer } from '../sanitizer/sanitizer.js';
import type { Host } from '../base/host.js';
import type { Device } from '../base/device.js';
import { VFIO_GROUP_GET_DEVICE_FD, VFIO_GROUP_SET_CONTAINER, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU } from '../uapi/ioctl.js';
import { VfioDevice, allocDevice, putVfioDevice } from './vfio-device.js';
import type { VfioDeviceOps } from './vfio-ops.js';
import { registerEmulatedIommuDev, registerGroupDev, unregisterGroupDev } from './registration.js';
import { makeHost, makeParent, recordingOps } from './recording-ops.test-kit.js';
import { assignDeviceSet } from './device-set.js';
import { VfioProcess } from './vfio-process.js';
import { ArrayBufferBacking } from './dma-space.js';

export class KitDev extends VfioDevice {
  /** A fake driver's state record (migration tests use it). */
  state: Record<string, number> = {};
}

/** Runs `fn` and names its outcome: the VfioError's errno name, or 'ok'. Other errors propagate. */
export function errnoOf(fn: () => unknown): ErrnoName | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (err instanceof VfioError) return err.code;
    throw err;
  }
}

/** An assert.throws predicate: a VfioError with `code` and nothing else. */
export function errno(code: ErrnoName): (e: unknown) => boolean {
  return (e: unknown) => {
    if (VfioError.is(e, code)) return true;
    throw new Error(`expected VfioError ${code}, got ${String(e)}`);
  };
}

/** A NUL-terminated string buffer. */
export function cstr(s: string): Uint8Array {
  const b = new TextEncoder().encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/** A buffer of little-endian u32s. */
export function u32s(...v: number[]): Uint8Array {
  const out = new Uint8Array(v.length * 4);
  const dv = new DataView(out.buffer);
  v.forEach((x, i) => dv.setUint32(i * 4, x >>> 0, true));
  return out;
}

/** A DataView over a buffer. */
export function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

export interface KitOptions {
  /** Driver ops beyond the recorded life-cycle hooks. */
  readonly ops?: Partial<Omit<VfioDeviceOps<KitDev>, 'name'>>;
  readonly migrationFlags?: number;
  /** Register behind a real IOMMU group instead of an emulated one (the parent needs an iommuGroup). */
  readonly physical?: boolean;
  readonly parent?: Device;
  readonly host?: Host;
  /** A device set id to join before registration (devices sharing it reset together). */
  readonly devSet?: unknown;
}

export interface Kit {
  readonly host: Host;
  readonly log: string[];
  readonly proc: VfioProcess;
  /** Adds another registered device on the same host (cleaned up with the kit). */
  addDevice(name: string, opts?: KitOptions): KitDev;
  readonly dev: KitDev;
  /** Closes every fd, unregisters and puts every device, then checks for leaks. */
  done(): Promise<void>;
}

/** A host with one registered fake device and a process with 1 MiB of user memory at 0x10000000. */
export function makeKit(opts: KitOptions = {}): Kit {
  const mark = sanitizer.mark();
  const { host, parent } = opts.host !== undefined && opts.parent !== undefined ? { host: opts.host, parent: opts.parent } : makeHost('dev0');
  const log: string[] = [];
  const devices: KitDev[] = [];
  const add = (p: Device, o: KitOptions): KitDev => {
    const base = recordingOps<KitDev>(log, o.ops ?? {});
    const dev = allocDevice(KitDev, p, Object.freeze({ ...(o.ops ?? {}), ...base }));
    dev.migrationFlags = o.migrationFlags ?? 0;
    if (o.devSet !== undefined) assignDeviceSet(dev, o.devSet);
    try {
      if (o.physical === true) registerGroupDev(dev);
      else registerEmulatedIommuDev(dev);
    } catch (err) {
      putVfioDevice(dev);
      throw err;
    }
    devices.push(dev);
    return dev;
  };
  const dev = add(parent, opts);
  const proc = new VfioProcess(host);
  proc.mm.map(0x10000000n, new ArrayBufferBacking(1 << 20));
  return {
    host,
    log,
    proc,
    dev,
    addDevice: (name, o = {}) => add(o.parent ?? makeParent(host, name), o),
    async done() {
      proc.closeAll();
      for (const d of devices.reverse()) {
        if (d.regState === 'registered') await unregisterGroupDev(d);
        putVfioDevice(d);
      }
      sanitizer.assertNoLeaks(mark);
    },
  };
}

/** The group path: container + group + SET_CONTAINER + SET_IOMMU(TYPE1v2) + GET_DEVICE_FD. */
export function openViaGroup(proc: VfioProcess, dev: VfioDevice): { container: number; group: number; device: number } {
  const group = proc.open(groupPath(dev));
  const container = proc.open('/dev/vfio/vfio');
  proc.ioctl(group, VFIO_GROUP_SET_CONTAINER, u32s(container));
  proc.ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
  const device = proc.ioctl(group, VFIO_GROUP_GET_DEVICE_FD, cstr(dev.dev?.name ?? ''));
  return { container, group, device };
}

export function groupPath(dev: VfioDevice): string {
  const g = dev.group;
  if (g === null) throw new Error('device has no group');
  return g.devPath;
}
