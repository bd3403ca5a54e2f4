// Type1 IOMMU structs: vfio_iommu_type1_info and its caps, dma_map, dma_unmap (+ vfio_bitmap), dirty_bitmap (include/uapi/linux/vfio.h, drivers/vfio/vfio_iommu_type1.c checks).
import { VfioError } from './errno.js';
import { hweight32, needArgsz, needBytes, needKnownFlags, optU32, outBuffer, viewOf } from './codec.js';
import { encodeVfioInfoWithCaps } from './caps.js';
import type { VfioInfoCap } from './caps.js';

export const VFIO_IOMMU_INFO_PGSIZES = 1 << 0;
export const VFIO_IOMMU_INFO_CAPS = 1 << 1;
export const VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE = 1;
export const VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION = 2;
export const VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL = 3;

/** struct vfio_iommu_type1_info: argsz @0, flags @4, iova_pgsizes u64 @8, cap_offset @16, pad @20. */
export interface VfioIommuType1Info {
  argsz: number;
  flags: number;
  iovaPgsizes: bigint;
  capOffset: number;
}
export const VFIO_IOMMU_TYPE1_INFO_SIZEOF = 24;
/** offsetofend(iova_pgsizes); callers passing at least offsetofend(cap_offset) = 20 get cap_offset back. */
export const VFIO_IOMMU_TYPE1_INFO_MINSZ = 16;
export const VFIO_IOMMU_TYPE1_INFO_CAPSZ = 20;

export function decodeVfioIommuType1Info(buf: Uint8Array): VfioIommuType1Info {
  needBytes(buf, VFIO_IOMMU_TYPE1_INFO_MINSZ, 'vfio_iommu_type1_info');
  const dv = viewOf(buf);
  const argsz = dv.getUint32(0, true);
  needArgsz(argsz, VFIO_IOMMU_TYPE1_INFO_MINSZ, 'vfio_iommu_type1_info');
  return { argsz, flags: dv.getUint32(4, true), iovaPgsizes: dv.getBigUint64(8, true), capOffset: optU32(dv, 16) };
}

export function encodeVfioIommuType1Info(x: VfioIommuType1Info, into?: Uint8Array): Uint8Array {
  const out = outBuffer(VFIO_IOMMU_TYPE1_INFO_SIZEOF, into, 'vfio_iommu_type1_info');
  const dv = viewOf(out);
  dv.setUint32(0, x.argsz, true);
  dv.setUint32(4, x.flags, true);
  dv.setBigUint64(8, x.iovaPgsizes, true);
  dv.setUint32(16, x.capOffset, true);
  dv.setUint32(20, 0, true);
  return out;
}

/**
 * The GET_INFO reply as vfio_iommu_type1_get_info() builds it: caps under the argsz rule, and only
 * 16 bytes (argsz < 20) or 20 bytes (argsz < 24) of the fixed struct when the caller's is shorter.
 */
export function encodeVfioIommuType1InfoWithCaps(x: VfioIommuType1Info, caps: readonly VfioInfoCap[]): Uint8Array {
  const out = encodeVfioInfoWithCaps(x, VFIO_IOMMU_INFO_CAPS, VFIO_IOMMU_TYPE1_INFO_SIZEOF, caps, encodeVfioIommuType1Info);
  if (x.argsz >= VFIO_IOMMU_TYPE1_INFO_SIZEOF) return out;
  return out.subarray(0, x.argsz >= VFIO_IOMMU_TYPE1_INFO_CAPSZ ? VFIO_IOMMU_TYPE1_INFO_CAPSZ : VFIO_IOMMU_TYPE1_INFO_MINSZ);
}

/** struct vfio_iova_range: start u64, end u64 (inclusive). */
export interface VfioIovaRange {
  start: bigint;
  end: bigint;
}

/** IOVA_RANGE cap (version 1): nr_iovas @8, reserved @12, iova_ranges[] of 16 bytes @16. */
export function vfioIommuType1CapIovaRange(ranges: readonly VfioIovaRange[]): VfioInfoCap {
  const data = new Uint8Array(8 + ranges.length * 16);
  const dv = viewOf(data);
  dv.setUint32(0, ranges.length, true);
  ranges.forEach((r, i) => {
    dv.setBigUint64(8 + i * 16, r.start, true);
    dv.setBigUint64(16 + i * 16, r.end, true);
  });
  return { id: VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, version: 1, data };
}

export function decodeVfioIommuType1CapIovaRange(data: Uint8Array): VfioIovaRange[] {
  needBytes(data, 8, 'vfio_iommu_type1_info_cap_iova_range');
  const dv = viewOf(data);
  const n = dv.getUint32(0, true);
  if (8 + n * 16 > data.byteLength) {
    throw new VfioError('EINVAL', `vfio_iommu_type1_info_cap_iova_range: ${n} ranges overrun ${data.byteLength} bytes`);
  }
  const out: VfioIovaRange[] = [];
  for (let i = 0; i < n; i++) {
    out.push({ start: dv.getBigUint64(8 + i * 16, true), end: dv.getBigUint64(16 + i * 16, true) });
  }
  return out;
}

/** vfio_iommu_type1_info_cap_migration: flags @8, pgsize_bitmap u64 @16, max_dirty_bitmap_size u64 @24 (32 bytes). */
export interface VfioIommuType1CapMigration {
  flags: number;
  pgsizeBitmap: bigint;
  maxDirtyBitmapSize: bigint;
}
export const VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION_SIZEOF = 32;

export function vfioIommuType1CapMigration(x: VfioIommuType1CapMigration): VfioInfoCap {
  const data = new Uint8Array(VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION_SIZEOF - 8);
  const dv = viewOf(data);
  dv.setUint32(0, x.flags, true);
  dv.setBigUint64(8, x.pgsizeBitmap, true);
  dv.setBigUint64(16, x.maxDirtyBitmapSize, true);
  return { id: VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, version: 1, data };
}

export function decodeVfioIommuType1CapMigration(data: Uint8Array): VfioIommuType1CapMigration {
  needBytes(data, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION_SIZEOF - 8, 'vfio_iommu_type1_info_cap_migration');
  const dv = viewOf(data);
  return { flags: dv.getUint32(0, true), pgsizeBitmap: dv.getBigUint64(8, true), maxDirtyBitmapSize: dv.getBigUint64(16, true) };
}

/** vfio_iommu_type1_info_dma_avail: avail @8 (sizeof 12: the kernel adds it last, unpadded). */
export const VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL_SIZEOF = 12;

export function vfioIommuType1CapDmaAvail(avail: number): VfioInfoCap {
  const data = new Uint8Array(4);
  viewOf(data).setUint32(0, avail, true);
  return { id: VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, version: 1, data };
}

export function decodeVfioIommuType1CapDmaAvail(data: Uint8Array): number {
  needBytes(data, 4, 'vfio_iommu_type1_info_dma_avail');
  return viewOf(data).getUint32(0, true);
}

export const VFIO_DMA_MAP_FLAG_READ = 1 << 0;
export const VFIO_DMA_MAP_FLAG_WRITE = 1 << 1;
export const VFIO_DMA_MAP_FLAG_VADDR = 1 << 2;

/** struct vfio_iommu_type1_dma_map: argsz @0, flags @4, vaddr u64 @8, iova u64 @16, size u64 @24. */
export interface VfioIommuType1DmaMap {
  argsz: number;
  flags: number;
  vaddr: bigint;
  iova: bigint;
  size: bigint;
}
export const VFIO_IOMMU_TYPE1_DMA_MAP_SIZEOF = 32;
/** offsetofend(struct vfio_iommu_type1_dma_map, size). */
export const VFIO_IOMMU_TYPE1_DMA_MAP_MINSZ = 32;

/** argsz < 32 or flags outside READ|WRITE|VADDR is EINVAL (vfio_iommu_type1_map_dma). */
export function decodeVfioIommuType1DmaMap(buf: Uint8Array): VfioIommuType1DmaMap {
  needBytes(buf, VFIO_IOMMU_TYPE1_DMA_MAP_MINSZ, 'vfio_iommu_type1_dma_map');
  const dv = viewOf(buf);
  const argsz = dv.getUint32(0, true);
  needArgsz(argsz, VFIO_IOMMU_TYPE1_DMA_MAP_MINSZ, 'vfio_iommu_type1_dma_map');
  const flags = dv.getUint32(4, true);
  needKnownFlags(flags, VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE | VFIO_DMA_MAP_FLAG_VADDR, 'vfio_iommu_type1_dma_map');
  return { argsz, flags, vaddr: dv.getBigUint64(8, true), iova: dv.getBigUint64(16, true), size: dv.getBigUint64(24, true) };
}

export function encodeVfioIommuType1DmaMap(x: VfioIommuType1DmaMap, into?: Uint8Array): Uint8Array {
  const out = outBuffer(VFIO_IOMMU_TYPE1_DMA_MAP_SIZEOF, into, 'vfio_iommu_type1_dma_map');
  const dv = viewOf(out);
  dv.setUint32(0, x.argsz, true);
  dv.setUint32(4, x.flags, true);
  dv.setBigUint64(8, x.vaddr, true);
  dv.setBigUint64(16, x.iova, true);
  dv.setBigUint64(24, x.size, true);
  return out;
}

/** struct vfio_bitmap: pgsize u64 @0, size u64 @8 (bytes), data u64 @16 (a user pointer). */
export interface VfioBitmap {
  pgsize: bigint;
  size: bigint;
  data: bigint;
}
export const VFIO_BITMAP_SIZEOF = 24;

function readBitmap(dv: DataView, off: number): VfioBitmap {
  return { pgsize: dv.getBigUint64(off, true), size: dv.getBigUint64(off + 8, true), data: dv.getBigUint64(off + 16, true) };
}
function writeBitmap(dv: DataView, off: number, b: VfioBitmap): void {
  dv.setBigUint64(off, b.pgsize, true);
  dv.setBigUint64(off + 8, b.size, true);
  dv.setBigUint64(off + 16, b.data, true);
}

export const VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP = 1 << 0;
export const VFIO_DMA_UNMAP_FLAG_ALL = 1 << 1;
export const VFIO_DMA_UNMAP_FLAG_VADDR = 1 << 2;

/** struct vfio_iommu_type1_dma_unmap: argsz @0, flags @4, iova u64 @8, size u64 @16, data[] @24 (a vfio_bitmap). */
export interface VfioIommuType1DmaUnmap {
  argsz: number;
  flags: number;
  iova: bigint;
  size: bigint;
  /** Present iff flags has GET_DIRTY_BITMAP. */
  bitmap?: VfioBitmap;
}
export const VFIO_IOMMU_TYPE1_DMA_UNMAP_SIZEOF = 24;
/** offsetofend(struct vfio_iommu_type1_dma_unmap, size). */
export const VFIO_IOMMU_TYPE1_DMA_UNMAP_MINSZ = 24;

/**
 * vfio_iommu_type1_unmap_dma()'s structural checks, all EINVAL: argsz < 24, unknown flags,
 * GET_DIRTY_BITMAP with ALL or VADDR, and GET_DIRTY_BITMAP with argsz < 24 + sizeof(vfio_bitmap).
 */
export function decodeVfioIommuType1DmaUnmap(buf: Uint8Array): VfioIommuType1DmaUnmap {
  needBytes(buf, VFIO_IOMMU_TYPE1_DMA_UNMAP_MINSZ, 'vfio_iommu_type1_dma_unmap');
  const dv = viewOf(buf);
  const argsz = dv.getUint32(0, true);
  needArgsz(argsz, VFIO_IOMMU_TYPE1_DMA_UNMAP_MINSZ, 'vfio_iommu_type1_dma_unmap');
  const flags = dv.getUint32(4, true);
  needKnownFlags(
    flags,
    VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR,
    'vfio_iommu_type1_dma_unmap',
  );
  const x: VfioIommuType1DmaUnmap = { argsz, flags, iova: dv.getBigUint64(8, true), size: dv.getBigUint64(16, true) };
  if (flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) {
    if (flags & (VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR)) {
      throw new VfioError('EINVAL', 'vfio_iommu_type1_dma_unmap: GET_DIRTY_BITMAP cannot combine with ALL or VADDR');
    }
    needArgsz(argsz, VFIO_IOMMU_TYPE1_DMA_UNMAP_MINSZ + VFIO_BITMAP_SIZEOF, 'vfio_iommu_type1_dma_unmap+bitmap');
    needBytes(buf, VFIO_IOMMU_TYPE1_DMA_UNMAP_MINSZ + VFIO_BITMAP_SIZEOF, 'vfio_iommu_type1_dma_unmap+bitmap');
    x.bitmap = readBitmap(dv, VFIO_IOMMU_TYPE1_DMA_UNMAP_MINSZ);
  }
  return x;
}

export function encodeVfioIommuType1DmaUnmap(x: VfioIommuType1DmaUnmap, into?: Uint8Array): Uint8Array {
  const size = VFIO_IOMMU_TYPE1_DMA_UNMAP_SIZEOF + (x.bitmap === undefined ? 0 : VFIO_BITMAP_SIZEOF);
  const out = outBuffer(size, into, 'vfio_iommu_type1_dma_unmap');
  const dv = viewOf(out);
  dv.setUint32(0, x.argsz, true);
  dv.setUint32(4, x.flags, true);
  dv.setBigUint64(8, x.iova, true);
  dv.setBigUint64(16, x.size, true);
  if (x.bitmap !== undefined) writeBitmap(dv, VFIO_IOMMU_TYPE1_DMA_UNMAP_SIZEOF, x.bitmap);
  return out;
}

export const VFIO_IOMMU_DIRTY_PAGES_FLAG_START = 1 << 0;
export const VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP = 1 << 1;
export const VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP = 1 << 2;

/** struct vfio_iommu_type1_dirty_bitmap_get: iova u64 @0, size u64 @8, bitmap @16 (40 bytes). */
export interface VfioIommuType1DirtyBitmapGet {
  iova: bigint;
  size: bigint;
  bitmap: VfioBitmap;
}
export const VFIO_IOMMU_TYPE1_DIRTY_BITMAP_GET_SIZEOF = 40;

/** struct vfio_iommu_type1_dirty_bitmap: argsz @0, flags @4, data[] @8 (a dirty_bitmap_get for GET_BITMAP). */
export interface VfioIommuType1DirtyBitmap {
  argsz: number;
  flags: number;
  /** Present iff flags is GET_BITMAP. */
  range?: VfioIommuType1DirtyBitmapGet;
}
export const VFIO_IOMMU_TYPE1_DIRTY_BITMAP_SIZEOF = 8;
/** offsetofend(struct vfio_iommu_type1_dirty_bitmap, flags). */
export const VFIO_IOMMU_TYPE1_DIRTY_BITMAP_MINSZ = 8;

/**
 * vfio_iommu_type1_dirty_pages()'s structural checks, all EINVAL: argsz < 8, unknown flags, not exactly
 * one of START/STOP/GET_BITMAP, and GET_BITMAP with argsz - 8 < sizeof(vfio_iommu_type1_dirty_bitmap_get).
 */
export function decodeVfioIommuType1DirtyBitmap(buf: Uint8Array): VfioIommuType1DirtyBitmap {
  needBytes(buf, VFIO_IOMMU_TYPE1_DIRTY_BITMAP_MINSZ, 'vfio_iommu_type1_dirty_bitmap');
  const dv = viewOf(buf);
  const argsz = dv.getUint32(0, true);
  needArgsz(argsz, VFIO_IOMMU_TYPE1_DIRTY_BITMAP_MINSZ, 'vfio_iommu_type1_dirty_bitmap');
  const flags = dv.getUint32(4, true);
  const all = VFIO_IOMMU_DIRTY_PAGES_FLAG_START | VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP | VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
  needKnownFlags(flags, all, 'vfio_iommu_type1_dirty_bitmap');
  if (hweight32(flags) !== 1) throw new VfioError('EINVAL', 'vfio_iommu_type1_dirty_bitmap: exactly one flag must be set');
  const x: VfioIommuType1DirtyBitmap = { argsz, flags };
  if (flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP) {
    const end = VFIO_IOMMU_TYPE1_DIRTY_BITMAP_MINSZ + VFIO_IOMMU_TYPE1_DIRTY_BITMAP_GET_SIZEOF;
    needArgsz(argsz, end, 'vfio_iommu_type1_dirty_bitmap+get');
    needBytes(buf, end, 'vfio_iommu_type1_dirty_bitmap+get');
    x.range = { iova: dv.getBigUint64(8, true), size: dv.getBigUint64(16, true), bitmap: readBitmap(dv, 24) };
  }
  return x;
}

export function encodeVfioIommuType1DirtyBitmap(x: VfioIommuType1DirtyBitmap, into?: Uint8Array): Uint8Array {
  const size = VFIO_IOMMU_TYPE1_DIRTY_BITMAP_SIZEOF + (x.range === undefined ? 0 : VFIO_IOMMU_TYPE1_DIRTY_BITMAP_GET_SIZEOF);
  const out = outBuffer(size, into, 'vfio_iommu_type1_dirty_bitmap');
  const dv = viewOf(out);
  dv.setUint32(0, x.argsz, true);
  dv.setUint32(4, x.flags, true);
  if (x.range !== undefined) {
    dv.setBigUint64(8, x.range.iova, true);
    dv.setBigUint64(16, x.range.size, true);
    writeBitmap(dv, 24, x.range.bitmap);
  }
  return out;
}
