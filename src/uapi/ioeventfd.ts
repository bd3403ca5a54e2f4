// struct vfio_device_ioeventfd (VFIO_DEVICE_IOEVENTFD) and its size flags (include/uapi/linux/vfio.h, vfio_pci_ioctl_ioeventfd checks).
import { VfioError } from './errno.js';
import { hweight32, needArgsz, needBytes, needKnownFlags, outBuffer, viewOf } from './codec.js';

export const VFIO_DEVICE_IOEVENTFD_8 = 1 << 0;
export const VFIO_DEVICE_IOEVENTFD_16 = 1 << 1;
export const VFIO_DEVICE_IOEVENTFD_32 = 1 << 2;
export const VFIO_DEVICE_IOEVENTFD_64 = 1 << 3;
export const VFIO_DEVICE_IOEVENTFD_SIZE_MASK = 0xf;

/** struct vfio_device_ioeventfd: argsz @0, flags @4, offset u64 @8, data u64 @16, fd s32 @24, reserved @28. */
export interface VfioDeviceIoeventfd {
  argsz: number;
  flags: number;
  offset: bigint;
  data: bigint;
  /** -1 de-assigns. */
  fd: number;
}
export const VFIO_DEVICE_IOEVENTFD_SIZEOF = 32;
/** offsetofend(struct vfio_device_ioeventfd, fd). */
export const VFIO_DEVICE_IOEVENTFD_MINSZ = 28;

/** argsz < 28, flags outside SIZE_MASK, not exactly one size bit, or fd < -1: EINVAL. */
export function decodeVfioDeviceIoeventfd(buf: Uint8Array): VfioDeviceIoeventfd {
  needBytes(buf, VFIO_DEVICE_IOEVENTFD_MINSZ, 'vfio_device_ioeventfd');
  const dv = viewOf(buf);
  const argsz = dv.getUint32(0, true);
  needArgsz(argsz, VFIO_DEVICE_IOEVENTFD_MINSZ, 'vfio_device_ioeventfd');
  const flags = dv.getUint32(4, true);
  needKnownFlags(flags, VFIO_DEVICE_IOEVENTFD_SIZE_MASK, 'vfio_device_ioeventfd');
  if (hweight32(flags) !== 1) throw new VfioError('EINVAL', 'vfio_device_ioeventfd: exactly one size flag');
  const fd = dv.getInt32(24, true);
  if (fd < -1) throw new VfioError('EINVAL', 'vfio_device_ioeventfd: fd < -1');
  return { argsz, flags, offset: dv.getBigUint64(8, true), data: dv.getBigUint64(16, true), fd };
}

export function encodeVfioDeviceIoeventfd(x: VfioDeviceIoeventfd, into?: Uint8Array): Uint8Array {
  const out = outBuffer(VFIO_DEVICE_IOEVENTFD_SIZEOF, into, 'vfio_device_ioeventfd');
  const dv = viewOf(out);
  dv.setUint32(0, x.argsz, true);
  dv.setUint32(4, x.flags, true);
  dv.setBigUint64(8, x.offset, true);
  dv.setBigUint64(16, x.data, true);
  dv.setInt32(24, x.fd, true);
  dv.setUint32(28, 0, true);
  return out;
}

/** The access width in bytes a size flag names (1, 2, 4 or 8). */
export function vfioIoeventfdWidth(flags: number): number {
  return flags & VFIO_DEVICE_IOEVENTFD_SIZE_MASK & -(flags & VFIO_DEVICE_IOEVENTFD_SIZE_MASK);
}
