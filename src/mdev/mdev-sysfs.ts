// The parent and type half of drivers/vfio/mdev/mdev_sysfs.c: `<parent>/mdev_supported_types/<driver>-<type>/`
// with create, device_api, name, available_instances, description (when the driver has one) and devices/.
import type { SysfsAttrTable } from '../base/sysfs.js';
import { VfioError } from '../uapi/errno.js';
import { mdevCreate } from './mdev-device.js';
import type { MdevParent, MdevType } from './mdev-objects.js';

const mdevTypeCoreAttrs: SysfsAttrTable<MdevType> = Object.freeze({
  create: {
    show: () => {
      throw new VfioError('EACCES', 'create is write-only');
    },
    store: (type: MdevType, value: string) => {
      mdevCreate(type, value);
    },
  },
  device_api: { show: (type: MdevType) => `${type.deviceApi}\n` },
  name: { show: (type: MdevType) => `${type.prettyName}\n` },
  available_instances: { show: (type: MdevType) => `${type.availableInstances()}\n` },
});

/** Only present when the driver has showDescription (mdev_types_core_is_visible). */
const mdevTypeDescriptionAttrs: SysfsAttrTable<MdevType> = Object.freeze({
  description: { show: (type: MdevType) => type.description() ?? '' },
});

/** mdev_type_add(): the type's directory, its attributes and `devices/`. */
function mdevTypeAdd(parent: MdevParent, type: MdevType): void {
  const sysfs = parent.host.sysfs;
  if (parent.kset === null) throw new Error('mdev_supported_types is missing');
  const kobj = sysfs.mkdir<MdevType>(parent.kset, type.dirName, type, mdevTypeCoreAttrs);
  if (parent.driver.showDescription !== undefined) sysfs.addAttrs(kobj, mdevTypeDescriptionAttrs);
  type.kobj = kobj;
  type.devicesDir = sysfs.mkdir(kobj, 'devices', null);
}

/** Opposite of mdevTypeAdd. */
function mdevTypeRemove(parent: MdevParent, type: MdevType): void {
  if (type.kobj !== null) parent.host.sysfs.remove(type.kobj);
  type.kobj = null;
  type.devicesDir = null;
}

/** parent_create_sysfs_files(): `mdev_supported_types` and one directory per type; unwinds on failure. */
export function parentCreateSysfsFiles(parent: MdevParent): void {
  const sysfs = parent.host.sysfs;
  const dir = parent.dev.kobj;
  if (dir === null) throw new VfioError('ENODEV', `parent '${parent.dev.name}' is not added`);
  parent.kset = sysfs.mkdir(dir, 'mdev_supported_types', null);
  const added: MdevType[] = [];
  try {
    for (const type of parent.types) {
      mdevTypeAdd(parent, type);
      added.push(type);
    }
  } catch (err) {
    for (const type of added.reverse()) mdevTypeRemove(parent, type);
    sysfs.remove(parent.kset);
    parent.kset = null;
    throw err;
  }
}

/** parent_remove_sysfs_files(). */
export function parentRemoveSysfsFiles(parent: MdevParent): void {
  for (const type of parent.types) mdevTypeRemove(parent, type);
  if (parent.kset !== null) parent.host.sysfs.remove(parent.kset);
  parent.kset = null;
}
