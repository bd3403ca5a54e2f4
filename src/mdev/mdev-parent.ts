// Registering a device as a parent of mediated devices (drivers/vfio/mdev/mdev_core.c
// mdev_register_parent/mdev_unregister_parent).
import { getDevice, putDevice } from '../base/device.js';
import type { Device } from '../base/device.js';
import type { Host } from '../base/host.js';
import { classRegister } from '../base/class.js';
import { VfioError } from '../uapi/errno.js';
import { mdevDeviceRemoveCommon } from './mdev-device.js';
import { MdevParent, MdevType, mdevHostState } from './mdev-objects.js';
import type { MdevDriver, MdevTypeSpec } from './mdev-objects.js';
import { parentCreateSysfsFiles, parentRemoveSysfsFiles } from './mdev-sysfs.js';

/** dev_driver_string(): the bound driver's name, else the bus's, else the class's. */
function devDriverString(dev: Device): string {
  return dev.driver?.name ?? dev.bus?.name ?? dev.class?.name ?? '';
}

/**
 * mdev_register_parent(): makes `dev` a parent of mdevs of `types`, created through `driver` (which must be
 * registered on the host's mdev bus with mdevRegisterDriver before the first create). Holds a reference
 * on `dev` until mdevUnregisterParent.
 */
export function mdevRegisterParent(host: Host, dev: Device, driver: MdevDriver, types: readonly MdevTypeSpec[]): MdevParent {
  if (dev.host !== host || dev.kobj === null) throw new VfioError('ENODEV', `'${dev.name}' is not a device added on this host`);
  const parent = new MdevParent(host, dev, driver, devDriverString(dev));
  const names = new Set<string>();
  for (const spec of types) {
    if (names.has(spec.sysfsName)) throw new VfioError('EEXIST', `duplicate mdev type '${spec.sysfsName}'`);
    names.add(spec.sysfsName);
    parent.types.push(new MdevType(parent, spec));
  }
  parentCreateSysfsFiles(parent);
  // Pairs with the put in mdevUnregisterParent (the kernel's type kobjects hold it).
  getDevice(dev);
  const compat = classRegister(host, 'mdev_bus');
  try {
    parent.compatLink = host.sysfs.symlink(compat.dir, dev.name, dev.kobj);
  } catch (err) {
    host.logger.warn({ device: dev.name, err: String(err) }, 'Failed to create compatibility class link');
  }
  mdevHostState(host).parents.add(parent);
  host.logger.info({ device: dev.name }, 'MDEV: Registered');
  return parent;
}

/**
 * mdev_unregister_parent(): no new creates or removes (ENODEV), waits for removals under way, removes every
 * remaining child (each waits for its VFIO device's users), then the sysfs files. Resolves when all is gone.
 */
export async function mdevUnregisterParent(parent: MdevParent): Promise<void> {
  if (parent.unregistering) throw new VfioError('EINVAL', `parent ${parent.dev.name} is already unregistering`);
  const host = parent.host;
  host.logger.info({ device: parent.dev.name }, 'MDEV: Unregistering');
  parent.unregistering = true;
  if (parent.compatLink !== null) host.sysfs.remove(parent.compatLink);
  parent.compatLink = null;
  // The write side of unreg_sem: removals that got in first finish first.
  await Promise.all([...parent.removals]);
  const children = [...mdevHostState(host).mdevs.values()].filter((m) => m.type.parent === parent && m.kobj !== null);
  await Promise.all(
    children.map((mdev) => {
      mdev.active = false;
      return mdevDeviceRemoveCommon(mdev);
    }),
  );
  parentRemoveSysfsFiles(parent);
  mdevHostState(host).parents.delete(parent);
  // Balances getDevice in mdevRegisterParent.
  putDevice(parent.dev);
}

/** The parents registered on `host`, in registration order. */
export function mdevParents(host: Host): MdevParent[] {
  return [...mdevHostState(host).parents];
}

/** A parent's type by its sysfsName (e.g. 'small'), or by its directory name ('mbochs-small'). */
export function mdevParentType(parent: MdevParent, name: string): MdevType | undefined {
  return parent.types.find((t) => t.sysfsName === name || t.dirName === name);
}
