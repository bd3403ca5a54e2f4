// struct iommu_group (drivers/iommu/iommu.c): the unit of DMA isolation; `/sys/kernel/iommu_groups/N`.
import type { Host } from './host.js';
import type { Device } from './device.js';
import type { SysfsDir } from './sysfs.js';
import { VfioError } from '../uapi/errno.js';
import { numberedName } from './names.js';

export class IommuGroup {
  readonly devices = new Set<Device>();
  /** References: the allocator's, one per member device, one per holder (a VFIO group). */
  refs = 1;
  readonly devicesDir: SysfsDir;

  constructor(
    readonly host: Host,
    readonly id: number,
    readonly dir: SysfsDir,
  ) {
    this.devicesDir = host.sysfs.mkdir(dir, 'devices', null);
  }
}

/** iommu_group_alloc(): a new group with one reference held by the caller. */
export function iommuGroupAlloc(host: Host): IommuGroup {
  const id = host.iommuGroupIda.alloc();
  return new IommuGroup(host, id, host.sysfs.mkdir(host.iommuGroupsDir, numberedName('', id), null));
}

/** iommu_group_get(). */
export function iommuGroupGet(group: IommuGroup): IommuGroup {
  if (group.refs <= 0) throw new Error(`iommu group ${group.id} used after its last put`);
  group.refs++;
  return group;
}

/** iommu_group_put(): the last put removes the group and frees its id. */
export function iommuGroupPut(group: IommuGroup): void {
  if (group.refs <= 0) throw new Error(`iommu group ${group.id}: put after the last put`);
  if (--group.refs > 0) return;
  group.host.sysfs.remove(group.dir);
  group.host.iommuGroupIda.free(group.id);
}

/** iommu_group_add_device(): the device joins (and references) the group; `iommu_group` link in its sysfs dir. */
export function iommuGroupAddDevice(group: IommuGroup, dev: Device): void {
  if (dev.iommuGroup !== null) throw new VfioError('EBUSY', `${dev.name} is already in iommu group ${dev.iommuGroup.id}`);
  iommuGroupGet(group);
  group.devices.add(dev);
  dev.iommuGroup = group;
  if (dev.kobj !== null) {
    group.host.sysfs.symlink(group.devicesDir, dev.name, dev.kobj);
    group.host.sysfs.symlink(dev.kobj, 'iommu_group', group.dir);
  }
}

/** iommu_group_remove_device(): the opposite of iommuGroupAddDevice. */
export function iommuGroupRemoveDevice(dev: Device): void {
  const group = dev.iommuGroup;
  if (group === null) return;
  group.host.sysfs.removeChild(group.devicesDir, dev.name);
  group.host.sysfs.removeChild(dev.kobj, 'iommu_group');
  group.devices.delete(dev);
  dev.iommuGroup = null;
  iommuGroupPut(group);
}
