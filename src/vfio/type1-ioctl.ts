// The type1 IOMMU's container ioctls on raw user structs (vfio_iommu_type1_ioctl in drivers/vfio/vfio_iommu_type1.c):
// GET_INFO with its capability chain, MAP_DMA, UNMAP_DMA (with the dirty bitmap) and DIRTY_PAGES.
import { VfioError } from '../uapi/errno.js';
import { hweight32, needArgsz } from '../uapi/codec.js';
import { VFIO_CHECK_EXTENSION, VFIO_IOMMU_DIRTY_PAGES, VFIO_IOMMU_GET_INFO, VFIO_IOMMU_MAP_DMA, VFIO_IOMMU_UNMAP_DMA } from '../uapi/ioctl.js';
import type { VfioInfoCap } from '../uapi/caps.js';
import {
  VFIO_BITMAP_SIZEOF,
  VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
  VFIO_IOMMU_DIRTY_PAGES_FLAG_START,
  VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP,
  VFIO_IOMMU_TYPE1_DIRTY_BITMAP_GET_SIZEOF,
  VFIO_IOMMU_TYPE1_DIRTY_BITMAP_MINSZ,
  VFIO_IOMMU_TYPE1_DMA_MAP_MINSZ,
  VFIO_IOMMU_TYPE1_DMA_UNMAP_MINSZ,
  VFIO_IOMMU_TYPE1_INFO_MINSZ,
  decodeVfioIommuType1DmaMap,
  decodeVfioIommuType1DmaUnmap,
  decodeVfioIommuType1Info,
  encodeVfioIommuType1InfoWithCaps,
  vfioIommuType1CapDmaAvail,
  vfioIommuType1CapIovaRange,
  vfioIommuType1CapMigration,
} from '../uapi/iommu-type1.js';
import type { VfioIommuType1 } from './iommu-type1.js';
import {
  VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
  verifyBitmapSize,
  type Type1InfoCap,
  type VfioBitmap,
} from './iommu-type1-types.js';
import type { IoctlArg, VfioFdTable } from './vfio-file.js';
import { copyToUser, userBuffer, userInt, userView } from './vfio-file.js';

/** vfio_iommu_type1_ioctl(): anything else is ENOTTY. */
export function vfioIommuType1Ioctl(iommu: VfioIommuType1, table: VfioFdTable, cmd: number, arg: IoctlArg): number {
  switch (cmd) {
    case VFIO_CHECK_EXTENSION:
      return iommu.checkExtension(userInt(arg));
    case VFIO_IOMMU_GET_INFO:
      return getInfo(iommu, arg);
    case VFIO_IOMMU_MAP_DMA:
      return mapDma(iommu, arg);
    case VFIO_IOMMU_UNMAP_DMA:
      return unmapDma(iommu, table, arg);
    case VFIO_IOMMU_DIRTY_PAGES:
      return dirtyPages(iommu, table, arg);
    default:
      throw new VfioError('ENOTTY', `type1: unknown ioctl 0x${cmd.toString(16)}`);
  }
}

function capOf(c: Type1InfoCap): VfioInfoCap {
  switch (c.id) {
    case 1:
      return vfioIommuType1CapIovaRange(c.ranges);
    case 2:
      return vfioIommuType1CapMigration({ flags: c.flags, pgsizeBitmap: c.pgsizeBitmap, maxDirtyBitmapSize: c.maxDirtyBitmapSize });
    case 3:
      return vfioIommuType1CapDmaAvail(c.avail);
  }
}

/** vfio_iommu_type1_get_info(): the cap chain under the argsz rule; only min(argsz, 24) bytes of the struct are written. */
function getInfo(iommu: VfioIommuType1, arg: IoctlArg): number {
  const buf = userBuffer(arg, VFIO_IOMMU_TYPE1_INFO_MINSZ, 'vfio_iommu_type1_info');
  const req = decodeVfioIommuType1Info(buf);
  const info = iommu.getInfo();
  const reply = encodeVfioIommuType1InfoWithCaps(
    { argsz: req.argsz, flags: info.flags, iovaPgsizes: info.iovaPgsizes, capOffset: 0 },
    info.caps.map(capOf),
  );
  copyToUser(buf, 0, reply, 'vfio_iommu_type1_info');
  return 0;
}

/** vfio_iommu_type1_map_dma(). */
function mapDma(iommu: VfioIommuType1, arg: IoctlArg): number {
  const map = decodeVfioIommuType1DmaMap(userBuffer(arg, VFIO_IOMMU_TYPE1_DMA_MAP_MINSZ, 'vfio_iommu_type1_dma_map'));
  iommu.mapDma({ iova: map.iova, vaddr: map.vaddr, size: map.size, flags: map.flags });
  return 0;
}

/** __ffs() of a non-zero u64. */
function ffs64(v: bigint): bigint {
  let s = 0n;
  while (((v >> s) & 1n) === 0n) s++;
  return s;
}

/**
 * A dirty bitmap whose `data` starts as the user's bytes at the struct's pointer (EFAULT if unbacked), so that
 * writing it back after the IOMMU filled it leaves bits the IOMMU did not touch as the user had them.
 */
function userBitmap(table: VfioFdTable, pgsize: bigint, size: bigint, npages: bigint, ptr: bigint): VfioBitmap {
  if (pgsize === 0n) throw new VfioError('EINVAL', 'bitmap pgsize 0');
  verifyBitmapSize(npages >> ffs64(pgsize), size);
  const data = new Uint8Array(Number(size));
  table.mm.read(ptr, data);
  return { pgsize, size, data };
}

/** vfio_iommu_type1_unmap_dma(): writes back the bytes unmapped in `size`. */
function unmapDma(iommu: VfioIommuType1, table: VfioFdTable, arg: IoctlArg): number {
  const buf = userBuffer(arg, VFIO_IOMMU_TYPE1_DMA_UNMAP_MINSZ, 'vfio_iommu_type1_dma_unmap');
  const dv = userView(buf);
  const withBitmap = VFIO_IOMMU_TYPE1_DMA_UNMAP_MINSZ + VFIO_BITMAP_SIZEOF;
  // The bitmap struct is copied only after the argsz check passed: a short buffer then faults.
  if (dv.getUint32(4, true) & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP && dv.getUint32(0, true) >= withBitmap) {
    userBuffer(buf, withBitmap, 'vfio_iommu_type1_dma_unmap+bitmap');
  }
  const unmap = decodeVfioIommuType1DmaUnmap(buf);
  let bitmap: VfioBitmap | undefined;
  let ptr = 0n;
  if (unmap.bitmap !== undefined) {
    ptr = unmap.bitmap.data;
    bitmap = userBitmap(table, unmap.bitmap.pgsize, unmap.bitmap.size, unmap.size, ptr);
  }
  const unmapped = iommu.unmapDma(bitmap === undefined ? { iova: unmap.iova, size: unmap.size, flags: unmap.flags } : { iova: unmap.iova, size: unmap.size, flags: unmap.flags, bitmap });
  if (bitmap !== undefined) table.mm.write(ptr, bitmap.data);
  dv.setBigUint64(16, unmapped, true);
  return 0;
}

/** vfio_iommu_type1_dirty_pages(): structure checks, then EACCES on a v1 container, then the one operation. */
function dirtyPages(iommu: VfioIommuType1, table: VfioFdTable, arg: IoctlArg): number {
  const buf = userBuffer(arg, VFIO_IOMMU_TYPE1_DIRTY_BITMAP_MINSZ, 'vfio_iommu_type1_dirty_bitmap');
  const dv = userView(buf);
  const argsz = dv.getUint32(0, true);
  const flags = dv.getUint32(4, true);
  const all = VFIO_IOMMU_DIRTY_PAGES_FLAG_START | VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP | VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
  needArgsz(argsz, VFIO_IOMMU_TYPE1_DIRTY_BITMAP_MINSZ, 'vfio_iommu_type1_dirty_bitmap');
  if ((flags & ~all) !== 0 || hweight32(flags) !== 1) throw new VfioError('EINVAL', 'dirty_pages: exactly one known flag');
  if (!iommu.v2) throw new VfioError('EACCES', 'dirty tracking needs TYPE1v2');
  if (flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_START) {
    iommu.dirtyStart();
    return 0;
  }
  if (flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP) {
    iommu.dirtyStop();
    return 0;
  }
  const end = VFIO_IOMMU_TYPE1_DIRTY_BITMAP_MINSZ + VFIO_IOMMU_TYPE1_DIRTY_BITMAP_GET_SIZEOF;
  if (argsz < end) throw new VfioError('EINVAL', 'dirty_pages: GET_BITMAP without a range');
  userBuffer(buf, end, 'vfio_iommu_type1_dirty_bitmap_get');
  const iova = dv.getBigUint64(8, true);
  const size = dv.getBigUint64(16, true);
  if (iova + size > 0xffff_ffff_ffff_ffffn) throw new VfioError('EINVAL', 'dirty_pages: iova + size wraps');
  const ptr = dv.getBigUint64(40, true);
  const bitmap = userBitmap(table, dv.getBigUint64(24, true), dv.getBigUint64(32, true), size, ptr);
  iommu.dirtyGetBitmap(iova, size, bitmap);
  table.mm.write(ptr, bitmap.data);
  return 0;
}
