// struct vfio_group (drivers/vfio/group.c): the VFIO view of an IOMMU group and its /dev/vfio/N node.
// Physical devices join the group of their IOMMU group; emulated ones get a private one.
import type { Host } from '../base/host.js';
import type { IommuGroup } from '../base/iommu-group.js';
import {
  iommuGroupAddDevice,
  iommuGroupAlloc,
  iommuGroupGet,
  iommuGroupPut,
  iommuGroupRemoveDevice,
} from '../base/iommu-group.js';
import { numberedName } from '../base/names.js';
import { VfioError } from '../uapi/errno.js';
import type { VfioCoreState } from './core-state.js';
import { coreOf } from './core-state.js';
import type { VfioDevice } from './vfio-device.js';
import { opsOf } from './vfio-device.js';
import { deviceTryGetRegistration } from './registration-count.js';
import type { Device } from '../base/device.js';
import { vfioGroupDevAdd, vfioGroupDevDel } from './group-dev.js';

/** enum vfio_group_type. */
export type VfioGroupType = 'iommu' | 'emulated-iommu' | 'noiommu';

/** What a container or iommufd attaches to a group (set by the uAPI layer). */
export interface VfioGroupIommu {
  /** Called when a device of the group is first opened (vfio_device_group_use_iommu). */
  use(device: VfioDevice): void;
  /** Opposite of use. */
  unuse(device: VfioDevice): void;
  /** Called when the group's last device goes away: the container lets go of the group (vfio_device_remove_group). */
  release?(): void;
}

export class VfioGroup {
  /** Registered devices reachable through GET_DEVICE_FD (group->device_list). */
  readonly devices = new Set<VfioDevice>();
  /** Devices that set this group (group->drivers); the group goes away at 0. */
  drivers = 0;
  /** The container or iommufd the user attached; null until SET_CONTAINER. */
  iommu: VfioGroupIommu | null = null;
  /** The group file is exclusive: one open at a time. */
  opened = false;
  /** Set when the last device left; an open group file sees ENODEV from then on. */
  dead = false;
  /** Devices of the group bound through their cdev (cdev_device_open_cnt): the group file cannot open meanwhile. */
  cdevDeviceOpenCnt = 0;
  /** The group's device in the "vfio" class (/sys/class/vfio/<N>) while the group exists. */
  dev: Device | null = null;

  constructor(
    readonly host: Host,
    readonly iommuGroup: IommuGroup,
    readonly type: VfioGroupType,
    readonly devPath: string,
  ) {}

  get id(): number {
    return this.iommuGroup.id;
  }
}

function groupCreate(core: VfioCoreState, iommuGroup: IommuGroup, type: VfioGroupType): VfioGroup {
  const path = numberedName(type === 'noiommu' ? '/dev/vfio/noiommu-' : '/dev/vfio/', iommuGroup.id);
  const group = new VfioGroup(core.host, iommuGroup, type, path);
  group.dev = vfioGroupDevAdd(core.host, core.groupClass, numberedName(type === 'noiommu' ? 'noiommu-' : '', iommuGroup.id), iommuGroup.id);
  try {
    core.host.devfs.add(group.devPath, group);
  } catch (err) {
    vfioGroupDevDel(group.dev);
    throw err;
  }
  iommuGroupGet(iommuGroup);
  // Only a real IOMMU group is ever looked up (by its next device); an emulated or no-IOMMU group's IOMMU group
  // is private to its one device, so vfio_group_find_from_iommu could never find it.
  if (type === 'iommu') core.groups.set(iommuGroup, group);
  return group;
}

/** vfio_device_set_group(): finds or creates the device's group. Balanced by vfioDeviceRemoveGroup. */
export function vfioDeviceSetGroup(device: VfioDevice, type: VfioGroupType): void {
  const parent = device.dev;
  if (parent === null) throw new Error('device has no parent');
  const core = coreOf(device);
  let group: VfioGroup;
  if (type === 'iommu') {
    const iommuGroup = parent.iommuGroup;
    if (iommuGroup === null) throw new VfioError('EINVAL', `${parent.name} has no IOMMU group`);
    const existing = core.groups.get(iommuGroup);
    if (existing !== undefined && existing.type !== type) throw new VfioError('EINVAL', 'IOMMU group type mismatch');
    group = existing ?? groupCreate(core, iommuGroup, type);
  } else {
    // A fake IOMMU group of its own, like vfio_noiommu_group_alloc.
    const iommuGroup = iommuGroupAlloc(core.host);
    try {
      iommuGroupAddDevice(iommuGroup, parent);
      group = groupCreate(core, iommuGroup, type);
    } finally {
      // Balances iommuGroupAlloc: the member device and the VFIO group hold their own references.
      iommuGroupPut(iommuGroup);
    }
  }
  group.drivers++;
  device.group = group;
}

/** vfio_device_remove_group(): the opposite of vfioDeviceSetGroup. */
export function vfioDeviceRemoveGroup(device: VfioDevice): void {
  const group = device.group;
  if (group === null) return;
  device.group = null;
  if (group.type !== 'iommu' && device.dev !== null) iommuGroupRemoveDevice(device.dev);
  if (--group.drivers > 0) return;
  group.dead = true;
  // Balances vfioGroupDevAdd in groupCreate (cdev_device_del comes first in the kernel too).
  if (group.dev !== null) vfioGroupDevDel(group.dev);
  group.dev = null;
  // Revokes the user's container: no device is open any more (they all closed before unregister finished).
  const iommu = group.iommu;
  group.iommu = null;
  iommu?.release?.();
  group.host.devfs.remove(group.devPath, group);
  if (group.type === 'iommu') coreOf(device).groups.delete(group.iommuGroup);
  // Balances iommuGroupGet in groupCreate.
  iommuGroupPut(group.iommuGroup);
}

/** vfio_device_group_register(): the device becomes reachable through its group. */
export function vfioDeviceGroupRegister(device: VfioDevice): void {
  device.group?.devices.add(device);
}

/** vfio_device_group_unregister(): no new GET_DEVICE_FD finds the device. */
export function vfioDeviceGroupUnregister(device: VfioDevice): void {
  device.group?.devices.delete(device);
}

/**
 * vfio_device_get_from_name(): the first device of the group that `name` matches (ops.match, else the
 * parent device's name), with a registration reference taken. ENODEV if none.
 */
export function vfioDeviceGetFromName(group: VfioGroup, name: string): VfioDevice {
  for (const device of group.devices) {
    const ops = opsOf(device);
    let hit: number;
    if (ops.match !== undefined) {
      hit = ops.match(device, name);
      if (hit < 0) throw new VfioError('EINVAL', `match failed for '${name}'`);
    } else {
      hit = device.dev?.name === name ? 1 : 0;
    }
    if (hit > 0 && deviceTryGetRegistration(device)) return device;
  }
  throw new VfioError('ENODEV', `no device '${name}' in group ${group.id}`);
}
