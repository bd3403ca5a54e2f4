// struct vfio_device_file and the device fd's open/close (vfio_main.c vfio_df_open/vfio_df_close,
// vfio_device_fops_release): a file holds a registration reference; the first open of the device runs
// ops.openDevice under the device set lock, the last close runs ops.closeDevice. The fd object that holds
// a VfioDeviceFile (the struct file with vfio_device_fops) is VfioDeviceFops in device-fops.ts.
import { hostOf } from '../base/device.js';
import { sanitizer } from '../sanitizer/sanitizer.js';
import { VfioError } from '../uapi/errno.js';
import type { VfioDevice } from './vfio-device.js';
import { deviceLabel, opsOf, publishStep } from './vfio-device.js';
import { devicePutRegistration, deviceTryGetRegistration } from './registration-count.js';

/** What the open path attaches for DMA: the group's container, or an iommufd bind on the cdev path. */
export interface DeviceFileBinding {
  /** Called on the device's first open, before openDevice. */
  use(device: VfioDevice): void;
  /** Opposite of use: after closeDevice on the last close. */
  unuse(device: VfioDevice): void;
}

/** struct vfio_device_file: the binding of one open of a device to its device (the device fd's private data). */
export class VfioDeviceFile {
  /** Set once the device is open through this file (group open, or cdev bind). */
  accessGranted = false;
  /** Container or iommufd binding used on the first open. */
  binding: DeviceFileBinding | null = null;
  released = false;
  /** cdev path: the iommufd device id after BIND (the uAPI layer sets it). */
  devid = 0;

  constructor(
    readonly device: VfioDevice,
    /** Opened through a group (many opens allowed) rather than the cdev (one). */
    readonly viaGroup: boolean,
  ) {}
}

/** vfio_allocate_device_file(): the caller already holds a registration reference, which the file now owns. */
export function vfioAllocateDeviceFile(device: VfioDevice, viaGroup: boolean): VfioDeviceFile {
  device.fileCount++;
  return new VfioDeviceFile(device, viaGroup);
}

/**
 * vfio_df_open(): counts the open; the first one binds the IOMMU and runs ops.openDevice, unwinding both on
 * failure. The cdev path allows a single open (EINVAL otherwise), the group path many.
 */
export function vfioDfOpen(df: VfioDeviceFile): void {
  const device = df.device;
  const set = device.devSet;
  if (set === null) throw new Error(`${deviceLabel(device)} has no device set`);
  // mutex_lock/unlock rather than withLock: no closure per open on this path.
  set.lock.lock('vfioDfOpen');
  try {
    // Only the group path may open a device more than once: the cdev path has no safe way to share it.
    if (device.openCount !== 0 && !df.viaGroup) throw new VfioError('EINVAL', `${deviceLabel(device)} is already open`);
    device.openCount++;
    if (device.openCount === 1) {
      const ops = opsOf(device);
      const binding = df.binding;
      let used = false;
      try {
        binding?.use(device);
        used = true;
        ops.openDevice?.(device);
      } catch (err) {
        if (used) binding?.unuse(device);
        device.openCount--;
        throw err;
      }
      device.openBinding = binding;
    }
  } finally {
    set.lock.unlock();
  }
  publishStep('open', device, device.openCount);
}

/** vfio_df_close(): the last close runs ops.closeDevice and unbinds; a close at count 0 is ignored. */
export function vfioDfClose(df: VfioDeviceFile): void {
  const device = df.device;
  const set = device.devSet;
  if (set === null || device.openCount === 0) {
    hostOf(device).logger.warn({ device: deviceLabel(device) }, 'close of a device that is not open ignored');
    return;
  }
  set.lock.lock('vfioDfClose');
  try {
    if (device.openCount > 1) {
      device.openCount--;
    } else {
      const binding = device.openBinding;
      device.openBinding = null;
      try {
        // closeDevice runs with the count still 1, as the kernel's vfio_df_close.
        opsOf(device).closeDevice?.(device);
      } finally {
        // A driver that throws from closeDevice has a bug, but the device is closed all the same.
        binding?.unuse(device);
        device.openCount--;
      }
    }
  } finally {
    set.lock.unlock();
  }
  publishStep('close', device, device.openCount);
}

/**
 * The device-file open the group path performs (vfio_device_open_file): a registration reference, a file,
 * and the open. ENODEV if the device is unregistering or gone. Release the file with deviceFileRelease.
 */
export function openDeviceFile(device: VfioDevice, binding: DeviceFileBinding | null = null): VfioDeviceFile {
  sanitizer.assertLive(device, 'openDeviceFile');
  if (!deviceTryGetRegistration(device)) throw new VfioError('ENODEV', `${deviceLabel(device)} is not registered`);
  const df = vfioAllocateDeviceFile(device, true);
  df.binding = binding;
  try {
    vfioDfOpen(df);
  } catch (err) {
    // Balances the allocation and the registration reference taken above.
    device.fileCount--;
    df.released = true;
    devicePutRegistration(device);
    throw err;
  }
  df.accessGranted = true;
  return df;
}

/** vfio_device_fops_release(): closes the device if this file opened it, then drops the file's registration reference. Idempotent. */
export function deviceFileRelease(df: VfioDeviceFile): void {
  if (df.released) return;
  df.released = true;
  const device = df.device;
  try {
    if (df.accessGranted) {
      df.accessGranted = false;
      vfioDfClose(df);
    }
  } finally {
    // The file goes away even if the driver's closeDevice threw: unregister must not wait for it.
    device.fileCount--;
    devicePutRegistration(device);
  }
}

/** Checks that the file may be used for I/O and ioctls (EINVAL before bind on the cdev path, EBADF after release). */
export function deviceFileCheckAccess(df: VfioDeviceFile): void {
  if (df.released) throw new VfioError('EBADF', 'device file is closed');
  if (!df.accessGranted) throw new VfioError('EINVAL', 'device file is not bound');
}

/** read(2) on a device file. */
export function deviceFileRead(df: VfioDeviceFile, buf: Uint8Array, pos: number): number {
  deviceFileCheckAccess(df);
  const ops = opsOf(df.device);
  if (ops.read === undefined) throw new VfioError('EINVAL', 'device has no read');
  return ops.read(df.device, buf, pos);
}

/** write(2) on a device file. */
export function deviceFileWrite(df: VfioDeviceFile, buf: Uint8Array, pos: number): number {
  deviceFileCheckAccess(df);
  const ops = opsOf(df.device);
  if (ops.write === undefined) throw new VfioError('EINVAL', 'device has no write');
  return ops.write(df.device, buf, pos);
}

/** mmap(2) on a device file: the fd and offset that back the range. */
export function deviceFileMmap(df: VfioDeviceFile, pos: number, length: number, writable: boolean): { fd: number; offset: number } {
  deviceFileCheckAccess(df);
  const ops = opsOf(df.device);
  if (ops.mmap === undefined) throw new VfioError('EINVAL', 'device has no mmap');
  return ops.mmap(df.device, pos, length, writable);
}
