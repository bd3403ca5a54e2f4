// Region-addressed access on a device file: the device-file API's read/write for a user that names the region
// and the offset inside it (as VFIO_USER_REGION_READ/WRITE and libvfio-user's region callbacks do) instead of
// a file position that encodes both (vfio_pci_rw's VFIO_PCI_OFFSET_TO_INDEX).
import { VfioError } from '../uapi/errno.js';
import { VFIO_DEVICE_GET_REGION_INFO } from '../uapi/ioctl.js';
import { VFIO_REGION_INFO_SIZEOF, decodeVfioRegionInfo, encodeVfioRegionInfo } from '../uapi/region-info.js';
import type { VfioDeviceFile } from './device-file.js';
import { deviceFileCheckAccess } from './device-file.js';
import type { VfioDevice } from './vfio-device.js';
import { opsOf } from './vfio-device.js';
import type { VfioDeviceOps } from './vfio-ops.js';

/**
 * Reads (`write` false) or writes [offset, offset + buf.length) of region `index` through `df`: ops.regionRw when
 * the driver has it, else ops.read/write at the file offset GET_REGION_INFO reports for the region. The range is
 * the caller's to check against GET_REGION_INFO: it is the edge (a pread is checked by the driver instead).
 * Returns bytes moved.
 */
export function deviceFileRegionRw(df: VfioDeviceFile, index: number, offset: number, buf: Uint8Array, write: boolean): number {
  deviceFileCheckAccess(df);
  const device = df.device;
  const ops = opsOf(device);
  if (ops.regionRw !== undefined) return ops.regionRw(device, index, offset, buf, write);
  if (write) {
    if (ops.write === undefined) throw new VfioError('EINVAL', 'device has no write');
    return ops.write(device, buf, regionFileOffset(device, ops, index) + offset);
  }
  if (ops.read === undefined) throw new VfioError('EINVAL', 'device has no read');
  return ops.read(device, buf, regionFileOffset(device, ops, index) + offset);
}

/** The file offset of region `index`, from the driver's GET_REGION_INFO. */
function regionFileOffset(device: VfioDevice, ops: VfioDeviceOps, index: number): number {
  if (ops.ioctl === undefined) throw new VfioError('EINVAL', 'device has no ioctl');
  const info = encodeVfioRegionInfo({ argsz: VFIO_REGION_INFO_SIZEOF, flags: 0, index, capOffset: 0, size: 0n, offset: 0n });
  ops.ioctl(device, VFIO_DEVICE_GET_REGION_INFO, info);
  const offset = decodeVfioRegionInfo(info).offset;
  if (offset > BigInt(Number.MAX_SAFE_INTEGER)) throw new VfioError('EINVAL', `region ${index} offset 0x${offset.toString(16)}`);
  return Number(offset);
}
