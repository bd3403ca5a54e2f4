// struct vfio_device_set (vfio_main.c vfio_assign_device_set): devices that must be reset together share
// one set, one lock and one summed open count. A set holds its devices by type only: the life cycle
// (vfio-device.ts) leaves the set, never the other way round.
import { Mutex } from '../base/mutex.js';
import { VfioError } from '../uapi/errno.js';
import type { VfioDevice } from './vfio-device.js';
import { coreOf } from './core-state.js';

export class VfioDeviceSet {
  readonly lock: Mutex;
  readonly devices: VfioDevice[] = [];
  /** Devices assigned to the set (it is freed when this reaches 0). */
  deviceCount = 0;

  constructor(readonly setId: unknown) {
    this.lock = new Mutex('dev_set->lock');
  }
}

/**
 * vfio_assign_device_set(): joins the set named by `setId` (any non-null key: a slot, a bus, a parent
 * object), creating it on first use. A device not assigned by its driver gets a singleton set at register.
 */
export function assignDeviceSet(device: VfioDevice, setId: unknown): void {
  if (setId === null || setId === undefined) throw new VfioError('EINVAL', 'assignDeviceSet: set id must not be null');
  if (device.devSet !== null) throw new VfioError('EBUSY', 'assignDeviceSet: device already has a set');
  const sets = coreOf(device).deviceSets;
  let set = sets.get(setId) ?? singletonSetOf(setId);
  if (set === undefined) {
    set = new VfioDeviceSet(setId);
    sets.set(setId, set);
  }
  set.deviceCount++;
  device.devSet = set;
  set.devices.push(device);
}

/**
 * The set a device gets at register when its driver chose none (vfio_assign_device_set(device, device)). It is
 * keyed by the device itself, which no other device names, so it stays out of the core's index: nothing could
 * look it up, and the index would only churn a hash table per register.
 */
export function assignSingletonDeviceSet(device: VfioDevice): void {
  if (device.devSet !== null) throw new VfioError('EBUSY', 'assignDeviceSet: device already has a set');
  const set = new VfioDeviceSet(device);
  set.deviceCount = 1;
  set.devices.push(device);
  device.devSet = set;
}

/** The unindexed singleton set `setId` names, if `setId` is a device that has one: joining it joins that set. */
function singletonSetOf(setId: unknown): VfioDeviceSet | undefined {
  if (typeof setId !== 'object' || setId === null || !('devSet' in setId)) return undefined;
  const set = setId.devSet;
  return set instanceof VfioDeviceSet && set.setId === setId ? set : undefined;
}

/** vfio_release_device_set(): leaves the set; the last member frees it. */
export function releaseDeviceSet(device: VfioDevice): void {
  const set = device.devSet;
  if (set === null) return;
  const i = set.devices.indexOf(device);
  if (i >= 0) set.devices.splice(i, 1);
  device.devSet = null;
  if (--set.deviceCount > 0) return;
  const sets = coreOf(device).deviceSets;
  // A singleton set was never indexed.
  if (sets.get(set.setId) === set) sets.delete(set.setId);
}

/** vfio_device_set_open_count(): opens summed over the members; call with the set's lock held. */
export function deviceSetOpenCount(set: VfioDeviceSet): number {
  set.lock.assertHeld();
  let n = 0;
  for (const d of set.devices) n += d.openCount;
  return n;
}

/**
 * Whether a set-wide reset may run now on behalf of `device` (vfio-pci's dev_set reset rule): no *other*
 * member is open. Call with the set's lock held.
 */
export function deviceSetCanReset(device: VfioDevice): boolean {
  const set = device.devSet;
  if (set === null) return true;
  set.lock.assertHeld();
  for (const d of set.devices) if (d !== device && d.openCount > 0) return false;
  return true;
}
