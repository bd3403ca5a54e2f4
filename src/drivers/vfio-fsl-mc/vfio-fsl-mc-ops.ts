// The device-file side of vfio-fsl-mc (drivers/vfio/fsl-mc/vfio_fsl_mc.c): open builds the regions from the
// object's resources (mappable when page aligned, never for a DPRC); close resets the device before its interrupts
// go; the info ioctls, SET_IRQS and RESET (a DPRC resets its container through the MC, any other object is reset
// through an open/reset/close on its container's portal); read/write move one 64-byte MC command at offset 0.
import { fslMcContDev, isFslMcBusDprc } from '../../hw/fsl-mc/fsl-mc-device.js';
import { fslMcIoremap } from '../../hw/fsl-mc/fsl-mc-bus.js';
import { fslMcCleanupIrqPool } from '../../hw/fsl-mc/fsl-mc-msi.js';
import { DPRC_RESET_OPTION_NON_RECURSIVE, FSL_MC_REGION_CACHEABLE, FSL_MC_REGION_SHAREABLE, MC_CMD_SIZE, MC_CMD_STATUS_READY, mcReadHeader } from '../../hw/fsl-mc/mc-cmd.js';
import { dprcResetContainer, fslMcObjClose, fslMcObjOpen, fslMcObjReset } from '../../hw/fsl-mc/dprc.js';
import { copyToUser } from '../../uapi/codec.js';
import { VFIO_DEVICE_FLAGS_FSL_MC, VFIO_DEVICE_FLAGS_RESET, VFIO_DEVICE_INFO_MINSZ, decodeVfioDeviceInfo, encodeVfioDeviceInfo } from '../../uapi/device-info.js';
import { VfioError } from '../../uapi/errno.js';
import { VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_IRQ_INFO, VFIO_DEVICE_GET_REGION_INFO, VFIO_DEVICE_RESET, VFIO_DEVICE_SET_IRQS } from '../../uapi/ioctl.js';
import { VFIO_IRQ_INFO_EVENTFD, decodeVfioIrqInfo, encodeVfioIrqInfo } from '../../uapi/irq-info.js';
import { decodeVfioIrqSet, vfioSetIrqsValidateAndPrepare } from '../../uapi/irq-set.js';
import { VFIO_REGION_INFO_FLAG_MMAP, VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE, VFIO_REGION_INFO_MINSZ, decodeVfioRegionInfo, encodeVfioRegionInfo } from '../../uapi/region-info.js';
import { mcDevOf, vfioFslMcIndexToOffset, vfioFslMcSplitOffset } from './vfio-fsl-mc-private.js';
import type { VfioFslMcDevice, VfioFslMcRegion } from './vfio-fsl-mc-private.js';
import { vfioFslMcIrqsCleanup, vfioFslMcSetIrqsIoctl } from './vfio-fsl-mc-intr.js';

const PAGE_SIZE = 4096;
/** IORESOURCE_READONLY: no fsl-mc region sets it, but the rule is the kernel's. */
const IORESOURCE_READONLY = 0x4000;

/** vfio_fsl_mc_open_device(): the regions from the object's resources. */
export function vfioFslMcOpenDevice(vdev: VfioFslMcDevice): void {
  const mcDev = mcDevOf(vdev);
  const noMmap = isFslMcBusDprc(mcDev);
  vdev.regions = mcDev.regions.map((res): VfioFslMcRegion => {
    // Only regions addressed with PAGE granularity may be mapped securely.
    const aligned = res.start % BigInt(PAGE_SIZE) === 0n && res.size % PAGE_SIZE === 0;
    let flags = VFIO_REGION_INFO_FLAG_READ;
    if (!noMmap && aligned) flags |= VFIO_REGION_INFO_FLAG_MMAP;
    if ((res.flags & IORESOURCE_READONLY) === 0) flags |= VFIO_REGION_INFO_FLAG_WRITE;
    return { flags, type: res.flags & (FSL_MC_REGION_CACHEABLE | FSL_MC_REGION_SHAREABLE), addr: res.start, size: res.size, ioaddr: null };
  });
}

/** vfio_fsl_mc_reset_device(). */
export function vfioFslMcResetDevice(vdev: VfioFslMcDevice): number {
  const mcDev = mcDevOf(vdev);
  if (mcDev.mcIo === null) throw new VfioError('ENODEV', `${mcDev.name} has no MC portal`);
  if (isFslMcBusDprc(mcDev)) {
    dprcResetContainer(mcDev.mcIo, mcDev.mcHandle, mcDev.objDesc.id, DPRC_RESET_OPTION_NON_RECURSIVE);
    return 0;
  }
  const token = fslMcObjOpen(mcDev.mcIo, mcDev.objDesc.id, mcDev.objDesc.type);
  try {
    fslMcObjReset(mcDev.mcIo, token);
  } catch (err) {
    fslMcObjClose(mcDev.mcIo, token);
    throw err;
  }
  fslMcObjClose(mcDev.mcIo, token);
  return 0;
}

/** vfio_fsl_mc_close_device(): regions go, the device is reset before its interrupts are cleaned up. */
export function vfioFslMcCloseDevice(vdev: VfioFslMcDevice): void {
  const mcDev = mcDevOf(vdev);
  const cont = fslMcContDev(mcDev);
  vdev.regions = null;
  try {
    vfioFslMcResetDevice(vdev);
  } catch (err) {
    mcDev.host?.logger.warn({ device: cont.name, err: String(err) }, 'VFIO_FSL_MC: reset device has failed');
  }
  vfioFslMcIrqsCleanup(vdev);
  fslMcCleanupIrqPool(cont);
}

function regionAt(vdev: VfioFslMcDevice, index: number): VfioFslMcRegion {
  const r = vdev.regions?.[index];
  if (r === undefined || index >= mcDevOf(vdev).objDesc.regionCount) throw new VfioError('EINVAL', `region index ${index}`);
  return r;
}

export function vfioFslMcIoctl(vdev: VfioFslMcDevice, cmd: number, arg: Uint8Array): number {
  const mcDev = mcDevOf(vdev);
  switch (cmd) {
    case VFIO_DEVICE_GET_INFO: {
      const info = decodeVfioDeviceInfo(arg);
      const flags = VFIO_DEVICE_FLAGS_FSL_MC | (isFslMcBusDprc(mcDev) ? VFIO_DEVICE_FLAGS_RESET : 0);
      const out = encodeVfioDeviceInfo({ argsz: info.argsz, flags, numRegions: mcDev.objDesc.regionCount, numIrqs: mcDev.objDesc.irqCount, capOffset: 0 });
      // copy_to_user(arg, &info, minsz): cap_offset is not written.
      return copyToUser(arg, out.subarray(0, VFIO_DEVICE_INFO_MINSZ));
    }
    case VFIO_DEVICE_GET_REGION_INFO: {
      const info = decodeVfioRegionInfo(arg);
      const r = regionAt(vdev, info.index);
      const out = encodeVfioRegionInfo({ ...info, offset: vfioFslMcIndexToOffset(info.index), size: BigInt(r.size), flags: r.flags });
      return copyToUser(arg, out.subarray(0, VFIO_REGION_INFO_MINSZ));
    }
    case VFIO_DEVICE_GET_IRQ_INFO: {
      const info = decodeVfioIrqInfo(arg);
      if (info.index >= mcDev.objDesc.irqCount) throw new VfioError('EINVAL', `irq index ${info.index}`);
      return copyToUser(arg, encodeVfioIrqInfo({ ...info, flags: VFIO_IRQ_INFO_EVENTFD, count: 1 }));
    }
    case VFIO_DEVICE_SET_IRQS: {
      const hdr = decodeVfioIrqSet(arg);
      vfioSetIrqsValidateAndPrepare(hdr, mcDev.objDesc.irqCount, mcDev.objDesc.irqCount);
      return vfioFslMcSetIrqsIoctl(vdev, hdr);
    }
    case VFIO_DEVICE_RESET:
      return vfioFslMcResetDevice(vdev);
    default:
      throw new VfioError('ENOTTY', `ioctl 0x${cmd.toString(16)}`);
  }
}

/** The region's window, mapped on first use (ioremap). */
function ioaddrOf(vdev: VfioFslMcDevice, r: VfioFslMcRegion): NonNullable<VfioFslMcRegion['ioaddr']> {
  const host = mcDevOf(vdev).host;
  if (host === null) throw new VfioError('ENODEV', 'device without a host');
  r.ioaddr ??= fslMcIoremap(host, r.addr, r.size);
  return r.ioaddr;
}

/** vfio_fsl_mc_read(): the 64 bytes at offset 0 of a region (a portal's last response), read word 7 down to 0. */
export function vfioFslMcRead(vdev: VfioFslMcDevice, buf: Uint8Array, pos: number): number {
  const { index, off } = vfioFslMcSplitOffset(pos);
  const r = regionAt(vdev, index);
  if ((r.flags & VFIO_REGION_INFO_FLAG_READ) === 0) throw new VfioError('EINVAL', `region ${index} is not readable`);
  const io = ioaddrOf(vdev, r);
  if (buf.length !== MC_CMD_SIZE || off !== 0) throw new VfioError('EINVAL', 'vfio-fsl-mc reads 64 bytes at offset 0');
  for (let i = 7; i >= 0; i--) io.read(i * 8, buf.subarray(i * 8, i * 8 + 8));
  return MC_CMD_SIZE;
}

/**
 * vfio_fsl_mc_write() with vfio_fsl_mc_send_command(): params (words 7 down to 1), then the header, then the
 * header is read back until its status is no longer READY. The simulated MC answers before the store returns, so
 * a READY status is what the kernel's 5 s poll ends in: ETIMEDOUT (a memory window never answers).
 */
export function vfioFslMcWrite(vdev: VfioFslMcDevice, buf: Uint8Array, pos: number): number {
  const { index, off } = vfioFslMcSplitOffset(pos);
  const r = regionAt(vdev, index);
  if ((r.flags & VFIO_REGION_INFO_FLAG_WRITE) === 0) throw new VfioError('EINVAL', `region ${index} is not writable`);
  const io = ioaddrOf(vdev, r);
  if (buf.length !== MC_CMD_SIZE || off !== 0) throw new VfioError('EINVAL', 'vfio-fsl-mc writes 64 bytes at offset 0');
  const data = Uint8Array.from(buf);
  for (let i = 7; i >= 1; i--) io.write(i * 8, data.subarray(i * 8, i * 8 + 8));
  io.write(0, data.subarray(0, 8));
  const header = new Uint8Array(8);
  io.read(0, header);
  if (mcReadHeader(header).status === MC_CMD_STATUS_READY) throw new VfioError('ETIMEDOUT', `region ${index}: no answer to the command`);
  return MC_CMD_SIZE;
}

/** vfio_fsl_mc_mmap() with vfio_fsl_mc_mmap_mmio(): a page-aligned, shared mapping of a mappable region. */
export function vfioFslMcMmap(vdev: VfioFslMcDevice, pos: number, length: number, writable: boolean): { fd: number; offset: number } {
  const { index, off } = vfioFslMcSplitOffset(pos);
  if (length < 0 || pos % PAGE_SIZE !== 0 || length % PAGE_SIZE !== 0) throw new VfioError('EINVAL', 'mmap: not page aligned');
  const r = regionAt(vdev, index);
  if ((r.flags & VFIO_REGION_INFO_FLAG_MMAP) === 0) throw new VfioError('EINVAL', `region ${index} cannot be mapped`);
  if (writable && (r.flags & VFIO_REGION_INFO_FLAG_WRITE) === 0) throw new VfioError('EINVAL', `region ${index} is read-only`);
  if (r.size < PAGE_SIZE || off + length > r.size) throw new VfioError('EINVAL', 'mmap: outside the region');
  const io = ioaddrOf(vdev, r);
  if (io.mmapFd < 0) throw new VfioError('EINVAL', `region ${index} is registers, not memory`);
  return { fd: io.mmapFd, offset: off };
}
