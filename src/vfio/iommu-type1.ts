// The VFIO type1 IOMMU backend as one object (a container's iommu_data): its methods mirror the ioctls and the
// vfio_iommu_driver_ops of drivers/vfio/vfio_iommu_type1.c and the type1 section of include/uapi/linux/vfio.h.
// The work is done by one module per concern over the shared state (type1-state.ts): mappings (type1-dma.ts),
// pinning and dma_rw (type1-pin.ts), dirty tracking (type1-dirty.ts), groups and devices (type1-group.ts).

import { VFIO_DMA_CC_IOMMU, VFIO_TYPE1_IOMMU, VFIO_TYPE1v2_IOMMU, VFIO_UNMAP_ALL, VFIO_UPDATE_VADDR } from '../uapi/ioctl.js';
import type { DmaSegment, UserAddressSpace } from './dma-space.js';
import {
  DIRTY_BITMAP_SIZE_MAX, VFIO_IOMMU_INFO_CAPS, VFIO_IOMMU_INFO_PGSIZES, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
  VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL,
  type DmaMapArgs, type DmaUnmapArgs, type DmaUnmapListener, type IommuGroupType, type PinnedPage, type Type1Info,
  type Type1InfoCap, type VfioBitmap, type VfioIommuType1Options,
} from './iommu-type1-types.js';
import { VfioIommu, hasEmulated } from './type1-state.js';
import { vfioDmaDoMap, vfioDmaDoUnmap, vfioIommuUnmapAll } from './type1-dma.js';
import { vfioIommuType1DmaRw, vfioIommuType1DmaSegments, vfioIommuType1PinPages, vfioIommuType1UnpinPages } from './type1-pin.js';
import { vfioIommuDirtyStart, vfioIommuDirtyStop, vfioIovaDirtyBitmap } from './type1-dirty.js';
import {
  vfioIommuType1AttachGroup, vfioIommuType1DetachGroup, vfioIommuType1RegisterDevice, vfioIommuType1UnregisterDevice,
} from './type1-group.js';

export * from './iommu-type1-types.js';

/** A VFIO container's type1 IOMMU. Methods mirror the ioctls and the vfio_iommu_driver_ops. */
export class VfioIommuType1 {
  readonly v2: boolean;
  readonly mm: UserAddressSpace;
  readonly dmaEntryLimit: number;
  private readonly iommu: VfioIommu;

  constructor(opts: VfioIommuType1Options = {}) {
    this.iommu = new VfioIommu(opts);
    this.v2 = this.iommu.v2;
    this.mm = this.iommu.mm;
    this.dmaEntryLimit = this.iommu.dmaEntryLimit;
  }

  /** The minimum page size: the granularity of map, unmap and dirty bitmaps. */
  get pgsize(): bigint {
    return this.iommu.pgsize;
  }

  /** Number of mappings. */
  get dmaCount(): number {
    return this.iommu.dmaList.length;
  }

  get dirtyTracking(): boolean {
    return this.iommu.dirtyPageTracking;
  }

  /** The mappings, ascending by IOVA (for inspection). */
  mappings(): { iova: bigint; size: bigint; vaddr: bigint; prot: number; pinned: number }[] {
    return [...this.iommu.dmaList].map((d) => ({ iova: d.start, size: d.size, vaddr: d.vaddr, prot: d.prot, pinned: d.pfns.size }));
  }

  // --- groups and devices (attach_group/detach_group, register_device/unregister_device) ---

  /** vfio_iommu_type1_attach_group(): an emulated group (mdev) or an IOMMU-backed one (pins everything). */
  attachGroup(group: object, type: IommuGroupType): void {
    vfioIommuType1AttachGroup(this.iommu, group, type);
  }

  /** vfio_iommu_type1_detach_group(). */
  detachGroup(group: object): void {
    vfioIommuType1DetachGroup(this.iommu, group);
  }

  /** vfio_iommu_type1_register_device(): an emulated device that gets dmaUnmap() calls. */
  registerDevice(device: DmaUnmapListener): void {
    vfioIommuType1RegisterDevice(this.iommu, device);
  }

  /** Opposite of registerDevice. */
  unregisterDevice(device: DmaUnmapListener): void {
    vfioIommuType1UnregisterDevice(this.iommu, device);
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
        return hasEmulated(this.iommu) ? 0 : 1;
      case VFIO_DMA_CC_IOMMU:
        return 1;
      default:
        return 0;
    }
  }

  // --- VFIO_IOMMU_MAP_DMA / VFIO_IOMMU_UNMAP_DMA ---

  /** VFIO_IOMMU_MAP_DMA (vfio_iommu_type1_map_dma + vfio_dma_do_map). */
  mapDma(map: DmaMapArgs): void {
    vfioDmaDoMap(this.iommu, map);
  }

  /** VFIO_IOMMU_UNMAP_DMA (vfio_iommu_type1_unmap_dma + vfio_dma_do_unmap); returns the bytes unmapped. */
  unmapDma(unmap: DmaUnmapArgs): bigint {
    return vfioDmaDoUnmap(this.iommu, unmap);
  }

  /** Container teardown (vfio_iommu_unmap_unpin_all), telling emulated devices first; returns the bytes unmapped. */
  unmapAll(): bigint {
    return vfioIommuUnmapAll(this.iommu);
  }

  // --- the emulated-device interfaces (vfio_pin_pages, vfio_unpin_pages, vfio_dma_rw) ---

  /** vfio_pin_pages(): pins `npage` pages from `iova`; `group` is the pinning device's group (promotes its dirty scope). */
  pinPages(iova: bigint, npage: number, prot: number, group?: object): PinnedPage[] {
    return vfioIommuType1PinPages(this.iommu, iova, npage, prot, group);
  }

  /** vfio_unpin_pages(): a device error here is a driver bug, so it warns like the kernel. */
  unpinPages(iova: bigint, npage: number): void {
    vfioIommuType1UnpinPages(this.iommu, iova, npage);
  }

  /** vfio_dma_rw(): copies between `buf` and the user memory behind [iova, iova + buf.length), across mappings. */
  dmaRw(iova: bigint, buf: Uint8Array, write: boolean): void {
    vfioIommuType1DmaRw(this.iommu, iova, buf, write);
  }

  /** dmaRw's checks without the copy: the user memory behind [iova, iova + length), for vfioDmaRwAsync. */
  dmaSegments(iova: bigint, length: number, write: boolean): DmaSegment[] {
    return vfioIommuType1DmaSegments(this.iommu, iova, length, write);
  }

  // --- VFIO_IOMMU_GET_INFO ---

  /** VFIO_IOMMU_GET_INFO as typed values. */
  getInfo(): Type1Info {
    const iommu = this.iommu;
    const caps: Type1InfoCap[] = [
      { id: VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, version: 1, flags: 0, pgsizeBitmap: iommu.pgsize, maxDirtyBitmapSize: DIRTY_BITMAP_SIZE_MAX },
      { id: VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, version: 1, avail: iommu.dmaAvail },
    ];
    // A container with only emulated groups has an empty IOVA list and no IOVA_RANGE cap.
    if (iommu.iovaList.length > 0) caps.push({ id: VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, version: 1, ranges: iommu.iovaList.map((r) => ({ ...r })) });
    return { flags: VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS, iovaPgsizes: iommu.pgsizeBitmap, caps };
  }

  // --- VFIO_IOMMU_DIRTY_PAGES ---

  /** VFIO_IOMMU_DIRTY_PAGES_FLAG_START. */
  dirtyStart(): void {
    vfioIommuDirtyStart(this.iommu);
  }

  /** VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP. */
  dirtyStop(): void {
    vfioIommuDirtyStop(this.iommu);
  }

  /** VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP: writes the bitmap of [iova, iova + size) into `bitmap.data`. */
  dirtyGetBitmap(iova: bigint, size: bigint, bitmap: VfioBitmap): void {
    vfioIovaDirtyBitmap(this.iommu, iova, size, bitmap);
  }
}
