// Dirty-page tracking of the type1 IOMMU: VFIO_IOMMU_DIRTY_PAGES START/STOP/GET_BITMAP, the per-mapping bitmaps
// and the copy into the user's bitmap. Follows vfio_iommu_type1_dirty_pages(), vfio_dma_bitmap_alloc_all(),
// vfio_iova_dirty_bitmap(), update_user_bitmap() and vfio_dma_populate_bitmap() in drivers/vfio/vfio_iommu_type1.c.

import { check } from '../uapi/errno.js';
import { DirtyBitmap } from './dirty-bitmap.js';
import { U64_MAX, isU64 } from './dma-space.js';
import { DIRTY_BITMAP_PAGES_MAX, verifyBitmapSize, type VfioBitmap } from './iommu-type1-types.js';
import { ffs, pagesOf, type VfioDma, type VfioIommu } from './type1-state.js';

/** vfio_dma_bitmap_alloc(): a bitmap for the whole mapping with its pinned pages marked. */
export function vfioDmaBitmapAlloc(iommu: VfioIommu, dma: VfioDma): DirtyBitmap {
  const npages = pagesOf(iommu, dma.size);
  check(npages <= DIRTY_BITMAP_PAGES_MAX, 'EINVAL', 'mapping too large for a dirty bitmap');
  const bitmap = new DirtyBitmap(npages);
  fillFromPins(iommu, dma, bitmap);
  return bitmap;
}

/** Marks [offset, offset + length) of a mapping dirty while tracking is on (a dma_rw write, a new pin). */
export function vfioDmaMarkDirty(iommu: VfioIommu, dma: VfioDma, offset: bigint, length: bigint): void {
  if (!iommu.dirtyPageTracking || dma.bitmap === null) return;
  const firstPage = Number(offset >> iommu.pgshift);
  const lastPage = Number((offset + length - 1n) >> iommu.pgshift);
  dma.bitmap.setRange(firstPage, lastPage - firstPage + 1);
}

/** Marks every tracked mapping wholly dirty (a group that could dirty memory directly has left). */
export function vfioIommuMarkAllDirty(iommu: VfioIommu): void {
  if (!iommu.dirtyPageTracking) return;
  for (const dma of iommu.dmaList) dma.bitmap?.setRange(0, pagesOf(iommu, dma.size));
}

/** VFIO_IOMMU_DIRTY_PAGES_FLAG_START: a bitmap for every mapping, all or none. */
export function vfioIommuDirtyStart(iommu: VfioIommu): void {
  check(iommu.v2, 'EACCES', 'dirty tracking needs TYPE1v2');
  if (iommu.dirtyPageTracking) return;
  const done: VfioDma[] = [];
  try {
    for (const dma of iommu.dmaList) {
      dma.bitmap = vfioDmaBitmapAlloc(iommu, dma);
      done.push(dma);
    }
  } catch (err) {
    for (const dma of done) dma.bitmap = null;
    throw err;
  }
  iommu.dirtyPageTracking = true;
}

/** VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP. */
export function vfioIommuDirtyStop(iommu: VfioIommu): void {
  check(iommu.v2, 'EACCES', 'dirty tracking needs TYPE1v2');
  if (!iommu.dirtyPageTracking) return;
  iommu.dirtyPageTracking = false;
  for (const dma of iommu.dmaList) dma.bitmap = null;
}

/** VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP (vfio_iova_dirty_bitmap): writes the bitmap of [iova, iova + size) into `bitmap.data`. */
export function vfioIovaDirtyBitmap(iommu: VfioIommu, iova: bigint, size: bigint, bitmap: VfioBitmap): void {
  check(iommu.v2, 'EACCES', 'dirty tracking needs TYPE1v2');
  check(isU64(iova) && isU64(size), 'EOVERFLOW', 'field is not a u64');
  check(size !== 0n, 'EINVAL', 'zero size');
  const last = iova + size - 1n;
  check(last <= U64_MAX, 'EOVERFLOW', 'iova + size wraps');
  check(bitmap.pgsize > 0n && BigInt(bitmap.data.length) >= bitmap.size, 'EINVAL', 'bad user bitmap');
  verifyBitmapSize(size >> ffs(bitmap.pgsize), bitmap.size);
  const mask = iommu.pgsize - 1n;
  check(bitmap.pgsize === iommu.pgsize, 'EINVAL', 'only the minimum page size is supported');
  check((iova & mask) === 0n && (size & mask) === 0n, 'EINVAL', 'range not aligned');
  check(iommu.dirtyPageTracking, 'EINVAL', 'dirty tracking is not started');
  // The range must fully cover the mappings it touches.
  const list = iommu.dmaList;
  const head = list.find(iova);
  check(head === undefined || head.start === iova, 'EINVAL', 'range bisects a mapping');
  const tail = list.find(last);
  check(tail === undefined || tail.last === last, 'EINVAL', 'range bisects a mapping');
  for (let i = list.lowerBound(iova), dma = list.at(i); dma !== undefined && dma.start <= last; dma = list.at(++i)) {
    updateUserBitmap(iommu, bitmap.data, dma, iova);
    // Pinned pages stay dirty; dma_rw writes and unpinned pages are reported once.
    populateBitmap(iommu, dma);
  }
}

/** update_user_bitmap(): the mapping's bits into the user bitmap whose bit 0 is `baseIova`. */
export function updateUserBitmap(iommu: VfioIommu, data: Uint8Array, dma: VfioDma, baseIova: bigint): void {
  const bitmap = dma.bitmap;
  if (bitmap === null) throw new Error('update_user_bitmap without a bitmap');
  // An IOMMU-backed device that never declared its dirty scope may have written anything it maps.
  if (iommu.numNonPinnedGroups > 0 && dma.iommuMapped) bitmap.setRange(0, bitmap.nbits);
  bitmap.copyToUser(data, Number((dma.start - baseIova) >> iommu.pgshift));
}

/** vfio_dma_populate_bitmap(): clear, then mark the pinned pages. */
function populateBitmap(iommu: VfioIommu, dma: VfioDma): void {
  if (dma.bitmap === null) return;
  dma.bitmap.clearAll();
  fillFromPins(iommu, dma, dma.bitmap);
}

function fillFromPins(iommu: VfioIommu, dma: VfioDma, bitmap: DirtyBitmap): void {
  for (const pageIova of dma.pfns.keys()) bitmap.setRange(Number((pageIova - dma.start) >> iommu.pgshift), 1);
}
