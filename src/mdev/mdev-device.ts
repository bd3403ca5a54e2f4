// Creating and removing mediated devices (drivers/vfio/mdev/mdev_core.c mdev_device_create/remove, the
// device half of mdev_sysfs.c): a UUID-named device on the mdev bus, bound to its parent's driver.
import { deviceAdd, deviceDel, deviceInitialize, putDevice } from '../base/device.js';
import type { Device } from '../base/device.js';
import { deviceBind } from '../base/dd.js';
import type { Host } from '../base/host.js';
import type { SysfsAttrTable } from '../base/sysfs.js';
import { sanitizer } from '../sanitizer/sanitizer.js';
import { VfioError } from '../uapi/errno.js';
import type { ErrnoName } from '../uapi/errno.js';
import { mdevBus, mdevDriverOf, mdevPendingRemoval } from './mdev-bus.js';
import { MdevDevice, mdevHostState } from './mdev-objects.js';
import type { MdevType } from './mdev-objects.js';
import { kstrtoul } from '../base/kstrtox.js';
import { parseMdevUuid } from './uuid.js';

/** The errno of a create when a maxInstances parent has no instance left: EUSERS, as mdev_device_create. */
export const MDEV_NO_INSTANCES_ERRNO: ErrnoName = 'EUSERS';

/** Removals under way, so that a remove started through sysfs can be awaited. */
const removals = new WeakMap<MdevDevice, Promise<void>>();

const mdevDeviceAttrs: SysfsAttrTable<Device> = Object.freeze({
  remove: {
    show: () => {
      throw new VfioError('EACCES', 'remove is write-only');
    },
    store: (dev: Device, value: string) => {
      if (!(dev instanceof MdevDevice)) throw new Error('remove attribute on a non-mdev device');
      // remove_store(): any non-zero number removes, 0 does nothing, anything else is EINVAL.
      if (kstrtoul(value) === 0n) return;
      // Errors before the removal starts (ENODEV, EAGAIN) reach the writer; the rest is awaited elsewhere.
      mdevDeviceRemoveStart(dev).catch((err: unknown) => {
        dev.type.parent.host.logger.error({ mdev: dev.uuid, err: String(err) }, 'mdev remove failed');
      });
    },
  },
});

/** Last put of an mdev (mdev_device_release): off the list, its instance back to the parent. */
function mdevDeviceRelease(dev: Device): void {
  if (!(dev instanceof MdevDevice)) throw new Error('mdev release on a non-mdev device');
  const parent = dev.type.parent;
  const list = mdevHostState(parent.host).mdevs;
  if (list.get(dev.uuid) === dev) list.delete(dev.uuid);
  // Balances the instance taken in mdevCreate.
  if (parent.driver.getAvailable === undefined) parent.availableInstances++;
  sanitizer.free(dev);
}

/** mdev_create_sysfs_files(): `<type>/devices/<uuid>` and `<mdev>/mdev_type`. */
function mdevCreateSysfsFiles(mdev: MdevDevice): void {
  const { type } = mdev;
  const host = type.parent.host;
  if (mdev.kobj === null || type.kobj === null || type.devicesDir === null) throw new VfioError('ENODEV', 'mdev type is gone');
  mdev.devicesLink = host.sysfs.symlink(type.devicesDir, mdev.name, mdev.kobj);
  try {
    mdev.typeLink = host.sysfs.symlink(mdev.kobj, 'mdev_type', type.kobj);
  } catch (err) {
    host.sysfs.remove(mdev.devicesLink);
    mdev.devicesLink = null;
    throw err;
  }
}

/** Opposite of mdevCreateSysfsFiles. */
function mdevRemoveSysfsFiles(mdev: MdevDevice): void {
  const sysfs = mdev.type.parent.host.sysfs;
  if (mdev.typeLink !== null) sysfs.remove(mdev.typeLink);
  if (mdev.devicesLink !== null) sysfs.remove(mdev.devicesLink);
  mdev.typeLink = null;
  mdev.devicesLink = null;
}

/**
 * mdev_device_create(): a new mdev of `type` named by `uuid`, bound to the parent's driver (whose probe
 * creates and registers the VFIO device). EEXIST for a UUID in use (on any parent), EINVAL for a malformed
 * one, MDEV_NO_INSTANCES_ERRNO when a core-counted parent is out of instances, ENODEV while the parent
 * unregisters; a failing probe's errno otherwise (e.g. ENOSPC from a driver with its own budget, EINVAL
 * for `params` its schema refuses). `params` stays on the mdev (MdevDevice.params) for the driver to read.
 */
export function mdevCreate(type: MdevType, uuid: string, params?: unknown): MdevDevice {
  const parent = type.parent;
  const host = parent.host;
  const name = parseMdevUuid(uuid);
  const list = mdevHostState(host).mdevs;
  if (list.has(name)) throw new VfioError('EEXIST', `mdev ${name} exists`);
  const drv = parent.driver;
  if (drv.getAvailable === undefined) {
    if (parent.availableInstances <= 0) throw new VfioError(MDEV_NO_INSTANCES_ERRNO, `${type.dirName}: no instances available`);
    parent.availableInstances--;
  }
  const mdev = new MdevDevice(type, name, params);
  sanitizer.track(mdev, 'mdev_device', `mdev ${name}`);
  deviceInitialize(mdev, host);
  mdev.name = name;
  mdev.parent = parent.dev;
  mdev.bus = mdevBus(host);
  mdev.release = mdevDeviceRelease;
  mdev.groups = [mdevDeviceAttrs];
  list.set(name, mdev);
  try {
    if (parent.unregistering) throw new VfioError('ENODEV', `parent ${parent.dev.name} is unregistering`);
    deviceAdd(mdev);
    try {
      const driver = mdevDriverOf(host, drv);
      if (driver === undefined) throw new VfioError('ENODEV', `mdev driver '${drv.name}' is not registered`);
      // device_driver_attach() skips the bus match (which matches nothing); deviceBind does not, so a
      // driver_override held only for the bind stands in for it.
      mdev.driverOverride = driver.name;
      try {
        deviceBind(driver, mdev);
      } finally {
        mdev.driverOverride = null;
      }
      mdevCreateSysfsFiles(mdev);
    } catch (err) {
      deviceDel(mdev);
      throw err;
    }
  } catch (err) {
    // Balances deviceInitialize: the release gives the instance back and drops the UUID.
    putDevice(mdev);
    throw err;
  }
  mdev.active = true;
  return mdev;
}

/** mdev_device_remove_common(): unreachable at once, then waits for the driver's remove, then the last put. */
export function mdevDeviceRemoveCommon(mdev: MdevDevice): Promise<void> {
  mdevRemoveSysfsFiles(mdev);
  // Unbinding runs the driver's remove, which starts unregistering the VFIO device.
  deviceDel(mdev);
  const done = mdevPendingRemoval(mdev).then(() => {
    // Balances deviceInitialize in mdevCreate.
    putDevice(mdev);
  });
  removals.set(mdev, done);
  return done;
}

/** The synchronous half of mdev_device_remove(): ENODEV if unknown or the parent unregisters, EAGAIN if already removing. */
function mdevDeviceRemoveStart(mdev: MdevDevice): Promise<void> {
  sanitizer.assertLive(mdev, 'mdevRemove');
  const parent = mdev.type.parent;
  if (mdevHostState(parent.host).mdevs.get(mdev.uuid) !== mdev) throw new VfioError('ENODEV', `mdev ${mdev.uuid} is gone`);
  if (!mdev.active) throw new VfioError('EAGAIN', `mdev ${mdev.uuid} is being removed`);
  if (parent.unregistering) throw new VfioError('ENODEV', `parent ${parent.dev.name} is unregistering`);
  mdev.active = false;
  const done = mdevDeviceRemoveCommon(mdev);
  // Parent unregistration waits for removals under way (the read side of unreg_sem).
  parent.removals.add(done);
  const forget = (): void => {
    parent.removals.delete(done);
  };
  done.then(forget, forget);
  return done;
}

/**
 * mdev_device_remove(): the mdev disappears from sysfs at once; the promise resolves once its VFIO device
 * is unregistered (every user let go) and released and the mdev itself is put.
 */
export async function mdevRemove(mdev: MdevDevice): Promise<void> {
  await mdevDeviceRemoveStart(mdev);
}

/** Resolves when a removal of `mdev` started (through sysfs or the API) has finished; at once if none. */
export function mdevWaitRemoved(mdev: MdevDevice): Promise<void> {
  return removals.get(mdev) ?? Promise.resolve();
}

/** The mdev named `uuid` on `host`, if any (a mdev_list lookup). */
export function mdevFind(host: Host, uuid: string): MdevDevice | undefined {
  return mdevHostState(host).mdevs.get(uuid.toLowerCase());
}
