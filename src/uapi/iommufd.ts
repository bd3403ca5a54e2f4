// VFIO cdev iommufd binding (vfio_device_bind_iommufd, attach/detach_iommufd_pt) and the minimal iommufd IOAS structs (include/uapi/linux/vfio.h, include/uapi/linux/iommufd.h).
import { VfioError } from './errno.js';
import { needArgsz, needBytes, needKnownFlags, optU32, outBuffer, viewOf } from './codec.js';

export const VFIO_DEVICE_BIND_FLAG_TOKEN = 1 << 0;

/** struct vfio_device_bind_iommufd: argsz @0, flags @4, iommufd s32 @8, out_devid @12, token_uuid_ptr u64 @16. */
export interface VfioDeviceBindIommufd {
  argsz: number;
  flags: number;
  iommufd: number;
  outDevid: number;
  /** Meaningful with VFIO_DEVICE_BIND_FLAG_TOKEN only; 0 when argsz stops before it. */
  tokenUuidPtr: bigint;
}
export const VFIO_DEVICE_BIND_IOMMUFD_SIZEOF = 24;
/** offsetofend(struct vfio_device_bind_iommufd, out_devid). */
export const VFIO_DEVICE_BIND_IOMMUFD_MINSZ = 16;

/** argsz < 16, a negative iommufd, unknown flags, or TOKEN without room for the pointer: EINVAL (vfio_df_ioctl_bind_iommufd). */
export function decodeVfioDeviceBindIommufd(buf: Uint8Array): VfioDeviceBindIommufd {
  needBytes(buf, VFIO_DEVICE_BIND_IOMMUFD_MINSZ, 'vfio_device_bind_iommufd');
  const dv = viewOf(buf);
  const argsz = dv.getUint32(0, true);
  needArgsz(argsz, VFIO_DEVICE_BIND_IOMMUFD_MINSZ, 'vfio_device_bind_iommufd');
  const flags = dv.getUint32(4, true);
  needKnownFlags(flags, VFIO_DEVICE_BIND_FLAG_TOKEN, 'vfio_device_bind_iommufd');
  const iommufd = dv.getInt32(8, true);
  if (iommufd < 0) throw new VfioError('EINVAL', 'vfio_device_bind_iommufd: negative iommufd');
  let tokenUuidPtr = 0n;
  if (flags & VFIO_DEVICE_BIND_FLAG_TOKEN) {
    needArgsz(argsz, VFIO_DEVICE_BIND_IOMMUFD_SIZEOF, 'vfio_device_bind_iommufd+token');
    needBytes(buf, VFIO_DEVICE_BIND_IOMMUFD_SIZEOF, 'vfio_device_bind_iommufd+token');
    tokenUuidPtr = dv.getBigUint64(16, true);
  }
  return { argsz, flags, iommufd, outDevid: dv.getUint32(12, true), tokenUuidPtr };
}

export function encodeVfioDeviceBindIommufd(x: VfioDeviceBindIommufd, into?: Uint8Array): Uint8Array {
  const out = outBuffer(VFIO_DEVICE_BIND_IOMMUFD_SIZEOF, into, 'vfio_device_bind_iommufd');
  const dv = viewOf(out);
  dv.setUint32(0, x.argsz, true);
  dv.setUint32(4, x.flags, true);
  dv.setInt32(8, x.iommufd, true);
  dv.setUint32(12, x.outDevid, true);
  dv.setBigUint64(16, x.tokenUuidPtr, true);
  return out;
}

export const VFIO_DEVICE_ATTACH_PASID = 1 << 0;
export const VFIO_DEVICE_DETACH_PASID = 1 << 0;

/** struct vfio_device_attach_iommufd_pt: argsz @0, flags @4, pt_id @8, pasid @12. */
export interface VfioDeviceAttachIommufdPt {
  argsz: number;
  flags: number;
  ptId: number;
  pasid: number;
}
export const VFIO_DEVICE_ATTACH_IOMMUFD_PT_SIZEOF = 16;
/** offsetofend(struct vfio_device_attach_iommufd_pt, pt_id); PASID needs offsetofend(pasid) = 16. */
export const VFIO_DEVICE_ATTACH_IOMMUFD_PT_MINSZ = 12;

export function decodeVfioDeviceAttachIommufdPt(buf: Uint8Array): VfioDeviceAttachIommufdPt {
  needBytes(buf, VFIO_DEVICE_ATTACH_IOMMUFD_PT_MINSZ, 'vfio_device_attach_iommufd_pt');
  const dv = viewOf(buf);
  const argsz = dv.getUint32(0, true);
  needArgsz(argsz, VFIO_DEVICE_ATTACH_IOMMUFD_PT_MINSZ, 'vfio_device_attach_iommufd_pt');
  const flags = dv.getUint32(4, true);
  needKnownFlags(flags, VFIO_DEVICE_ATTACH_PASID, 'vfio_device_attach_iommufd_pt');
  if (flags & VFIO_DEVICE_ATTACH_PASID) {
    needArgsz(argsz, VFIO_DEVICE_ATTACH_IOMMUFD_PT_SIZEOF, 'vfio_device_attach_iommufd_pt+pasid');
    needBytes(buf, VFIO_DEVICE_ATTACH_IOMMUFD_PT_SIZEOF, 'vfio_device_attach_iommufd_pt+pasid');
  }
  return { argsz, flags, ptId: dv.getUint32(8, true), pasid: optU32(dv, 12) };
}

export function encodeVfioDeviceAttachIommufdPt(x: VfioDeviceAttachIommufdPt, into?: Uint8Array): Uint8Array {
  const out = outBuffer(VFIO_DEVICE_ATTACH_IOMMUFD_PT_SIZEOF, into, 'vfio_device_attach_iommufd_pt');
  const dv = viewOf(out);
  dv.setUint32(0, x.argsz, true);
  dv.setUint32(4, x.flags, true);
  dv.setUint32(8, x.ptId, true);
  dv.setUint32(12, x.pasid, true);
  return out;
}

/** struct vfio_device_detach_iommufd_pt: argsz @0, flags @4, pasid @8. */
export interface VfioDeviceDetachIommufdPt {
  argsz: number;
  flags: number;
  pasid: number;
}
export const VFIO_DEVICE_DETACH_IOMMUFD_PT_SIZEOF = 12;
/** offsetofend(struct vfio_device_detach_iommufd_pt, flags); PASID needs offsetofend(pasid) = 12. */
export const VFIO_DEVICE_DETACH_IOMMUFD_PT_MINSZ = 8;

export function decodeVfioDeviceDetachIommufdPt(buf: Uint8Array): VfioDeviceDetachIommufdPt {
  needBytes(buf, VFIO_DEVICE_DETACH_IOMMUFD_PT_MINSZ, 'vfio_device_detach_iommufd_pt');
  const dv = viewOf(buf);
  const argsz = dv.getUint32(0, true);
  needArgsz(argsz, VFIO_DEVICE_DETACH_IOMMUFD_PT_MINSZ, 'vfio_device_detach_iommufd_pt');
  const flags = dv.getUint32(4, true);
  needKnownFlags(flags, VFIO_DEVICE_DETACH_PASID, 'vfio_device_detach_iommufd_pt');
  if (flags & VFIO_DEVICE_DETACH_PASID) {
    needArgsz(argsz, VFIO_DEVICE_DETACH_IOMMUFD_PT_SIZEOF, 'vfio_device_detach_iommufd_pt+pasid');
    needBytes(buf, VFIO_DEVICE_DETACH_IOMMUFD_PT_SIZEOF, 'vfio_device_detach_iommufd_pt+pasid');
  }
  return { argsz, flags, pasid: optU32(dv, 8) };
}

export function encodeVfioDeviceDetachIommufdPt(x: VfioDeviceDetachIommufdPt, into?: Uint8Array): Uint8Array {
  const out = outBuffer(VFIO_DEVICE_DETACH_IOMMUFD_PT_SIZEOF, into, 'vfio_device_detach_iommufd_pt');
  const dv = viewOf(out);
  dv.setUint32(0, x.argsz, true);
  dv.setUint32(4, x.flags, true);
  dv.setUint32(8, x.pasid, true);
  return out;
}

/**
 * iommufd's framing (iommufd_fops_ioctl + copy_struct_from_user): `size` below the op's minimum is
 * EINVAL; bytes past the struct the kernel knows must be zero, else E2BIG.
 */
function iommufdFrame(buf: Uint8Array, minsz: number, sizeof: number, what: string): DataView {
  needBytes(buf, minsz, what);
  const dv = viewOf(buf);
  const size = dv.getUint32(0, true);
  if (size < minsz) throw new VfioError('EINVAL', `${what}: size ${size} < ${minsz}`);
  const end = Math.min(size, buf.byteLength);
  for (let i = sizeof; i < end; i++) {
    if (buf[i] !== 0) throw new VfioError('E2BIG', `${what}: non-zero byte ${i} past the known struct`);
  }
  return dv;
}

/** struct iommu_destroy: size @0, id @4. */
export interface IommuDestroy {
  size: number;
  id: number;
}
export const IOMMU_DESTROY_SIZEOF = 8;
export const IOMMU_DESTROY_MINSZ = 8;

export function decodeIommuDestroy(buf: Uint8Array): IommuDestroy {
  const dv = iommufdFrame(buf, IOMMU_DESTROY_MINSZ, IOMMU_DESTROY_SIZEOF, 'iommu_destroy');
  return { size: dv.getUint32(0, true), id: dv.getUint32(4, true) };
}

export function encodeIommuDestroy(x: IommuDestroy, into?: Uint8Array): Uint8Array {
  const out = outBuffer(IOMMU_DESTROY_SIZEOF, into, 'iommu_destroy');
  const dv = viewOf(out);
  dv.setUint32(0, x.size, true);
  dv.setUint32(4, x.id, true);
  return out;
}

/** struct iommu_ioas_alloc: size @0, flags @4 (must be 0: EOPNOTSUPP), out_ioas_id @8. */
export interface IommuIoasAlloc {
  size: number;
  flags: number;
  outIoasId: number;
}
export const IOMMU_IOAS_ALLOC_SIZEOF = 12;
export const IOMMU_IOAS_ALLOC_MINSZ = 12;

export function decodeIommuIoasAlloc(buf: Uint8Array): IommuIoasAlloc {
  const dv = iommufdFrame(buf, IOMMU_IOAS_ALLOC_MINSZ, IOMMU_IOAS_ALLOC_SIZEOF, 'iommu_ioas_alloc');
  const flags = dv.getUint32(4, true);
  if (flags !== 0) throw new VfioError('EOPNOTSUPP', 'iommu_ioas_alloc: flags must be 0');
  return { size: dv.getUint32(0, true), flags, outIoasId: dv.getUint32(8, true) };
}

export function encodeIommuIoasAlloc(x: IommuIoasAlloc, into?: Uint8Array): Uint8Array {
  const out = outBuffer(IOMMU_IOAS_ALLOC_SIZEOF, into, 'iommu_ioas_alloc');
  const dv = viewOf(out);
  dv.setUint32(0, x.size, true);
  dv.setUint32(4, x.flags, true);
  dv.setUint32(8, x.outIoasId, true);
  return out;
}

export const IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0;
export const IOMMU_IOAS_MAP_WRITEABLE = 1 << 1;
export const IOMMU_IOAS_MAP_READABLE = 1 << 2;

/** struct iommu_ioas_map: size @0, flags @4, ioas_id @8, __reserved @12, user_va u64 @16, length u64 @24, iova u64 @32. */
export interface IommuIoasMap {
  size: number;
  flags: number;
  ioasId: number;
  userVa: bigint;
  length: bigint;
  iova: bigint;
}
export const IOMMU_IOAS_MAP_SIZEOF = 40;
export const IOMMU_IOAS_MAP_MINSZ = 40;

/** Unknown flags or a non-zero __reserved is EOPNOTSUPP (iommufd_ioas_map). */
export function decodeIommuIoasMap(buf: Uint8Array): IommuIoasMap {
  const dv = iommufdFrame(buf, IOMMU_IOAS_MAP_MINSZ, IOMMU_IOAS_MAP_SIZEOF, 'iommu_ioas_map');
  const flags = dv.getUint32(4, true);
  const known = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE;
  if ((flags & ~known) >>> 0 !== 0 || dv.getUint32(12, true) !== 0) {
    throw new VfioError('EOPNOTSUPP', 'iommu_ioas_map: unknown flags or reserved field set');
  }
  return {
    size: dv.getUint32(0, true),
    flags,
    ioasId: dv.getUint32(8, true),
    userVa: dv.getBigUint64(16, true),
    length: dv.getBigUint64(24, true),
    iova: dv.getBigUint64(32, true),
  };
}

export function encodeIommuIoasMap(x: IommuIoasMap, into?: Uint8Array): Uint8Array {
  const out = outBuffer(IOMMU_IOAS_MAP_SIZEOF, into, 'iommu_ioas_map');
  const dv = viewOf(out);
  dv.setUint32(0, x.size, true);
  dv.setUint32(4, x.flags, true);
  dv.setUint32(8, x.ioasId, true);
  dv.setUint32(12, 0, true);
  dv.setBigUint64(16, x.userVa, true);
  dv.setBigUint64(24, x.length, true);
  dv.setBigUint64(32, x.iova, true);
  return out;
}

/** struct iommu_ioas_unmap: size @0, ioas_id @4, iova u64 @8, length u64 @16 (in: bytes to unmap; out: bytes unmapped). */
export interface IommuIoasUnmap {
  size: number;
  ioasId: number;
  iova: bigint;
  length: bigint;
}
export const IOMMU_IOAS_UNMAP_SIZEOF = 24;
export const IOMMU_IOAS_UNMAP_MINSZ = 24;

export function decodeIommuIoasUnmap(buf: Uint8Array): IommuIoasUnmap {
  const dv = iommufdFrame(buf, IOMMU_IOAS_UNMAP_MINSZ, IOMMU_IOAS_UNMAP_SIZEOF, 'iommu_ioas_unmap');
  return { size: dv.getUint32(0, true), ioasId: dv.getUint32(4, true), iova: dv.getBigUint64(8, true), length: dv.getBigUint64(16, true) };
}

export function encodeIommuIoasUnmap(x: IommuIoasUnmap, into?: Uint8Array): Uint8Array {
  const out = outBuffer(IOMMU_IOAS_UNMAP_SIZEOF, into, 'iommu_ioas_unmap');
  const dv = viewOf(out);
  dv.setUint32(0, x.size, true);
  dv.setUint32(4, x.ioasId, true);
  dv.setBigUint64(8, x.iova, true);
  dv.setBigUint64(16, x.length, true);
  return out;
}
