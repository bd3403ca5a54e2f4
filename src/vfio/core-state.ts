// The VFIO core's globals (the kernel's `static struct vfio vfio` and vfio_device_set_xa), one set per Host.
import type { Host } from '../base/host.js';
import { Ida } from '../base/ida.js';
import { classRegister } from '../base/class.js';
import type { DeviceClass } from '../base/class.js';
import type { IommuGroup } from '../base/iommu-group.js';
import type { VfioDeviceSet } from './device-set.js';
import type { VfioGroup } from './group.js';
import type { VfioDevice } from './vfio-device.js';

/** MINORMASK: the highest device index (the minor number space). */
export const VFIO_MAX_DEVICES = (1 << 20) - 1;

export interface VfioCoreOptions {
  /** How long unregister waits between `ops.request` calls (the kernel's 10 s). */
  requestIntervalMs: number;
}

export class VfioCoreState {
  readonly deviceIda = new Ida(VFIO_MAX_DEVICES);
  readonly deviceClass: DeviceClass;
  /** The "vfio" class of group devices (/sys/class/vfio/<N>, /dev/vfio/<N>). */
  readonly groupClass: DeviceClass;
  readonly deviceSets = new Map<unknown, VfioDeviceSet>();
  /** VFIO groups of real IOMMU groups, by their IOMMU group (emulated and no-IOMMU groups are private). */
  readonly groups = new Map<IommuGroup, VfioGroup>();
  readonly options: VfioCoreOptions = { requestIntervalMs: 10_000 };

  constructor(readonly host: Host) {
    // /sys/class/vfio-dev/vfioX
    this.deviceClass = classRegister(host, 'vfio-dev');
    this.groupClass = classRegister(host, 'vfio');
  }
}

const states = new WeakMap<Host, VfioCoreState>();

/** The VFIO core of `host`, set up on first use (the kernel's vfio_init). */
export function vfioCore(host: Host): VfioCoreState {
  let s = states.get(host);
  if (s === undefined) {
    s = new VfioCoreState(host);
    states.set(host, s);
  }
  return s;
}

/** Tunes the core of one host (e.g. a short request interval in tests). */
export function vfioConfigure(host: Host, opts: Partial<VfioCoreOptions>): void {
  Object.assign(vfioCore(host).options, opts);
}

/** The VFIO core a device belongs to (set at init); using a device that never initialized is a bug. */
export function coreOf(device: VfioDevice): VfioCoreState {
  const core = device.core;
  if (core === null) throw new Error(`${device.index >= 0 ? `vfio${device.index}` : 'vfio?'} is not initialized`);
  return core;
}
