// Pinning and access of the type1 IOMMU: the emulated-device interfaces (vfio_pin_pages, vfio_unpin_pages,
// vfio_dma_rw) and an IOMMU domain's pin of whole mappings. Follows vfio_iommu_type1_pin_pages(),
// vfio_iommu_type1_unpin_pages(), vfio_iommu_type1_dma_rw() and vfio_pin_map_dma() in drivers/vfio/vfio_iommu_type1.c.

import { check } from '../uapi/errno.js';
import { U64_MAX, isU64, type DmaSegment } from './dma-space.js';
import { IOMMU_READ, IOMMU_WRITE, PAGE_SIZE, VFIO_PIN_PAGES_MAX_ENTRIES, type PinnedPage } from './iommu-type1-types.js';
import type { VfioDma, VfioIommu } from './type1-state.js';
import { vfioDmaMarkDirty } from './type1-dirty.js';

/** vfio_pin_pages(): pins `npage` pages from `iova`; `group` is the pinning device's group (promotes its dirty scope). */
export function vfioIommuType1PinPages(iommu: VfioIommu, iova: bigint, npage: number, prot: number, group?: object): PinnedPage[] {
  check(Number.isInteger(npage) && npage > 0, 'EINVAL', 'npage must be positive');
  check(npage <= VFIO_PIN_PAGES_MAX_ENTRIES, 'E2BIG', 'too many pages');
  check(iommu.v2, 'EACCES', 'pinning needs TYPE1v2');
  check(isU64(iova) && iova + BigInt(npage * PAGE_SIZE) - 1n <= U64_MAX, 'EOVERFLOW', 'range wraps');
  check(iommu.vaddrInvalidCount === 0, 'EBUSY', 'vfio_pin_pages not allowed with VFIO_UPDATE_VADDR');
  check(iommu.devices.size > 0, 'EINVAL', 'no device with dma_unmap registered');
  const out: PinnedPage[] = [];
  try {
    for (let i = 0; i < npage; i++) {
      const pageIova = iova + BigInt(i * PAGE_SIZE);
      const dma = iommu.dmaList.findFirst(pageIova, pageIova + BigInt(PAGE_SIZE) - 1n);
      check(dma !== undefined, 'EINVAL', 'iova not mapped');
      check((dma.prot & prot) === prot, 'EPERM', 'mapping lacks the requested permission');
      const vaddr = dma.vaddr + (pageIova - dma.start);
      const ref = dma.pfns.get(pageIova);
      // The pin itself: the pages must exist in the owner's mm.
      const segments = iommu.mm.translate(vaddr, BigInt(PAGE_SIZE));
      dma.pfns.set(pageIova, (ref ?? 0) + 1);
      out.push({ iova: pageIova, segments });
      // A page pinned for the first time is dirty (its bit, not the bits of the pages it may straddle).
      if (ref === undefined) vfioDmaMarkDirty(iommu, dma, pageIova - dma.start, 1n);
    }
  } catch (err) {
    // pin_unwind: drop what this call took.
    for (const p of out) unpinPage(iommu, p.iova);
    throw err;
  }
  const entry = group === undefined ? undefined : iommu.groups.get(group);
  if (entry !== undefined && !entry.pinnedPageDirtyScope) {
    entry.pinnedPageDirtyScope = true;
    iommu.numNonPinnedGroups--;
  }
  return out;
}

/** vfio_unpin_pages(): a device error here is a driver bug, so it warns like the kernel. */
export function vfioIommuType1UnpinPages(iommu: VfioIommu, iova: bigint, npage: number): void {
  if (!iommu.v2 || !Number.isInteger(npage) || npage <= 0 || !isU64(iova) || iova + BigInt(npage * PAGE_SIZE) - 1n > U64_MAX) {
    iommu.log.warn({ iova, npage }, 'vfio type1: bad unpin request');
    return;
  }
  let i = 0;
  for (; i < npage; i++) {
    if (!unpinPage(iommu, iova + BigInt(i * PAGE_SIZE))) break;
  }
  if (i !== npage) iommu.log.warn({ iova, npage, done: i }, 'vfio type1: unpin of an unmapped iova');
}

/**
 * vfio_iommu_type1_dma_rw()'s walk over [iova, iova + length): each piece in one mapping, checked (EINVAL when
 * unmapped, EPERM without the permission: a device write needs WRITE, any access READ), handed to `visit`.
 */
function dmaWalk(
  iommu: VfioIommu,
  iova: bigint,
  length: number,
  write: boolean,
  visit: (dma: VfioDma, offset: bigint, count: number, pos: number) => void,
): void {
  check(length > 0, 'EINVAL', 'zero length');
  check(iommu.vaddrInvalidCount === 0, 'EBUSY', 'vfio_dma_rw not allowed with VFIO_UPDATE_VADDR');
  let cur = iova;
  let pos = 0;
  while (pos < length) {
    const dma = isU64(cur) ? iommu.dmaList.find(cur) : undefined;
    check(dma !== undefined, 'EINVAL', 'iova not mapped');
    check(!((write && !(dma.prot & IOMMU_WRITE)) || !(dma.prot & IOMMU_READ)), 'EPERM', 'mapping permissions');
    const offset = cur - dma.start;
    const count = Math.min(length - pos, Number(dma.size - offset));
    visit(dma, offset, count, pos);
    pos += count;
    cur += BigInt(count);
  }
}

/** vfio_dma_rw(): copies between `buf` and the user memory behind [iova, iova + buf.length), across mappings. */
export function vfioIommuType1DmaRw(iommu: VfioIommu, iova: bigint, buf: Uint8Array, write: boolean): void {
  dmaWalk(iommu, iova, buf.length, write, (dma, offset, count, pos) => {
    const chunk = buf.subarray(pos, pos + count);
    if (write) {
      iommu.mm.write(dma.vaddr + offset, chunk);
      vfioDmaMarkDirty(iommu, dma, offset, BigInt(count));
    } else {
      iommu.mm.read(dma.vaddr + offset, chunk);
    }
  });
}

/**
 * The same walk without the copy: the user memory behind [iova, iova + length), for vfioDmaRwAsync to copy
 * (memory a client shares by messages is reached asynchronously). A write is dirty-logged once every piece passed.
 */
export function vfioIommuType1DmaSegments(iommu: VfioIommu, iova: bigint, length: number, write: boolean): DmaSegment[] {
  const out: DmaSegment[] = [];
  const written: [VfioDma, bigint, number][] = [];
  dmaWalk(iommu, iova, length, write, (dma, offset, count) => {
    out.push(...iommu.mm.translate(dma.vaddr + offset, BigInt(count)));
    if (write) written.push([dma, offset, count]);
  });
  for (const [dma, offset, count] of written) vfioDmaMarkDirty(iommu, dma, offset, BigInt(count));
  return out;
}

/** The IOMMU-domain pin of a whole mapping (vfio_pin_map_dma / replay): every page must be backed. */
export function vfioPinMapDma(iommu: VfioIommu, dma: VfioDma): void {
  if (dma.vaddrInvalid) return;
  iommu.mm.translate(dma.vaddr, dma.size);
}

/** A device that did not unpin in dmaUnmap (the kernel WARNs, then BUGs): warn and drop its pins. */
export function vfioForceUnpin(iommu: VfioIommu, dma: VfioDma): void {
  iommu.log.warn({ iova: dma.start, size: dma.size, pinned: dma.pfns.size }, 'vfio type1: pages still pinned after dma_unmap; unpinning them');
  dma.pfns.clear();
}

/** Drops one pin of the page at `pageIova`; false if no mapping covers it. */
function unpinPage(iommu: VfioIommu, pageIova: bigint): boolean {
  const dma = iommu.dmaList.find(pageIova);
  if (dma === undefined) return false;
  const ref = dma.pfns.get(pageIova);
  if (ref === undefined) return true;
  if (ref > 1) dma.pfns.set(pageIova, ref - 1);
  else dma.pfns.delete(pageIova);
  return true;
}
