// The type1 IOMMU's mappings: VFIO_IOMMU_MAP_DMA, VFIO_IOMMU_UNMAP_DMA (with VADDR invalidation and the dirty
// bitmap), telling emulated devices before pinned pages go, and container teardown. Follows vfio_dma_do_map(),
// vfio_dma_do_unmap(), vfio_notify_dma_unmap(), vfio_remove_dma() and vfio_iommu_unmap_unpin_all() in
// drivers/vfio/vfio_iommu_type1.c (with the 2025 overflow fixes).

import { VfioError, check } from '../uapi/errno.js';
import { U64_MAX, isU64 } from './dma-space.js';
import {
  IOMMU_READ, IOMMU_WRITE, VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_VADDR, VFIO_DMA_MAP_FLAG_WRITE, VFIO_DMA_UNMAP_FLAG_ALL,
  VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, VFIO_DMA_UNMAP_FLAG_VADDR, verifyBitmapSize,
  type DmaMapArgs, type DmaUnmapArgs, type VfioBitmap,
} from './iommu-type1-types.js';
import { ffs, hasDomain, hasEmulated, type VfioDma, type VfioIommu } from './type1-state.js';
import { vfioForceUnpin, vfioPinMapDma } from './type1-pin.js';
import { updateUserBitmap, vfioDmaBitmapAlloc } from './type1-dirty.js';

/** VFIO_IOMMU_MAP_DMA (vfio_iommu_type1_map_dma + vfio_dma_do_map). */
export function vfioDmaDoMap(iommu: VfioIommu, map: DmaMapArgs): void {
  const { iova, vaddr, size, flags } = map;
  check((flags & ~(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE | VFIO_DMA_MAP_FLAG_VADDR)) === 0, 'EINVAL', 'unknown map flags');
  check(isU64(iova) && isU64(vaddr) && isU64(size), 'EOVERFLOW', 'field is not a u64');
  const setVaddr = (flags & VFIO_DMA_MAP_FLAG_VADDR) !== 0;
  check(size !== 0n, 'EINVAL', 'zero size');
  const last = iova + size - 1n;
  check(last <= U64_MAX && vaddr + size - 1n <= U64_MAX, 'EOVERFLOW', 'iova or vaddr range wraps');
  let prot = 0;
  if (flags & VFIO_DMA_MAP_FLAG_WRITE) prot |= IOMMU_WRITE;
  if (flags & VFIO_DMA_MAP_FLAG_READ) prot |= IOMMU_READ;
  check(prot !== 0 ? !setVaddr : setVaddr, 'EINVAL', 'need READ/WRITE, or VADDR alone');
  const mask = iommu.pgsize - 1n;
  check(((size | iova | vaddr) & mask) === 0n, 'EINVAL', 'not aligned to the minimum page size');

  const found = iommu.dmaList.findFirst(iova, last);
  if (setVaddr) {
    check(found !== undefined, 'ENOENT', 'no mapping to update');
    check(found.vaddrInvalid && found.start === iova && found.size === size, 'EINVAL', 'VADDR update must match an invalidated mapping');
    found.vaddr = vaddr;
    found.vaddrInvalid = false;
    iommu.vaddrInvalidCount--;
    return;
  }
  check(found === undefined, 'EEXIST', 'overlaps an existing mapping');
  check(iommu.dmaAvail > 0, 'ENOSPC', 'DMA entry limit reached');
  check(iovaValid(iommu, iova, last), 'EINVAL', 'outside the valid IOVA ranges');

  const dma: VfioDma = { start: iova, last, size, vaddr, prot, iommuMapped: false, vaddrInvalid: false, pfns: new Map(), bitmap: null };
  iommu.dmaList.insert(dma);
  iommu.dmaAvail--;
  try {
    // Without an IOMMU domain nothing is pinned until an emulated device asks.
    if (hasDomain(iommu)) {
      vfioPinMapDma(iommu, dma);
      dma.iommuMapped = true;
    }
    if (iommu.dirtyPageTracking) dma.bitmap = vfioDmaBitmapAlloc(iommu, dma);
  } catch (err) {
    releaseDma(iommu, dma);
    iommu.dmaList.remove(dma);
    throw err;
  }
}

/** VFIO_IOMMU_UNMAP_DMA (vfio_iommu_type1_unmap_dma + vfio_dma_do_unmap); returns the bytes unmapped. */
export function vfioDmaDoUnmap(iommu: VfioIommu, unmap: DmaUnmapArgs): bigint {
  const { flags } = unmap;
  const getBitmap = (flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) !== 0;
  const unmapAll = (flags & VFIO_DMA_UNMAP_FLAG_ALL) !== 0;
  const invalidateVaddr = (flags & VFIO_DMA_UNMAP_FLAG_VADDR) !== 0;
  check((flags & ~(VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR)) === 0, 'EINVAL', 'unknown unmap flags');
  check(!(getBitmap && (unmapAll || invalidateVaddr)), 'EINVAL', 'GET_DIRTY_BITMAP cannot combine with ALL or VADDR');
  let bitmap: VfioBitmap | undefined;
  if (getBitmap) {
    bitmap = unmap.bitmap;
    check(bitmap !== undefined, 'EINVAL', 'GET_DIRTY_BITMAP without a bitmap');
    check(bitmap.pgsize > 0n && BigInt(bitmap.data.length) >= bitmap.size, 'EINVAL', 'bad user bitmap');
    verifyBitmapSize(unmap.size >> ffs(bitmap.pgsize), bitmap.size);
  }
  check(isU64(unmap.iova) && isU64(unmap.size), 'EOVERFLOW', 'field is not a u64');
  check(!(invalidateVaddr && hasEmulated(iommu)), 'EBUSY', 'cannot update vaddr with mdevs present');
  const iova = unmap.iova;
  const mask = iommu.pgsize - 1n;
  check((iova & mask) === 0n, 'EINVAL', 'iova not aligned');
  let last: bigint;
  if (unmapAll) {
    check(iova === 0n && unmap.size === 0n, 'EINVAL', 'UNMAP_ALL needs iova and size 0');
    last = U64_MAX;
  } else {
    check(unmap.size !== 0n && (unmap.size & mask) === 0n, 'EINVAL', 'size zero or not aligned');
    last = iova + unmap.size - 1n;
    check(last <= U64_MAX, 'EOVERFLOW', 'iova + size wraps');
  }
  check(!getBitmap || (iommu.dirtyPageTracking && bitmap?.pgsize === iommu.pgsize), 'EINVAL', 'dirty bitmap needs tracking and the minimum page size');

  const list = iommu.dmaList;
  let unmapped = 0n;
  let lastNotified: VfioDma | undefined;
  for (;;) {
    // v1 coalesced mappings and let any range be attempted; v2 must not bisect a mapping.
    if (iommu.v2 && !unmapAll) {
      const head = list.find(iova);
      check(head === undefined || head.start === iova, 'EINVAL', 'unmap would bisect a mapping');
      const tail = list.find(last);
      check(tail === undefined || tail.last === last, 'EINVAL', 'unmap would bisect a mapping');
    }
    const first = list.lowerBound(iova);
    let i = first;
    let notify: VfioDma | undefined;
    try {
      for (let dma = list.at(i); dma !== undefined; dma = list.at(++i)) {
        if (dma.start > last) break;
        if (!iommu.v2 && iova > dma.start) break;
        if (invalidateVaddr) {
          if (dma.vaddrInvalid) {
            // Roll back what this call invalidated.
            for (let j = first; j < i; j++) {
              const undone = list.at(j);
              if (undone === undefined) continue;
              undone.vaddrInvalid = false;
              iommu.vaddrInvalidCount--;
            }
            throw new VfioError('EINVAL', 'vaddr already invalid');
          }
          dma.vaddrInvalid = true;
          iommu.vaddrInvalidCount++;
          unmapped += dma.size;
          continue;
        }
        if (dma.pfns.size > 0) {
          notify = dma;
          break;
        }
        if (bitmap !== undefined) updateUserBitmap(iommu, bitmap.data, dma, iova);
        unmapped += dma.size;
        releaseDma(iommu, dma);
      }
    } finally {
      if (!invalidateVaddr) list.removeAt(first, i - first);
    }
    if (notify === undefined) return unmapped;
    if (notify === lastNotified) vfioForceUnpin(iommu, notify);
    lastNotified = notify;
    notifyDmaUnmap(iommu, notify);
  }
}

/** Container teardown (vfio_iommu_unmap_unpin_all), telling emulated devices first; returns the bytes unmapped. */
export function vfioIommuUnmapAll(iommu: VfioIommu): bigint {
  let total = 0n;
  for (const dma of iommu.dmaList) {
    if (dma.pfns.size > 0) notifyDmaUnmap(iommu, dma);
    if (dma.pfns.size > 0) vfioForceUnpin(iommu, dma);
  }
  for (const dma of iommu.dmaList) total += dma.size;
  vfioIommuUnmapUnpinAll(iommu);
  return total;
}

/** vfio_iommu_unmap_unpin_all(): every mapping goes, without telling anyone (the last group has left). */
export function vfioIommuUnmapUnpinAll(iommu: VfioIommu): void {
  for (const dma of iommu.dmaList) releaseDma(iommu, dma);
  iommu.dmaList.clear();
}

/** vfio_iommu_iova_dma_valid(): [start, last] lies in one range of the IOVA list. */
function iovaValid(iommu: VfioIommu, start: bigint, last: bigint): boolean {
  // An empty list (a container with only mdevs) allows everything.
  if (iommu.iovaList.length === 0) return true;
  return iommu.iovaList.some((r) => start >= r.start && last <= r.end);
}

/** vfio_notify_dma_unmap(): every registered emulated device hears about the whole mapping. */
function notifyDmaUnmap(iommu: VfioIommu, dma: VfioDma): void {
  for (const device of [...iommu.devices]) device.dmaUnmap(dma.start, dma.size);
}

/** vfio_remove_dma() minus the unlink (the caller splices the list). */
function releaseDma(iommu: VfioIommu, dma: VfioDma): void {
  if (dma.pfns.size > 0) iommu.log.warn({ iova: dma.start }, 'vfio type1: removing a mapping with pinned pages');
  dma.bitmap = null;
  if (dma.vaddrInvalid) iommu.vaddrInvalidCount--;
  iommu.dmaAvail++;
}
