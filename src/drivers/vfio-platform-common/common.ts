// The device life cycle and file operations vfio-platform and vfio-amba share (drivers/vfio/platform/
// vfio_platform_common.c): vfio_platform_init_common (compatible from the node, reset handler by compatible, ENOENT
// without one when a reset is required) and release_common (the handler's module let go), open_device (regions,
// IRQs, reset) and close_device (reset, IRQs down), the ioctls (GET_INFO, GET_REGION_INFO, GET_IRQ_INFO, SET_IRQS,
// RESET), read/write of MMIO regions and mmap of mappable ones.
import { hostOf } from '../../base/device.js';
import { devicePropertyReadCompatible } from '../../hw/platform/mmio-device.js';
import { copyToUser } from '../../uapi/codec.js';
import { VfioError } from '../../uapi/errno.js';
import { VFIO_DEVICE_FLAGS_RESET, VFIO_DEVICE_INFO_MINSZ, decodeVfioDeviceInfo, encodeVfioDeviceInfo } from '../../uapi/device-info.js';
import { VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_IRQ_INFO, VFIO_DEVICE_GET_REGION_INFO, VFIO_DEVICE_RESET, VFIO_DEVICE_SET_IRQS } from '../../uapi/ioctl.js';
import { decodeVfioIrqInfo, encodeVfioIrqInfo } from '../../uapi/irq-info.js';
import { decodeVfioIrqSet, vfioSetIrqsValidateAndPrepare } from '../../uapi/irq-set.js';
import {
  VFIO_REGION_INFO_FLAG_MMAP,
  VFIO_REGION_INFO_FLAG_READ,
  VFIO_REGION_INFO_FLAG_WRITE,
  VFIO_REGION_INFO_MINSZ,
  decodeVfioRegionInfo,
  encodeVfioRegionInfo,
} from '../../uapi/region-info.js';
import type { VfioDeviceOps } from '../../vfio/vfio-ops.js';
import { vfioPlatformIrqCleanup, vfioPlatformIrqInit, vfioPlatformSetIrqsIoctl } from './irq.js';
import { VfioPlatformDevice, vfioPlatformIndexToOffset, vfioPlatformSplitOffset } from './private.js';
import type { VfioPlatformRegion } from './private.js';
import { PAGE_SIZE, vfioPlatformMmioRw, vfioPlatformRegionsCleanup, vfioPlatformRegionsInit } from './regions.js';
import { vfioPlatformGetReset, vfioPlatformPutReset } from './reset-registry.js';
// The reset modules on disk: a lookup by compatible may load them.
import './reset/index.js';

/**
 * vfio_platform_init_common() (from the bus driver's init, which set name, flags, reset_required, get_resource and
 * get_irq): EINVAL without a compatible string; the reset handler by compatible; without one, ENOENT when a reset
 * is required (the kernel's vfio_platform_get_reset error), fine otherwise.
 */
export function vfioPlatformInitCommon(vdev: VfioPlatformDevice): void {
  const dev = vdev.dev;
  const compat = dev === null ? null : devicePropertyReadCompatible(dev);
  if (compat === null) throw new VfioError('EINVAL', `cannot retrieve compat for ${vdev.devName}`);
  vdev.compat = compat;
  vdev.resetRef = vfioPlatformGetReset(compat);
  if (vdev.resetRef === null && vdev.resetRequired) {
    throw new VfioError('ENOENT', `no reset function found for device ${vdev.devName} (${compat})`);
  }
}

/** vfio_platform_release_common(): balances the reset module reference init took. */
export function vfioPlatformReleaseCommon(vdev: VfioPlatformDevice): void {
  if (vdev.resetRef !== null) vfioPlatformPutReset(vdev.resetRef);
  vdev.resetRef = null;
}

/** vfio_platform_call_reset(): the handler, or EINVAL when there is none. */
function vfioPlatformCallReset(vdev: VfioPlatformDevice): void {
  const ref = vdev.resetRef;
  if (ref === null) throw new VfioError('EINVAL', `${vdev.devName}: no reset function found`);
  ref.reset(vdev);
}

/** vfio_platform_open_device(): regions and IRQs set up, then a reset (whose failure fails the open if required). */
export function vfioPlatformOpenDevice(vdev: VfioPlatformDevice): void {
  vfioPlatformRegionsInit(vdev);
  try {
    vfioPlatformIrqInit(vdev);
    try {
      vfioPlatformCallReset(vdev);
    } catch (err) {
      if (vdev.resetRequired) throw err;
    }
  } catch (err) {
    vfioPlatformIrqCleanup(vdev);
    vfioPlatformRegionsCleanup(vdev);
    throw err;
  }
}

/** vfio_platform_close_device(): a reset (a failure only warns), then IRQs and regions torn down. */
export function vfioPlatformCloseDevice(vdev: VfioPlatformDevice): void {
  try {
    vfioPlatformCallReset(vdev);
  } catch (err) {
    if (vdev.resetRequired && vdev.dev !== null) hostOf(vdev.dev).logger.warn({ device: vdev.devName, err: String(err) }, 'reset driver is required and reset call failed in release');
  }
  vfioPlatformIrqCleanup(vdev);
  vfioPlatformRegionsCleanup(vdev);
}

function getInfo(vdev: VfioPlatformDevice, arg: Uint8Array): number {
  const info = decodeVfioDeviceInfo(arg);
  if (vdev.resetRef !== null) vdev.flags |= VFIO_DEVICE_FLAGS_RESET;
  const out = encodeVfioDeviceInfo({ argsz: info.argsz, flags: vdev.flags, numRegions: vdev.regions.length, numIrqs: vdev.irqs.length, capOffset: 0 });
  // copy_to_user(arg, &info, minsz): cap_offset is not written.
  return copyToUser(arg, out.subarray(0, VFIO_DEVICE_INFO_MINSZ));
}

function getRegionInfo(vdev: VfioPlatformDevice, arg: Uint8Array): number {
  const info = decodeVfioRegionInfo(arg);
  const r = vdev.regions[info.index];
  if (r === undefined) throw new VfioError('EINVAL', `region ${info.index} of ${vdev.regions.length}`);
  const out = encodeVfioRegionInfo({ ...info, offset: BigInt(vfioPlatformIndexToOffset(info.index)), size: BigInt(r.size), flags: r.flags });
  return copyToUser(arg, out.subarray(0, VFIO_REGION_INFO_MINSZ));
}

function getIrqInfo(vdev: VfioPlatformDevice, arg: Uint8Array): number {
  const info = decodeVfioIrqInfo(arg);
  const irq = vdev.irqs[info.index];
  if (irq === undefined) throw new VfioError('EINVAL', `irq ${info.index} of ${vdev.irqs.length}`);
  return copyToUser(arg, encodeVfioIrqInfo({ ...info, flags: irq.flags, count: irq.count }));
}

function setIrqs(vdev: VfioPlatformDevice, arg: Uint8Array): number {
  const hdr = decodeVfioIrqSet(arg);
  // The kernel passes num_irqs for both the index's IRQ count and the number of indexes.
  vfioSetIrqsValidateAndPrepare(hdr, vdev.irqs.length, vdev.irqs.length);
  return vfioPlatformSetIrqsIoctl(vdev, hdr);
}

/** vfio_platform_ioctl(). */
export function vfioPlatformIoctl(vdev: VfioPlatformDevice, cmd: number, arg: Uint8Array): number {
  switch (cmd) {
    case VFIO_DEVICE_GET_INFO: return getInfo(vdev, arg);
    case VFIO_DEVICE_GET_REGION_INFO: return getRegionInfo(vdev, arg);
    case VFIO_DEVICE_GET_IRQ_INFO: return getIrqInfo(vdev, arg);
    case VFIO_DEVICE_SET_IRQS: return setIrqs(vdev, arg);
    case VFIO_DEVICE_RESET:
      vfioPlatformCallReset(vdev);
      return 0;
    default:
      throw new VfioError('ENOTTY', `ioctl 0x${cmd.toString(16)}`);
  }
}

function regionAt(vdev: VfioPlatformDevice, pos: number, need: number): { reg: VfioPlatformRegion; offset: number } {
  const { index, offset } = vfioPlatformSplitOffset(pos);
  const reg = vdev.regions[index];
  if (reg === undefined) throw new VfioError('EINVAL', `region ${index} of ${vdev.regions.length}`);
  if ((reg.flags & need) === 0) throw new VfioError('EINVAL', `region ${index} does not allow this access`);
  return { reg, offset };
}

/** vfio_platform_read(). */
export function vfioPlatformRead(vdev: VfioPlatformDevice, buf: Uint8Array, pos: number): number {
  const { reg, offset } = regionAt(vdev, pos, VFIO_REGION_INFO_FLAG_READ);
  return vfioPlatformMmioRw(reg, buf, offset, false);
}

/** vfio_platform_write(). */
export function vfioPlatformWrite(vdev: VfioPlatformDevice, buf: Uint8Array, pos: number): number {
  const { reg, offset } = regionAt(vdev, pos, VFIO_REGION_INFO_FLAG_WRITE);
  return vfioPlatformMmioRw(reg, buf, offset, true);
}

/** vfio_platform_mmap(): page-aligned ranges of MMAP regions, within the region, never writable when read-only. */
export function vfioPlatformMmap(vdev: VfioPlatformDevice, pos: number, length: number, writable: boolean): { fd: number; offset: number } {
  const { reg, offset } = regionAt(vdev, pos, VFIO_REGION_INFO_FLAG_MMAP);
  if (offset % PAGE_SIZE !== 0 || length % PAGE_SIZE !== 0 || length <= 0) throw new VfioError('EINVAL', 'mmap range must be page aligned');
  if (writable && (reg.flags & VFIO_REGION_INFO_FLAG_WRITE) === 0) throw new VfioError('EINVAL', 'region is read-only');
  if (reg.size < PAGE_SIZE || offset + length > reg.size) throw new VfioError('EINVAL', `mmap of [${offset}, +${length}) beyond the region's ${reg.size} bytes`);
  const mem = reg.hw.memory?.(reg.window) ?? null;
  if (mem === null) throw new VfioError('EINVAL', 'region is not memory');
  return { fd: mem.fd, offset: mem.offset + offset };
}

/** The ops both bus drivers share; each adds name, init and release (vfio_platform_ops, vfio_amba_ops). */
export const vfioPlatformCommonOps: Omit<VfioDeviceOps<VfioPlatformDevice>, 'name'> = Object.freeze({
  openDevice: vfioPlatformOpenDevice,
  closeDevice: vfioPlatformCloseDevice,
  ioctl: vfioPlatformIoctl,
  read: vfioPlatformRead,
  write: vfioPlatformWrite,
  mmap: vfioPlatformMmap,
});
