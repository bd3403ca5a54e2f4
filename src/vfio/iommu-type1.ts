// The VFIO type1 IOMMU backend: DMA map/unmap, pinning and dma_rw for emulated devices, dirty tracking, GET_INFO.
// Follows drivers/vfio/vfio_iommu_type1.c (with the 2025 overflow fixes) and the type1 section of include/uapi/linux/vfio.h.

import { VfioError, check } from '../uapi/errno.js';
import { silentLogger, type Logger } from '../base/log.js';
import { VFIO_DMA_CC_IOMMU, VFIO_TYPE1_IOMMU, VFIO_TYPE1v2_IOMMU, VFIO_UNMAP_ALL, VFIO_UPDATE_VADDR } from '../uapi/ioctl.js';
import { DirtyBitmap } from './dirty-bitmap.js';
import { RangeList, U64_MAX, UserAddressSpace, isU64, type DmaSegment, type Range } from './dma-space.js';
import {
  DIRTY_BITMAP_PAGES_MAX, DIRTY_BITMAP_SIZE_MAX, DMA_ENTRY_LIMIT, IOMMU_READ, IOMMU_WRITE, PAGE_MASK, PAGE_SIZE,
  VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_VADDR, VFIO_DMA_MAP_FLAG_WRITE, VFIO_DMA_UNMAP_FLAG_ALL,
  VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, VFIO_DMA_UNMAP_FLAG_VADDR, VFIO_IOMMU_INFO_CAPS, VFIO_IOMMU_INFO_PGSIZES,
  VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL,
  VFIO_PIN_PAGES_MAX_ENTRIES, X86_MSI_RESERVED, clampRanges, excludeRanges, verifyBitmapSize,
  type DmaMapArgs, type DmaUnmapArgs, type DmaUnmapListener, type IommuGroupType, type IovaRange, type PinnedPage,
  type Type1Info, type Type1InfoCap, type VfioBitmap, type VfioIommuType1Options,
} from './iommu-type1-types.js';

export * from './iommu-type1-types.js';

/** struct vfio_dma: one user mapping. `start`/`last` are its inclusive IOVA range. */
interface VfioDma extends Range {
  readonly start: bigint;
  readonly last: bigint;
  readonly size: bigint;
  vaddr: bigint;
  readonly prot: number;
  iommuMapped: boolean;
  vaddrInvalid: boolean;
  /** The external pin list (vfio_pfn): iova -> refcount. */
  readonly pfns: Map<bigint, number>;
  bitmap: DirtyBitmap | null;
}

interface GroupEntry {
  readonly type: IommuGroupType;
  pinnedPageDirtyScope: boolean;
}

function ffs(v: bigint): bigint {
  let shift = 0n;
  while (((v >> shift) & 1n) === 0n) shift++;
  return shift;
}

/** A VFIO container's type1 IOMMU. Methods mirror the ioctls and the vfio_iommu_driver_ops. */
export class VfioIommuType1 {
  readonly v2: boolean;
  readonly mm: UserAddressSpace;
  readonly dmaEntryLimit: number;
  private readonly pgsizeBitmap: bigint;
  private readonly pgshift: bigint;
  private readonly aperture: IovaRange;
  private readonly reservedRegions: readonly IovaRange[];
  private readonly log: Logger;
  private readonly dmaList = new RangeList<VfioDma>();
  private readonly groups = new Map<object, GroupEntry>();
  private readonly devices = new Set<DmaUnmapListener>();
  private iovaList: IovaRange[] = [];
  private dmaAvail: number;
  private numNonPinnedGroups = 0;
  private vaddrInvalidCount = 0;
  private dirtyPageTracking = false;

  constructor(opts: VfioIommuType1Options = {}) {
    this.v2 = opts.v2 ?? true;
    this.pgsizeBitmap = opts.pgsizeBitmap ?? PAGE_MASK;
    if (this.pgsizeBitmap <= 0n || this.pgsizeBitmap > U64_MAX) throw new Error('VfioIommuType1: bad pgsizeBitmap');
    this.pgshift = ffs(this.pgsizeBitmap);
    if (this.pgshift < 12n) throw new Error('VfioIommuType1: the minimum page size must be at least PAGE_SIZE');
    this.dmaEntryLimit = opts.dmaEntryLimit ?? DMA_ENTRY_LIMIT;
    this.dmaAvail = this.dmaEntryLimit;
    this.aperture = opts.aperture ?? { start: 0n, end: U64_MAX };
    this.reservedRegions = opts.reservedRegions ?? [X86_MSI_RESERVED];
    this.mm = opts.mm ?? new UserAddressSpace();
    this.log = opts.logger ?? silentLogger;
  }

  /** The minimum page size: the granularity of map, unmap and dirty bitmaps. */
  get pgsize(): bigint {
    return 1n << this.pgshift;
  }

  /** Number of mappings. */
  get dmaCount(): number {
    return this.dmaList.length;
  }

  get dirtyTracking(): boolean {
    return this.dirtyPageTracking;
  }

  /** The mappings, ascending by IOVA (for inspection). */
  mappings(): { iova: bigint; size: bigint; vaddr: bigint; prot: number; pinned: number }[] {
    return [...this.dmaList].map((d) => ({ iova: d.start, size: d.size, vaddr: d.vaddr, prot: d.prot, pinned: d.pfns.size }));
  }

  // --- groups and devices (attach_group/detach_group, register_device/unregister_device) ---

  /** vfio_iommu_type1_attach_group(): an emulated group (mdev) or an IOMMU-backed one (pins everything). */
  attachGroup(group: object, type: IommuGroupType): void {
    check(!this.groups.has(group), 'EINVAL', 'group already attached');
    if (type === 'emulated') {
      // An emulated group can only dirty memory through the pinning interfaces.
      this.groups.set(group, { type, pinnedPageDirtyScope: true });
      return;
    }
    const { start, end } = this.aperture;
    // vfio_iommu_aper_conflict(): only an existing IOVA list can conflict.
    const lo = this.iovaList[0];
    const hi = this.iovaList[this.iovaList.length - 1];
    if (lo !== undefined && hi !== undefined) {
      check(start <= hi.end && end >= lo.start, 'EINVAL', 'aperture disjoint from the IOVA list');
      check(start <= lo.start || this.dmaList.findFirst(lo.start, start - 1n) === undefined, 'EINVAL', 'mappings below the aperture');
      check(end >= hi.end || this.dmaList.findFirst(end + 1n, hi.end) === undefined, 'EINVAL', 'mappings beyond the aperture');
    }
    // vfio_iommu_resv_conflict().
    for (const r of this.reservedRegions) {
      check(this.dmaList.findFirst(r.start, r.end) === undefined, 'EINVAL', 'a mapping overlaps a reserved region');
    }
    const narrowed = lo === undefined ? [{ start, end }] : clampRanges(this.iovaList, start, end);
    const iovas = excludeRanges(narrowed, this.reservedRegions);
    check(iovas.length > 0, 'EINVAL', 'no usable IOVA range');
    if (!this.hasDomain()) {
      // vfio_iommu_replay(): the new domain pins and maps what is already mapped.
      for (const dma of this.dmaList) this.pinRemote(dma);
      for (const dma of this.dmaList) dma.iommuMapped = true;
    }
    this.iovaList = iovas;
    this.groups.set(group, { type, pinnedPageDirtyScope: false });
    // It can dirty memory directly until it declares itself through the pinning interface.
    this.numNonPinnedGroups++;
  }

  /** vfio_iommu_type1_detach_group(). */
  detachGroup(group: object): void {
    const entry = this.groups.get(group);
    if (entry === undefined) return;
    this.groups.delete(group);
    const updateDirtyScope = !entry.pinnedPageDirtyScope;
    if (entry.type === 'iommu' && !this.hasDomain()) {
      // The last IOMMU domain is gone: nothing stays pinned for it, and the aperture reopens.
      for (const dma of this.dmaList) dma.iommuMapped = false;
      this.iovaList = [{ start: 0n, end: U64_MAX }];
    }
    if (this.groups.size === 0) {
      if (this.devices.size > 0) this.log.warn({ devices: this.devices.size }, 'vfio type1: last group detached with devices registered');
      this.unmapUnpinAll();
    }
    if (updateDirtyScope) {
      this.numNonPinnedGroups--;
      if (this.dirtyPageTracking) {
        for (const dma of this.dmaList) dma.bitmap?.setRange(0, this.pagesOf(dma.size));
      }
    }
  }

  /** vfio_iommu_type1_register_device(): an emulated device that gets dmaUnmap() calls. */
  registerDevice(device: DmaUnmapListener): void {
    this.devices.add(device);
  }

  /** Opposite of registerDevice. */
  unregisterDevice(device: DmaUnmapListener): void {
    this.devices.delete(device);
  }

  /** VFIO_CHECK_EXTENSION on an open container. */
  checkExtension(arg: number): number {
    switch (arg) {
      case VFIO_TYPE1_IOMMU:
      case VFIO_TYPE1v2_IOMMU:
      case VFIO_UNMAP_ALL:
        return 1;
      case VFIO_UPDATE_VADDR:
        // mdevs cannot safely pin/unpin/rw while vaddrs are being updated.
        return this.hasEmulated() ? 0 : 1;
      case VFIO_DMA_CC_IOMMU:
        return 1;
      default:
        return 0;
    }
  }

  // --- VFIO_IOMMU_MAP_DMA / VFIO_IOMMU_UNMAP_DMA ---

  /** VFIO_IOMMU_MAP_DMA (vfio_iommu_type1_map_dma + vfio_dma_do_map). */
  mapDma(map: DmaMapArgs): void {
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
    const mask = this.pgsize - 1n;
    check(((size | iova | vaddr) & mask) === 0n, 'EINVAL', 'not aligned to the minimum page size');

    const found = this.dmaList.findFirst(iova, last);
    if (setVaddr) {
      check(found !== undefined, 'ENOENT', 'no mapping to update');
      check(found.vaddrInvalid && found.start === iova && found.size === size, 'EINVAL', 'VADDR update must match an invalidated mapping');
      found.vaddr = vaddr;
      found.vaddrInvalid = false;
      this.vaddrInvalidCount--;
      return;
    }
    check(found === undefined, 'EEXIST', 'overlaps an existing mapping');
    check(this.dmaAvail > 0, 'ENOSPC', 'DMA entry limit reached');
    check(this.iovaValid(iova, last), 'EINVAL', 'outside the valid IOVA ranges');

    const dma: VfioDma = { start: iova, last, size, vaddr, prot, iommuMapped: false, vaddrInvalid: false, pfns: new Map(), bitmap: null };
    this.dmaList.insert(dma);
    this.dmaAvail--;
    try {
      // Without an IOMMU domain nothing is pinned until an emulated device asks.
      if (this.hasDomain()) {
        this.pinRemote(dma);
        dma.iommuMapped = true;
      }
      if (this.dirtyPageTracking) dma.bitmap = this.bitmapAlloc(dma);
    } catch (err) {
      this.removeDma(dma);
      throw err;
    }
  }

  /** VFIO_IOMMU_UNMAP_DMA (vfio_iommu_type1_unmap_dma + vfio_dma_do_unmap); returns the bytes unmapped. */
  unmapDma(unmap: DmaUnmapArgs): bigint {
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
    check(!(invalidateVaddr && this.hasEmulated()), 'EBUSY', 'cannot update vaddr with mdevs present');
    const iova = unmap.iova;
    const mask = this.pgsize - 1n;
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
    check(!getBitmap || (this.dirtyPageTracking && bitmap?.pgsize === this.pgsize), 'EINVAL', 'dirty bitmap needs tracking and the minimum page size');

    let unmapped = 0n;
    let lastNotified: VfioDma | undefined;
    for (;;) {
      // v1 coalesced mappings and let any range be attempted; v2 must not bisect a mapping.
      if (this.v2 && !unmapAll) {
        const head = this.dmaList.find(iova);
        check(head === undefined || head.start === iova, 'EINVAL', 'unmap would bisect a mapping');
        const tail = this.dmaList.find(last);
        check(tail === undefined || tail.last === last, 'EINVAL', 'unmap would bisect a mapping');
      }
      const first = this.dmaList.lowerBound(iova);
      let i = first;
      let notify: VfioDma | undefined;
      try {
        for (let dma = this.dmaList.at(i); dma !== undefined; dma = this.dmaList.at(++i)) {
          if (dma.start > last) break;
          if (!this.v2 && iova > dma.start) break;
          if (invalidateVaddr) {
            if (dma.vaddrInvalid) {
              // Roll back what this call invalidated.
              for (let j = first; j < i; j++) {
                const undone = this.dmaList.at(j);
                if (undone === undefined) continue;
                undone.vaddrInvalid = false;
                this.vaddrInvalidCount--;
              }
              throw new VfioError('EINVAL', 'vaddr already invalid');
            }
            dma.vaddrInvalid = true;
            this.vaddrInvalidCount++;
            unmapped += dma.size;
            continue;
          }
          if (dma.pfns.size > 0) {
            notify = dma;
            break;
          }
          if (bitmap !== undefined) this.updateUserBitmap(bitmap.data, dma, iova);
          unmapped += dma.size;
          this.releaseDma(dma);
        }
      } finally {
        if (!invalidateVaddr) this.dmaList.removeAt(first, i - first);
      }
      if (notify === undefined) return unmapped;
      if (notify === lastNotified) this.forceUnpin(notify);
      lastNotified = notify;
      this.notifyDmaUnmap(notify);
    }
  }

  /** Container teardown (vfio_iommu_unmap_unpin_all), telling emulated devices first; returns the bytes unmapped. */
  unmapAll(): bigint {
    let total = 0n;
    for (const dma of this.dmaList) {
      if (dma.pfns.size > 0) this.notifyDmaUnmap(dma);
      if (dma.pfns.size > 0) this.forceUnpin(dma);
    }
    for (const dma of this.dmaList) total += dma.size;
    this.unmapUnpinAll();
    return total;
  }

  // --- the emulated-device interfaces (vfio_pin_pages, vfio_unpin_pages, vfio_dma_rw) ---

  /** vfio_pin_pages(): pins `npage` pages from `iova`; `group` is the pinning device's group (promotes its dirty scope). */
  pinPages(iova: bigint, npage: number, prot: number, group?: object): PinnedPage[] {
    check(Number.isInteger(npage) && npage > 0, 'EINVAL', 'npage must be positive');
    check(npage <= VFIO_PIN_PAGES_MAX_ENTRIES, 'E2BIG', 'too many pages');
    check(this.v2, 'EACCES', 'pinning needs TYPE1v2');
    check(isU64(iova) && iova + BigInt(npage * PAGE_SIZE) - 1n <= U64_MAX, 'EOVERFLOW', 'range wraps');
    check(this.vaddrInvalidCount === 0, 'EBUSY', 'vfio_pin_pages not allowed with VFIO_UPDATE_VADDR');
    check(this.devices.size > 0, 'EINVAL', 'no device with dma_unmap registered');
    const out: PinnedPage[] = [];
    try {
      for (let i = 0; i < npage; i++) {
        const pageIova = iova + BigInt(i * PAGE_SIZE);
        const dma = this.dmaList.findFirst(pageIova, pageIova + BigInt(PAGE_SIZE) - 1n);
        check(dma !== undefined, 'EINVAL', 'iova not mapped');
        check((dma.prot & prot) === prot, 'EPERM', 'mapping lacks the requested permission');
        const vaddr = dma.vaddr + (pageIova - dma.start);
        const ref = dma.pfns.get(pageIova);
        // The pin itself: the pages must exist in the owner's mm.
        const segments = this.mm.translate(vaddr, BigInt(PAGE_SIZE));
        dma.pfns.set(pageIova, (ref ?? 0) + 1);
        out.push({ iova: pageIova, segments });
        if (ref === undefined && this.dirtyPageTracking) dma.bitmap?.setRange(Number((pageIova - dma.start) >> this.pgshift), 1);
      }
    } catch (err) {
      // pin_unwind: drop what this call took.
      for (const p of out) this.unpinOne(p.iova);
      throw err;
    }
    const entry = group === undefined ? undefined : this.groups.get(group);
    if (entry !== undefined && !entry.pinnedPageDirtyScope) {
      entry.pinnedPageDirtyScope = true;
      this.numNonPinnedGroups--;
    }
    return out;
  }

  /** vfio_unpin_pages(): a device error here is a driver bug, so it warns like the kernel. */
  unpinPages(iova: bigint, npage: number): void {
    if (!this.v2 || !Number.isInteger(npage) || npage <= 0 || !isU64(iova) || iova + BigInt(npage * PAGE_SIZE) - 1n > U64_MAX) {
      this.log.warn({ iova, npage }, 'vfio type1: bad unpin request');
      return;
    }
    let i = 0;
    for (; i < npage; i++) {
      if (!this.unpinOne(iova + BigInt(i * PAGE_SIZE))) break;
    }
    if (i !== npage) this.log.warn({ iova, npage, done: i }, 'vfio type1: unpin of an unmapped iova');
  }

  /** vfio_dma_rw(): copies between `buf` and the user memory behind [iova, iova + buf.length), across mappings. */
  dmaRw(iova: bigint, buf: Uint8Array, write: boolean): void {
    check(buf.length > 0, 'EINVAL', 'zero length');
    check(this.vaddrInvalidCount === 0, 'EBUSY', 'vfio_dma_rw not allowed with VFIO_UPDATE_VADDR');
    let cur = iova;
    let pos = 0;
    while (pos < buf.length) {
      const dma = isU64(cur) ? this.dmaList.find(cur) : undefined;
      check(dma !== undefined, 'EINVAL', 'iova not mapped');
      // A device write needs WRITE; any access needs READ (the kernel's rule).
      check(!((write && !(dma.prot & IOMMU_WRITE)) || !(dma.prot & IOMMU_READ)), 'EPERM', 'mapping permissions');
      const offset = cur - dma.start;
      const count = Math.min(buf.length - pos, Number(dma.size - offset));
      const chunk = buf.subarray(pos, pos + count);
      if (write) {
        this.mm.write(dma.vaddr + offset, chunk);
        if (this.dirtyPageTracking && dma.bitmap !== null) {
          const firstPage = Number(offset >> this.pgshift);
          const lastPage = Number((offset + BigInt(count) - 1n) >> this.pgshift);
          dma.bitmap.setRange(firstPage, lastPage - firstPage + 1);
        }
      } else {
        this.mm.read(dma.vaddr + offset, chunk);
      }
      pos += count;
      cur += BigInt(count);
    }
  }

  /**
   * vfio_dma_rw()'s walk without the copy: the user memory behind [iova, iova + length), across mappings,
   * checked as dmaRw checks it (a write is dirty-logged now), for vfioDmaRwAsync to copy.
   */
  dmaSegments(iova: bigint, length: number, write: boolean): DmaSegment[] {
    check(length > 0, 'EINVAL', 'zero length');
    check(this.vaddrInvalidCount === 0, 'EBUSY', 'vfio_dma_rw not allowed with VFIO_UPDATE_VADDR');
    const out: DmaSegment[] = [];
    const written: { dma: VfioDma; offset: bigint; count: number }[] = [];
    let cur = iova;
    let pos = 0;
    while (pos < length) {
      const dma = isU64(cur) ? this.dmaList.find(cur) : undefined;
      check(dma !== undefined, 'EINVAL', 'iova not mapped');
      check(!((write && !(dma.prot & IOMMU_WRITE)) || !(dma.prot & IOMMU_READ)), 'EPERM', 'mapping permissions');
      const offset = cur - dma.start;
      const count = Math.min(length - pos, Number(dma.size - offset));
      out.push(...this.mm.translate(dma.vaddr + offset, BigInt(count)));
      if (write) written.push({ dma, offset, count });
      pos += count;
      cur += BigInt(count);
    }
    if (this.dirtyPageTracking) {
      for (const { dma, offset, count } of written) {
        if (dma.bitmap === null) continue;
        const firstPage = Number(offset >> this.pgshift);
        const lastPage = Number((offset + BigInt(count) - 1n) >> this.pgshift);
        dma.bitmap.setRange(firstPage, lastPage - firstPage + 1);
      }
    }
    return out;
  }

  // --- VFIO_IOMMU_GET_INFO ---

  /** VFIO_IOMMU_GET_INFO as typed values. */
  getInfo(): Type1Info {
    const caps: Type1InfoCap[] = [
      { id: VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, version: 1, flags: 0, pgsizeBitmap: this.pgsize, maxDirtyBitmapSize: DIRTY_BITMAP_SIZE_MAX },
      { id: VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, version: 1, avail: this.dmaAvail },
    ];
    // A container with only emulated groups has an empty IOVA list and no IOVA_RANGE cap.
    if (this.iovaList.length > 0) caps.push({ id: VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, version: 1, ranges: this.iovaList.map((r) => ({ ...r })) });
    return { flags: VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS, iovaPgsizes: this.pgsizeBitmap, caps };
  }

  // --- VFIO_IOMMU_DIRTY_PAGES ---

  /** VFIO_IOMMU_DIRTY_PAGES_FLAG_START. */
  dirtyStart(): void {
    check(this.v2, 'EACCES', 'dirty tracking needs TYPE1v2');
    if (this.dirtyPageTracking) return;
    const done: VfioDma[] = [];
    try {
      for (const dma of this.dmaList) {
        dma.bitmap = this.bitmapAlloc(dma);
        done.push(dma);
      }
    } catch (err) {
      for (const dma of done) dma.bitmap = null;
      throw err;
    }
    this.dirtyPageTracking = true;
  }

  /** VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP. */
  dirtyStop(): void {
    check(this.v2, 'EACCES', 'dirty tracking needs TYPE1v2');
    if (!this.dirtyPageTracking) return;
    this.dirtyPageTracking = false;
    for (const dma of this.dmaList) dma.bitmap = null;
  }

  /** VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP: writes the bitmap of [iova, iova + size) into `bitmap.data`. */
  dirtyGetBitmap(iova: bigint, size: bigint, bitmap: VfioBitmap): void {
    check(this.v2, 'EACCES', 'dirty tracking needs TYPE1v2');
    check(isU64(iova) && isU64(size), 'EOVERFLOW', 'field is not a u64');
    check(size !== 0n, 'EINVAL', 'zero size');
    const last = iova + size - 1n;
    check(last <= U64_MAX, 'EOVERFLOW', 'iova + size wraps');
    check(bitmap.pgsize > 0n && BigInt(bitmap.data.length) >= bitmap.size, 'EINVAL', 'bad user bitmap');
    verifyBitmapSize(size >> ffs(bitmap.pgsize), bitmap.size);
    const mask = this.pgsize - 1n;
    check(bitmap.pgsize === this.pgsize, 'EINVAL', 'only the minimum page size is supported');
    check((iova & mask) === 0n && (size & mask) === 0n, 'EINVAL', 'range not aligned');
    check(this.dirtyPageTracking, 'EINVAL', 'dirty tracking is not started');
    // The range must fully cover the mappings it touches.
    const head = this.dmaList.find(iova);
    check(head === undefined || head.start === iova, 'EINVAL', 'range bisects a mapping');
    const tail = this.dmaList.find(last);
    check(tail === undefined || tail.last === last, 'EINVAL', 'range bisects a mapping');
    for (let i = this.dmaList.lowerBound(iova), dma = this.dmaList.at(i); dma !== undefined && dma.start <= last; dma = this.dmaList.at(++i)) {
      this.updateUserBitmap(bitmap.data, dma, iova);
      // Pinned pages stay dirty; dma_rw writes and unpinned pages are reported once.
      this.populateBitmap(dma);
    }
  }

  // --- internals ---

  private hasDomain(): boolean {
    for (const g of this.groups.values()) if (g.type === 'iommu') return true;
    return false;
  }

  private hasEmulated(): boolean {
    for (const g of this.groups.values()) if (g.type === 'emulated') return true;
    return false;
  }

  private iovaValid(start: bigint, last: bigint): boolean {
    // An empty list (a container with only mdevs) allows everything.
    if (this.iovaList.length === 0) return true;
    return this.iovaList.some((r) => start >= r.start && last <= r.end);
  }

  private pagesOf(size: bigint): number {
    return Number(size >> this.pgshift);
  }

  private bitmapAlloc(dma: VfioDma): DirtyBitmap {
    const npages = this.pagesOf(dma.size);
    check(npages <= DIRTY_BITMAP_PAGES_MAX, 'EINVAL', 'mapping too large for a dirty bitmap');
    const bitmap = new DirtyBitmap(npages);
    this.fillFromPins(dma, bitmap);
    return bitmap;
  }

  /** vfio_dma_populate_bitmap(): clear, then mark the pinned pages. */
  private populateBitmap(dma: VfioDma): void {
    if (dma.bitmap === null) return;
    dma.bitmap.clearAll();
    this.fillFromPins(dma, dma.bitmap);
  }

  private fillFromPins(dma: VfioDma, bitmap: DirtyBitmap): void {
    for (const pageIova of dma.pfns.keys()) bitmap.setRange(Number((pageIova - dma.start) >> this.pgshift), 1);
  }

  /** update_user_bitmap(). */
  private updateUserBitmap(data: Uint8Array, dma: VfioDma, baseIova: bigint): void {
    const bitmap = dma.bitmap;
    if (bitmap === null) throw new Error('update_user_bitmap without a bitmap');
    // An IOMMU-backed device that never declared its dirty scope may have written anything it maps.
    if (this.numNonPinnedGroups > 0 && dma.iommuMapped) bitmap.setRange(0, bitmap.nbits);
    bitmap.copyToUser(data, Number((dma.start - baseIova) >> this.pgshift));
  }

  /** The IOMMU-domain pin of a whole mapping (vfio_pin_map_dma / replay): every page must be backed. */
  private pinRemote(dma: VfioDma): void {
    if (dma.vaddrInvalid) return;
    this.mm.translate(dma.vaddr, dma.size);
  }

  private unpinOne(pageIova: bigint): boolean {
    const dma = this.dmaList.find(pageIova);
    if (dma === undefined) return false;
    const ref = dma.pfns.get(pageIova);
    if (ref === undefined) return true;
    if (ref > 1) dma.pfns.set(pageIova, ref - 1);
    else dma.pfns.delete(pageIova);
    return true;
  }

  /** vfio_notify_dma_unmap(): every registered emulated device hears about the whole mapping. */
  private notifyDmaUnmap(dma: VfioDma): void {
    for (const device of [...this.devices]) device.dmaUnmap(dma.start, dma.size);
  }

  /** A device that did not unpin in dmaUnmap (the kernel WARNs, then BUGs): warn and drop its pins. */
  private forceUnpin(dma: VfioDma): void {
    this.log.warn({ iova: dma.start, size: dma.size, pinned: dma.pfns.size }, 'vfio type1: pages still pinned after dma_unmap; unpinning them');
    dma.pfns.clear();
  }

  /** vfio_remove_dma() minus the unlink (the caller splices the list). */
  private releaseDma(dma: VfioDma): void {
    if (dma.pfns.size > 0) this.log.warn({ iova: dma.start }, 'vfio type1: removing a mapping with pinned pages');
    dma.bitmap = null;
    if (dma.vaddrInvalid) this.vaddrInvalidCount--;
    this.dmaAvail++;
  }

  private removeDma(dma: VfioDma): void {
    this.releaseDma(dma);
    this.dmaList.remove(dma);
  }

  private unmapUnpinAll(): void {
    for (const dma of this.dmaList) this.releaseDma(dma);
    this.dmaList.clear();
  }
}

