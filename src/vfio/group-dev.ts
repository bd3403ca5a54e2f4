// The group's `struct device` (drivers/vfio/group.c vfio_create_group: dev_set_name "%d" or "noiommu-%d",
// class "vfio", cdev_device_add): /sys/devices/virtual/vfio/<N>, its /sys/class/vfio/<N> link and the `dev`
// attribute of the /dev/vfio/<N> node. The node itself is the group's devfs entry (group.ts).
import { Device, deviceRegister, deviceUnregister } from '../base/device.js';
import type { Host } from '../base/host.js';
import type { DeviceClass } from '../base/class.js';
import type { SysfsAttrTable } from '../base/sysfs.js';

/** The char-device major of /dev/vfio/<N> here (the kernel allocates the "vfio" chrdev region dynamically). */
export const VFIO_GROUP_MAJOR = 510;

/** A group's device: its minor is the IOMMU group id (the kernel's group_ida minor, which follows it in practice). */
class VfioGroupDev extends Device {
  constructor(readonly minor: number) {
    super();
  }
}

const groupDevAttrs: SysfsAttrTable<Device> = Object.freeze({
  dev: { show: (d: Device) => `${VFIO_GROUP_MAJOR}:${d instanceof VfioGroupDev ? d.minor : 0}\n` },
});
const groupDevGroups: readonly SysfsAttrTable<Device>[] = Object.freeze([groupDevAttrs]);

/** Adds the group's device to the "vfio" class; balanced by vfioGroupDevDel. */
export function vfioGroupDevAdd(host: Host, cls: DeviceClass, name: string, minor: number): Device {
  const dev = new VfioGroupDev(minor);
  dev.name = name;
  dev.class = cls;
  dev.groups = groupDevGroups;
  // The group's storage is the VfioGroup, which outlives nothing the device needs: release has nothing to free.
  dev.release = () => {};
  deviceRegister(dev, host);
  return dev;
}

/** cdev_device_del + put_device: the opposite of vfioGroupDevAdd. */
export function vfioGroupDevDel(dev: Device): void {
  deviceUnregister(dev);
}
