// struct device (drivers/base/core.c): a named, reference-counted node of the device tree. Subsystems
// embed it by extending the class; the last putDevice runs the owner's release.
import { Refcount } from './refcount.js';
import type { Host } from './host.js';
import type { SysfsAttrTable, SysfsDir, SysfsLink } from './sysfs.js';
import type { Bus } from './bus.js';
import type { Driver } from './driver.js';
import type { DeviceClass } from './class.js';
import type { IommuGroup } from './iommu-group.js';
import { busAddDevice, busHasDevice, busRemoveDevice } from './bus.js';
import { deviceAttach, deviceReleaseDriver } from './dd.js';
import { sanitizer } from '../sanitizer/sanitizer.js';
import { VfioError } from '../uapi/errno.js';

export class Device {
  name = '';
  host: Host | null = null;
  parent: Device | null = null;
  bus: Bus | null = null;
  driver: Driver | null = null;
  class: DeviceClass | null = null;
  /** Extra attribute groups shown in the device's sysfs directory (dev->groups). */
  groups: readonly SysfsAttrTable<Device>[] | null = null;
  /** Runs on the last put (dev->release); it frees the object. */
  release: ((dev: Device) => void) | null = null;
  readonly kref = new Refcount(0, 'device');
  /** The sysfs directory while added. */
  kobj: SysfsDir<Device> | null = null;
  classLink: SysfsLink | null = null;
  /** `driver_override`: when set, only the driver of that name may bind. */
  driverOverride: string | null = null;
  iommuGroup: IommuGroup | null = null;
  /** dev_get_drvdata(): whatever the bound driver keeps here. */
  driverData: object | null = null;
}

/** device_initialize(): one reference, ready for deviceAdd. */
export function deviceInitialize(dev: Device, host: Host): void {
  dev.host = host;
  dev.kref.set(1);
}

/** The host a device belongs to; using an uninitialized device is a bug. */
export function hostOf(dev: Device): Host {
  if (dev.host === null) throw new Error(`device '${dev.name}' is not initialized`);
  return dev.host;
}

/** get_device(). */
export function getDevice<D extends Device>(dev: D): D {
  sanitizer.assertLive(dev, 'getDevice');
  dev.kref.inc();
  return dev;
}

/** put_device(): the last reference runs `release`, which frees the device. */
export function putDevice(dev: Device): void {
  sanitizer.assertLive(dev, 'putDevice');
  if (!dev.kref.decAndTest()) return;
  const release = dev.release;
  if (release === null) {
    hostOf(dev).logger.warn({ device: dev.name }, 'device has no release() function; it is broken and must be fixed');
    return;
  }
  release(dev);
}

function sysfsParentDir(dev: Device, host: Host): SysfsDir {
  const parent = dev.parent;
  const cls = dev.class;
  if (parent !== null) {
    if (parent.kobj === null) throw new VfioError('ENODEV', `parent '${parent.name}' of '${dev.name}' is not added`);
    // A class device under a non-class parent lives in a glue directory named after the class.
    if (cls !== null && parent.class === null) {
      const glue = parent.kobj.child(cls.name);
      if (glue?.kind === 'dir') return glue;
      return host.sysfs.mkdir(parent.kobj, cls.name, null);
    }
    return parent.kobj;
  }
  if (cls !== null) {
    const d = host.virtualDir.child(cls.name);
    return d?.kind === 'dir' ? d : host.sysfs.mkdir(host.virtualDir, cls.name, null);
  }
  return host.devicesDir;
}

/**
 * Removes a glue directory (a class-named dir under a parent, or /sys/devices/virtual/<class>) once empty.
 * A directory owned by a device, and /sys/devices itself, are never glue: they stay.
 */
function removeGlueDir(host: Host, dir: SysfsDir): void {
  if (dir.owner === null && dir !== host.devicesDir) host.sysfs.removeIfEmpty(dir);
}

/** device_add(): sysfs directory, class link, bus membership (which may bind a driver). Unwinds on error. */
export function deviceAdd(dev: Device): void {
  const host = hostOf(dev);
  if (dev.name === '') throw new VfioError('EINVAL', 'device has no name');
  if (dev.kobj !== null) throw new VfioError('EEXIST', `device '${dev.name}' is already added`);
  const parentDir = sysfsParentDir(dev, host);
  // How far set-up got: the catch unwinds exactly those steps, in reverse (no closures on this hot path).
  let done = 0;
  try {
    const kobj = host.sysfs.mkdir<Device>(parentDir, dev.name, dev);
    dev.kobj = kobj;
    done = 1;
    if (dev.groups !== null) for (const g of dev.groups) host.sysfs.addAttrs(kobj, g);
    if (dev.parent !== null) getDevice(dev.parent);
    done = 2;
    if (dev.class !== null) dev.classLink = host.sysfs.symlink(dev.class.dir, dev.name, kobj);
    done = 3;
    // bus_add_device(), then bus_probe_device(): a matching driver may bind.
    if (busAddDevice(dev)) deviceAttach(dev);
  } catch (err) {
    if (done >= 3 && dev.classLink !== null) {
      host.sysfs.remove(dev.classLink);
      dev.classLink = null;
    }
    if (done >= 2 && dev.parent !== null) putDevice(dev.parent);
    if (done >= 1 && dev.kobj !== null) {
      host.sysfs.remove(dev.kobj);
      removeGlueDir(host, parentDir);
      dev.kobj = null;
    }
    throw err;
  }
}

/** device_del(): the opposite of deviceAdd, in reverse order. */
export function deviceDel(dev: Device): void {
  const host = hostOf(dev);
  const kobj = dev.kobj;
  if (kobj === null) return;
  if (busHasDevice(dev)) {
    // bus_remove_device(): unbind the driver, then leave the bus.
    deviceReleaseDriver(dev);
    busRemoveDevice(dev);
  }
  if (dev.classLink !== null) {
    host.sysfs.remove(dev.classLink);
    dev.classLink = null;
  }
  const parentDir = kobj.parent;
  host.sysfs.remove(kobj);
  if (parentDir !== null) removeGlueDir(host, parentDir);
  dev.kobj = null;
  // Balances the parent reference taken in deviceAdd.
  if (dev.parent !== null) putDevice(dev.parent);
}

/** device_register(). */
export function deviceRegister(dev: Device, host: Host): void {
  deviceInitialize(dev, host);
  try {
    deviceAdd(dev);
  } catch (err) {
    putDevice(dev);
    throw err;
  }
}

/** device_unregister(): del, then drop the initial reference. */
export function deviceUnregister(dev: Device): void {
  deviceDel(dev);
  putDevice(dev);
}

/** A device's sysfs path, e.g. `/sys/devices/pci0000:00/0000:00:02.0`; empty if not added. */
export function devicePath(dev: Device): string {
  return dev.kobj === null ? '' : `/sys${dev.kobj.path}`;
}
