// Groups and devices of the type1 IOMMU: attaching a group (narrowing the IOVA list to the aperture minus reserved
// regions, replaying existing mappings into a first IOMMU domain), detaching it, and the emulated devices that hear
// about unmaps. Follows vfio_iommu_type1_attach_group(), vfio_iommu_type1_detach_group(), vfio_iommu_aper_conflict(),
// vfio_iommu_resv_conflict(), vfio_iommu_replay() and vfio_iommu_type1_register_device() in drivers/vfio/vfio_iommu_type1.c.

import { check } from '../uapi/errno.js';
import { U64_MAX } from './dma-space.js';
import { clampRanges, excludeRanges, type DmaUnmapListener, type IommuGroupType } from './iommu-type1-types.js';
import { hasDomain, type VfioIommu } from './type1-state.js';
import { vfioPinMapDma } from './type1-pin.js';
import { vfioIommuUnmapUnpinAll } from './type1-dma.js';
import { vfioIommuMarkAllDirty } from './type1-dirty.js';

/** vfio_iommu_type1_attach_group(): an emulated group (mdev) or an IOMMU-backed one (pins everything). */
export function vfioIommuType1AttachGroup(iommu: VfioIommu, group: object, type: IommuGroupType): void {
  check(!iommu.groups.has(group), 'EINVAL', 'group already attached');
  if (type === 'emulated') {
    // An emulated group can only dirty memory through the pinning interfaces.
    iommu.groups.set(group, { type, pinnedPageDirtyScope: true });
    return;
  }
  const { start, end } = iommu.aperture;
  const list = iommu.dmaList;
  // vfio_iommu_aper_conflict(): only an existing IOVA list can conflict.
  const lo = iommu.iovaList[0];
  const hi = iommu.iovaList[iommu.iovaList.length - 1];
  if (lo !== undefined && hi !== undefined) {
    check(start <= hi.end && end >= lo.start, 'EINVAL', 'aperture disjoint from the IOVA list');
    check(start <= lo.start || list.findFirst(lo.start, start - 1n) === undefined, 'EINVAL', 'mappings below the aperture');
    check(end >= hi.end || list.findFirst(end + 1n, hi.end) === undefined, 'EINVAL', 'mappings beyond the aperture');
  }
  // vfio_iommu_resv_conflict().
  for (const r of iommu.reservedRegions) {
    check(list.findFirst(r.start, r.end) === undefined, 'EINVAL', 'a mapping overlaps a reserved region');
  }
  const narrowed = lo === undefined ? [{ start, end }] : clampRanges(iommu.iovaList, start, end);
  const iovas = excludeRanges(narrowed, iommu.reservedRegions);
  check(iovas.length > 0, 'EINVAL', 'no usable IOVA range');
  if (!hasDomain(iommu)) {
    // vfio_iommu_replay(): the new domain pins and maps what is already mapped.
    for (const dma of list) vfioPinMapDma(iommu, dma);
    for (const dma of list) dma.iommuMapped = true;
  }
  iommu.iovaList = iovas;
  iommu.groups.set(group, { type, pinnedPageDirtyScope: false });
  // It can dirty memory directly until it declares itself through the pinning interface.
  iommu.numNonPinnedGroups++;
}

/** vfio_iommu_type1_detach_group(). */
export function vfioIommuType1DetachGroup(iommu: VfioIommu, group: object): void {
  const entry = iommu.groups.get(group);
  if (entry === undefined) return;
  iommu.groups.delete(group);
  const updateDirtyScope = !entry.pinnedPageDirtyScope;
  if (entry.type === 'iommu' && !hasDomain(iommu)) {
    // The last IOMMU domain is gone: nothing stays pinned for it, and the aperture reopens.
    for (const dma of iommu.dmaList) dma.iommuMapped = false;
    iommu.iovaList = [{ start: 0n, end: U64_MAX }];
  }
  if (iommu.groups.size === 0) {
    if (iommu.devices.size > 0) iommu.log.warn({ devices: iommu.devices.size }, 'vfio type1: last group detached with devices registered');
    vfioIommuUnmapUnpinAll(iommu);
  }
  if (updateDirtyScope) {
    iommu.numNonPinnedGroups--;
    // The group could have written anything it mapped: report all of it.
    vfioIommuMarkAllDirty(iommu);
  }
}

/** vfio_iommu_type1_register_device(): an emulated device that gets dmaUnmap() calls. */
export function vfioIommuType1RegisterDevice(iommu: VfioIommu, device: DmaUnmapListener): void {
  iommu.devices.add(device);
}

/** Opposite of vfioIommuType1RegisterDevice. */
export function vfioIommuType1UnregisterDevice(iommu: VfioIommu, device: DmaUnmapListener): void {
  iommu.devices.delete(device);
}
