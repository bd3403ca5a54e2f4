// The state of a type1 IOMMU (struct vfio_iommu, struct vfio_dma, struct vfio_iommu_group) that the map/unmap,
// pinning, dirty-tracking and group modules share. Follows the structs and small helpers of drivers/vfio/vfio_iommu_type1.c.

import { silentLogger, type Logger } from '../base/log.js';
import type { DirtyBitmap } from './dirty-bitmap.js';
import { RangeList, U64_MAX, UserAddressSpace, type Range } from './dma-space.js';
import {
  DMA_ENTRY_LIMIT, PAGE_MASK, X86_MSI_RESERVED,
  type DmaUnmapListener, type IommuGroupType, type IovaRange, type VfioIommuType1Options,
} from './iommu-type1-types.js';

/** struct vfio_dma: one user mapping. `start`/`last` are its inclusive IOVA range. */
export interface VfioDma extends Range {
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

/** struct vfio_iommu_group: how an attached group reaches memory, and whether it declared its dirty scope. */
export interface VfioIommuGroup {
  readonly type: IommuGroupType;
  pinnedPageDirtyScope: boolean;
}

/** __ffs() of a non-zero u64. */
export function ffs(v: bigint): bigint {
  let shift = 0n;
  while (((v >> shift) & 1n) === 0n) shift++;
  return shift;
}

/** struct vfio_iommu, set up as vfio_iommu_type1_open() does. */
export class VfioIommu {
  readonly v2: boolean;
  readonly mm: UserAddressSpace;
  readonly dmaEntryLimit: number;
  readonly pgsizeBitmap: bigint;
  readonly pgshift: bigint;
  /** The minimum page size: the granularity of map, unmap and dirty bitmaps. */
  readonly pgsize: bigint;
  readonly aperture: IovaRange;
  readonly reservedRegions: readonly IovaRange[];
  readonly log: Logger;
  readonly dmaList = new RangeList<VfioDma>();
  readonly groups = new Map<object, VfioIommuGroup>();
  /** Emulated devices registered for dmaUnmap (vfio_iommu_type1_register_device). */
  readonly devices = new Set<DmaUnmapListener>();
  iovaList: IovaRange[] = [];
  dmaAvail: number;
  numNonPinnedGroups = 0;
  vaddrInvalidCount = 0;
  dirtyPageTracking = false;

  constructor(opts: VfioIommuType1Options) {
    this.v2 = opts.v2 ?? true;
    this.pgsizeBitmap = opts.pgsizeBitmap ?? PAGE_MASK;
    if (this.pgsizeBitmap <= 0n || this.pgsizeBitmap > U64_MAX) throw new Error('VfioIommuType1: bad pgsizeBitmap');
    this.pgshift = ffs(this.pgsizeBitmap);
    if (this.pgshift < 12n) throw new Error('VfioIommuType1: the minimum page size must be at least PAGE_SIZE');
    this.pgsize = 1n << this.pgshift;
    this.dmaEntryLimit = opts.dmaEntryLimit ?? DMA_ENTRY_LIMIT;
    this.dmaAvail = this.dmaEntryLimit;
    this.aperture = opts.aperture ?? { start: 0n, end: U64_MAX };
    this.reservedRegions = opts.reservedRegions ?? [X86_MSI_RESERVED];
    this.mm = opts.mm ?? new UserAddressSpace();
    this.log = opts.logger ?? silentLogger;
  }
}

/** Pages of the minimum page size in `size` bytes. */
export function pagesOf(iommu: VfioIommu, size: bigint): number {
  return Number(size >> iommu.pgshift);
}

/** Whether an IOMMU-backed group is attached (the kernel's non-empty domain_list). */
export function hasDomain(iommu: VfioIommu): boolean {
  for (const g of iommu.groups.values()) if (g.type === 'iommu') return true;
  return false;
}

/** Whether an emulated group (mdev) is attached (the kernel's emulated_iommu_groups). */
export function hasEmulated(iommu: VfioIommu): boolean {
  for (const g of iommu.groups.values()) if (g.type === 'emulated') return true;
  return false;
}
