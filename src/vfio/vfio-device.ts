// struct vfio_device and its life cycle (drivers/vfio/vfio_main.c after "Tidy up vfio_device life cycle"):
// allocDevice/initDevice run ops.init; the embedded Device's reference count keeps it alive; the last put
// leaves the device set, frees the index, runs ops.release and (for core-allocated storage) frees it.
import { Device, deviceInitialize, getDevice, hostOf, putDevice } from '../base/device.js';
import { Refcount } from '../base/refcount.js';
import { Completion } from '../base/completion.js';
import type { SysfsAttrTable } from '../base/sysfs.js';
import { sanitizer } from '../sanitizer/sanitizer.js';
import { VfioError } from '../uapi/errno.js';
import type { VfioDeviceOps } from './vfio-ops.js';
import type { VfioDeviceSet } from './device-set.js';
import { releaseDeviceSet } from './device-set.js';
import type { VfioGroup } from './group.js';
import type { VfioDmaAccess } from './dma-access.js';
import type { DeviceFileBinding } from './device-file.js';
import { coreOf, vfioCore } from './core-state.js';
import type { VfioCoreState } from './core-state.js';
import { lifecycleChannels } from './events.js';
import type { LifecycleEvent, LifecycleStep } from './events.js';

export type RegistrationState = 'unregistered' | 'registered' | 'unregistering';

/**
 * The core part of every VFIO device. A driver's state class extends it, so the driver state and the core
 * state are one object with one life time (TypeScript's answer to embedding plus container_of).
 */
export class VfioDevice extends Device {
  /** The device this VFIO device drives (the kernel's `device->dev`): a PCI function, an mdev, ... */
  dev: Device | null = null;
  ops: VfioDeviceOps<this> | null = null;
  /** Index from the core's Ida; the device is named `vfio<index>`. -1 before init. */
  index = -1;
  /** Registration count (`device->refcount`): 1 while registered, plus one per open file. */
  readonly registration = new Refcount(0, 'vfio registration');
  /** Completed when the registration count reaches 0 (`device->comp`). */
  readonly comp = new Completion();
  regState: RegistrationState = 'unregistered';
  /** Opens of the device (first runs openDevice, last runs closeDevice). */
  openCount = 0;
  /** Device files allocated and not yet released; the sanitizer checks it at free. */
  fileCount = 0;
  devSet: VfioDeviceSet | null = null;
  group: VfioGroup | null = null;
  /** VFIO_MIGRATION_* support flags; 0 if the driver has no migration. */
  migrationFlags = 0;
  /** The container or iommufd binding the first open used; the last close releases it. */
  openBinding: DeviceFileBinding | null = null;
  /** How the device reaches user memory while open (container or iommufd access); null when closed. */
  dmaAccess: VfioDmaAccess | null = null;
  /** The VFIO core of the device's host, set at init (saves a lookup on every life-cycle step). */
  core: VfioCoreState | null = null;
  /** `/dev/vfio/devices/vfioN` while the cdev exists. */
  cdevPath: string | null = null;
  /** Whether the core allocated the storage (allocDevice) and so frees it after release. */
  coreAllocated = false;
}

export type VfioDeviceClass<D extends VfioDevice> = new () => D;

const vfioDeviceAttrs: SysfsAttrTable<VfioDevice> = Object.freeze({
  dev: { show: (d: VfioDevice) => `${VFIO_DEVICE_MAJOR}:${d.index}\n` },
});
/** dev->groups of every VFIO device: one shared list, as the kernel's static attribute group arrays. */
const vfioDeviceGroups: readonly SysfsAttrTable<VfioDevice>[] = Object.freeze([vfioDeviceAttrs]);

/** The char-device major the vfio-dev cdevs use here (the kernel allocates one dynamically). */
export const VFIO_DEVICE_MAJOR = 511;

/** The event a life-cycle step publishes. */
function stepEvent(step: LifecycleStep, device: VfioDevice, value?: number): LifecycleEvent {
  const base = { event: step, name: deviceLabel(device), index: device.index, driver: device.ops?.name ?? '' };
  return value === undefined ? base : { ...base, value };
}

/** Publishes a life-cycle step if anyone listens. */
export function publishStep(step: LifecycleStep, device: VfioDevice, value?: number): void {
  const ch = lifecycleChannels[step];
  if (ch.hasSubscribers) ch.publish(stepEvent(step, device, value));
}

/** `vfioN` once indexed. */
export function deviceLabel(device: VfioDevice): string {
  return device.index >= 0 ? `vfio${device.index}` : 'vfio?';
}

/** The device's ops; a device without ops was never initialized (a bug). */
export function opsOf<D extends VfioDevice>(device: D): VfioDeviceOps<D> {
  const ops = device.ops;
  if (ops === null) throw new Error(`${deviceLabel(device)} is not initialized`);
  return ops;
}

/** Runs on the last put of a VFIO device (vfio_device_release). */
function vfioDeviceRelease(base: Device): void {
  if (!(base instanceof VfioDevice)) throw new Error('vfio release on a non-vfio device');
  const device = base;
  const core = coreOf(device);
  if (device.regState !== 'unregistered') {
    sanitizer.report('freed-while-registered', deviceLabel(device), `${deviceLabel(device)} released while still registered`);
  }
  if (device.fileCount > 0) {
    sanitizer.report('open-file-at-free', deviceLabel(device), `${deviceLabel(device)} released with ${device.fileCount} open file(s)`);
  }
  publishStep('release', device);
  releaseDeviceSet(device);
  core.deviceIda.free(device.index);
  // Everything the core needs after release is read now: release is the driver's last use of the object,
  // and a driver that frees its own storage may do so inside it.
  const coreAllocated = device.coreAllocated;
  const freeEvent = coreAllocated && lifecycleChannels.free.hasSubscribers ? stepEvent('free', device) : null;
  device.ops?.release?.(device);
  if (coreAllocated) {
    if (freeEvent !== null) lifecycleChannels.free.publish(freeEvent);
    sanitizer.free(device);
  } else if (!sanitizer.isFreed(device)) {
    // Driver-allocated storage (initDevice): the driver frees it with freeDevice, maybe later.
    sanitizer.relabel(device, `${deviceLabel(device)} (released, awaiting freeDevice)`);
  }
}

function vfioInitDevice<D extends VfioDevice>(device: D, parent: Device, ops: VfioDeviceOps<D>): void {
  const host = hostOf(parent);
  const core = vfioCore(host);
  device.core = core;
  device.index = core.deviceIda.alloc();
  device.dev = parent;
  // The ops table is typed for the driver class, and `device` is an instance of it.
  device.ops = ops;
  if (sanitizer.enabled) sanitizer.relabel(device, `vfio${device.index}`);
  publishStep('alloc', device);
  try {
    ops.init?.(device);
  } catch (err) {
    // Unwind everything init and the core did; release is not called for a device that never initialized.
    releaseDeviceSet(device);
    core.deviceIda.free(device.index);
    throw err;
  }
  publishStep('init', device);
  deviceInitialize(device, host);
  device.release = vfioDeviceRelease;
  device.class = core.deviceClass;
  device.parent = parent;
  device.groups = vfioDeviceGroups;
}

function checkArgs(parent: Device, what: string): void {
  if (!(parent instanceof Device) || parent.host === null) {
    throw new VfioError('EINVAL', `${what}: parent must be an initialized device`);
  }
}

/**
 * vfio_alloc_device(): creates the driver's object (which is a VfioDevice), takes the lowest free index,
 * runs ops.init and returns the object with one reference. Drop it with putDevice.
 */
export function allocDevice<D extends VfioDevice>(DriverClass: VfioDeviceClass<D>, parent: Device, ops: VfioDeviceOps<D>): D {
  if (typeof DriverClass !== 'function' || !(DriverClass === VfioDevice || DriverClass.prototype instanceof VfioDevice)) {
    throw new VfioError('EINVAL', 'allocDevice: the driver class must extend VfioDevice');
  }
  checkArgs(parent, 'allocDevice');
  const device = new DriverClass();
  device.coreAllocated = true;
  if (sanitizer.enabled) sanitizer.track(device, 'vfio_device', `${ops.name} device`);
  try {
    vfioInitDevice(device, parent, ops);
  } catch (err) {
    sanitizer.free(device);
    throw err;
  }
  return device;
}

/**
 * vfio_init_device() for storage the driver allocated itself (the vfio-ccw case): the same set-up, but
 * after the last put the driver must still free the storage with freeDevice.
 */
export function initDevice<D extends VfioDevice>(device: D, parent: Device, ops: VfioDeviceOps<D>): void {
  if (!(device instanceof VfioDevice)) throw new VfioError('EINVAL', 'initDevice: object must be a VfioDevice');
  checkArgs(parent, 'initDevice');
  if (device.ops !== null) throw new VfioError('EBUSY', `initDevice: ${deviceLabel(device)} is already initialized`);
  // Storage the driver already tracks (vfio-ccw's private, allocated by the css side, re-initialized for each
  // new mdev) keeps its one record: freeDevice ends it.
  if (!sanitizer.isTracked(device)) sanitizer.track(device, 'vfio_device', `${ops.name} device`);
  vfioInitDevice(device, parent, ops);
}

/** Frees driver-allocated storage (initDevice) once its last reference is gone. */
export function freeDevice(device: VfioDevice): void {
  sanitizer.assertLive(device, 'freeDevice');
  if (device.kref.value > 0) {
    throw new Error(`freeDevice(${deviceLabel(device)}) while ${device.kref.value} reference(s) are held: put it first`);
  }
  publishStep('free', device);
  sanitizer.free(device);
}

/** vfio_get_device() (a get_device on the embedded device). */
export function getVfioDevice<D extends VfioDevice>(device: D): D {
  return getDevice(device);
}

/** vfio_put_device(): the last put releases the device. */
export function putVfioDevice(device: VfioDevice): void {
  putDevice(device);
}
