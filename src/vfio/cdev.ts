// The device cdev (drivers/vfio/device_cdev.c): /dev/vfio/devices/vfioN exists exactly while the device is
// registered; opening it gives a device file that must bind to an iommufd before anything else works.
import { numberedName } from '../base/names.js';
import type { Host } from '../base/host.js';
import { hostOf } from '../base/device.js';
import { VfioError } from '../uapi/errno.js';
import { VfioDevice } from './vfio-device.js';
import { deviceTryGetRegistration } from './registration-count.js';
import { vfioAllocateDeviceFile } from './device-file.js';
import type { VfioDeviceFile } from './device-file.js';

/** The cdev node of a device: `/dev/vfio/devices/vfioN` (its name is always `vfio<index>`, set at register). */
export function cdevPath(device: VfioDevice): string {
  // The cached string: a path built afresh would be hashed again at every devfs lookup.
  return numberedName('/dev/vfio/devices/vfio', device.index);
}

/** cdev_device_add(), the cdev half. */
export function cdevAdd(device: VfioDevice): void {
  device.cdevPath = cdevPath(device);
  hostOf(device).devfs.add(device.cdevPath, device);
}

/** cdev_device_del(), the cdev half. */
export function cdevDel(device: VfioDevice): void {
  if (device.cdevPath === null) return;
  hostOf(device).devfs.remove(device.cdevPath, device);
  device.cdevPath = null;
}

/**
 * vfio_device_fops_cdev_open(): a device file holding a registration reference, not yet usable (access is
 * granted by VFIO_DEVICE_BIND_IOMMUFD). ENOENT if no such node, ENODEV if the device is going away.
 */
export function cdevOpen(host: Host, path: string): VfioDeviceFile {
  const device = host.devfs.get(path, VfioDevice);
  if (!deviceTryGetRegistration(device)) throw new VfioError('ENODEV', `${path} is going away`);
  // The registration reference moves into the file; its release puts it.
  return vfioAllocateDeviceFile(device, false);
}
