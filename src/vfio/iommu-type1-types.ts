// Typed values, flag numbers and limits of the VFIO type1 IOMMU, shared by the model and the container file objects.
// Follows the type1 section of include/uapi/linux/vfio.h and the constants of drivers/vfio/vfio_iommu_type1.c.

import { check } from '../uapi/errno.js';
import { dirtyBitmapBytes } from './dirty-bitmap.js';
import type { Logger } from '../base/log.js';
import { U64_MAX, type DmaSegment, type UserAddressSpace } from './dma-space.js';

// uAPI flag numbers come from src/uapi/iommu-type1.ts (re-exported here for the model's users).
export {
  VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE, VFIO_DMA_MAP_FLAG_VADDR, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, VFIO_DMA_UNMAP_FLAG_ALL, VFIO_DMA_UNMAP_FLAG_VADDR, VFIO_IOMMU_INFO_PGSIZES, VFIO_IOMMU_INFO_CAPS, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL,
} from '../uapi/iommu-type1.js';
import { VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL } from '../uapi/iommu-type1.js';
/** Device-side permissions (include/linux/iommu.h). */
export const IOMMU_READ = 1 << 0;
export const IOMMU_WRITE = 1 << 1;

export const PAGE_SIZE = 4096;
/** The pgsize bitmap of a container without IOMMU domains: every size from PAGE_SIZE up (PAGE_MASK). */
export const PAGE_MASK = U64_MAX & ~BigInt(PAGE_SIZE - 1);
/** dma_entry_limit module parameter default (U16_MAX). */
export const DMA_ENTRY_LIMIT = 65535;
/** bitmap_set() takes an int: at most INT_MAX pages per bitmap. */
export const DIRTY_BITMAP_PAGES_MAX = 2 ** 31 - 1;
/** 256 MiB: the bitmap for DIRTY_BITMAP_PAGES_MAX pages. */
export const DIRTY_BITMAP_SIZE_MAX = BigInt(dirtyBitmapBytes(DIRTY_BITMAP_PAGES_MAX));
/** VFIO_PIN_PAGES_MAX_ENTRIES: one page of unsigned longs. */
export const VFIO_PIN_PAGES_MAX_ENTRIES = PAGE_SIZE / 8;

/** An emulated-IOMMU device user (an mdev or vfio-user device): its ops.dma_unmap. */
export interface DmaUnmapListener {
  /** Called before [iova, iova + length) is unmapped; the device must unpin its pages in it. */
  dmaUnmap(iova: bigint, length: bigint): void;
}

export type IommuGroupType = 'emulated' | 'iommu';

export interface IovaRange {
  readonly start: bigint;
  /** Inclusive. */
  readonly end: bigint;
}

export interface VfioBitmap {
  /** Page size one bit stands for. */
  readonly pgsize: bigint;
  /** Size of the user bitmap in bytes. */
  readonly size: bigint;
  /** The user bitmap (at least `size` bytes), written like copy_to_user(). */
  readonly data: Uint8Array;
}

export interface DmaMapArgs {
  readonly iova: bigint;
  readonly vaddr: bigint;
  readonly size: bigint;
  readonly flags: number;
}

export interface DmaUnmapArgs {
  readonly iova: bigint;
  readonly size: bigint;
  readonly flags: number;
  readonly bitmap?: VfioBitmap;
}

export type Type1InfoCap =
  | { readonly id: typeof VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION; readonly version: 1; readonly flags: number; readonly pgsizeBitmap: bigint; readonly maxDirtyBitmapSize: bigint }
  | { readonly id: typeof VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL; readonly version: 1; readonly avail: number }
  | { readonly id: typeof VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE; readonly version: 1; readonly ranges: readonly IovaRange[] };

/** VFIO_IOMMU_GET_INFO as typed values; the caps are in the kernel's chain order. */
export interface Type1Info {
  readonly flags: number;
  readonly iovaPgsizes: bigint;
  readonly caps: readonly Type1InfoCap[];
}

/** A pinned page as an emulated device sees it: where its bytes live. */
export interface PinnedPage {
  readonly iova: bigint;
  readonly segments: readonly DmaSegment[];
}

export interface VfioIommuType1Options {
  /** TYPE1v2 semantics (default true); false is the v1 VFIO_TYPE1_IOMMU. */
  readonly v2?: boolean;
  /** Supported IOMMU page sizes; the lowest set bit is the map granularity. Default PAGE_MASK. */
  readonly pgsizeBitmap?: bigint;
  /** Maximum number of mappings (default 65535). */
  readonly dmaEntryLimit?: number;
  /** IOMMU aperture applied when the first IOMMU-backed group attaches (default the whole u64 space). */
  readonly aperture?: IovaRange;
  /** Reserved regions excluded from the IOVA list with an IOMMU-backed group (default the x86 MSI window). */
  readonly reservedRegions?: readonly IovaRange[];
  /** The process whose memory MAP_DMA vaddrs refer to. */
  readonly mm?: UserAddressSpace;
  readonly logger?: Logger;
}

/** x86's IOMMU_RESV_MSI region. */
export const X86_MSI_RESERVED: IovaRange = Object.freeze({ start: 0xfee00000n, end: 0xfeefffffn });

/** verify_bitmap_size(). */
export function verifyBitmapSize(npages: bigint, bitmapSize: bigint): void {
  check(npages !== 0n && bitmapSize !== 0n && bitmapSize <= DIRTY_BITMAP_SIZE_MAX, 'EINVAL', 'bad bitmap size');
  check(bitmapSize >= ((npages + 63n) / 64n) * 8n, 'EINVAL', 'bitmap too small');
}

/** vfio_iommu_aper_resize(): `ranges` cut to [start, end]. */
export function clampRanges(ranges: readonly IovaRange[], start: bigint, end: bigint): IovaRange[] {
  const out: IovaRange[] = [];
  for (const r of ranges) {
    const s = r.start > start ? r.start : start;
    const e = r.end < end ? r.end : end;
    if (s <= e) out.push({ start: s, end: e });
  }
  return out;
}

/** vfio_iommu_resv_exclude(): `ranges` minus `holes`, kept sorted. */
export function excludeRanges(ranges: readonly IovaRange[], holes: readonly IovaRange[]): IovaRange[] {
  let out = [...ranges];
  for (const h of holes) {
    const next: IovaRange[] = [];
    for (const r of out) {
      if (h.start > r.end || h.end < r.start) {
        next.push(r);
        continue;
      }
      if (h.start > r.start) next.push({ start: r.start, end: h.start - 1n });
      if (h.end < r.end) next.push({ start: h.end + 1n, end: r.end });
    }
    out = next;
  }
  return out;
}
