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
  let set = sets.get(setId);
  if (set === undefined) {
    set = new VfioDeviceSet(setId);
    sets.set(setId, set);
  }
  set.deviceCount++;
  device.devSet = set;
  set.devices.push(device);
}

/** vfio_release_device_set(): leaves the set; the last member frees it. */
export function releaseDeviceSet(device: VfioDevice): void {
  const set = device.devSet;
  if (set === null) return;
  const i = set.devices.indexOf(device);
  if (i >= 0) set.devices.splice(i, 1);
  device.devSet = null;
  if (--set.deviceCount === 0) coreOf(device).deviceSets.delete(set.setId);
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
