// Tests for the VFIO/iommufd ioctl numbers against the values _IO(';', n) gives in C.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as I from './ioctl.js';

test('_IO packs type and nr with no size or direction', () => {
  assert.equal(I._IO(';', 100), 0x3b64);
  assert.equal(I._IO(0x3b, 0x80), 0x3b80);
  assert.equal(I._IOC_NR(I.VFIO_DEVICE_FEATURE), 117);
  assert.equal(I._IOC_TYPE(I.VFIO_DEVICE_FEATURE), 0x3b);
  // _IOC with a direction and size, e.g. _IOR(type, nr, u32) = (2 << 30) | (4 << 16) | ...
  assert.equal(I._IOC(2, 'A', 1, 4), 0x80044101);
});

test('VFIO ioctl numbers are VFIO_BASE + n on type ";"', () => {
  const want: Array<[number, number]> = [
    [I.VFIO_GET_API_VERSION, 0x3b64],
    [I.VFIO_CHECK_EXTENSION, 0x3b65],
    [I.VFIO_SET_IOMMU, 0x3b66],
    [I.VFIO_GROUP_GET_STATUS, 0x3b67],
    [I.VFIO_GROUP_SET_CONTAINER, 0x3b68],
    [I.VFIO_GROUP_UNSET_CONTAINER, 0x3b69],
    [I.VFIO_GROUP_GET_DEVICE_FD, 0x3b6a],
    [I.VFIO_DEVICE_GET_INFO, 0x3b6b],
    [I.VFIO_DEVICE_GET_REGION_INFO, 0x3b6c],
    [I.VFIO_DEVICE_GET_IRQ_INFO, 0x3b6d],
    [I.VFIO_DEVICE_SET_IRQS, 0x3b6e],
    [I.VFIO_DEVICE_RESET, 0x3b6f],
    [I.VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, 0x3b70],
    [I.VFIO_DEVICE_PCI_HOT_RESET, 0x3b71],
    [I.VFIO_DEVICE_QUERY_GFX_PLANE, 0x3b72],
    [I.VFIO_DEVICE_GET_GFX_DMABUF, 0x3b73],
    [I.VFIO_DEVICE_IOEVENTFD, 0x3b74],
    [I.VFIO_DEVICE_FEATURE, 0x3b75],
    [I.VFIO_DEVICE_BIND_IOMMUFD, 0x3b76],
    [I.VFIO_DEVICE_ATTACH_IOMMUFD_PT, 0x3b77],
    [I.VFIO_DEVICE_DETACH_IOMMUFD_PT, 0x3b78],
    [I.VFIO_MIG_GET_PRECOPY_INFO, 0x3b79],
    [I.VFIO_IOMMU_GET_INFO, 0x3b70],
    [I.VFIO_IOMMU_MAP_DMA, 0x3b71],
    [I.VFIO_IOMMU_UNMAP_DMA, 0x3b72],
    [I.VFIO_IOMMU_ENABLE, 0x3b73],
    [I.VFIO_IOMMU_DISABLE, 0x3b74],
    [I.VFIO_IOMMU_DIRTY_PAGES, 0x3b75],
    [I.IOMMU_DESTROY, 0x3b80],
    [I.IOMMU_IOAS_ALLOC, 0x3b81],
    [I.IOMMU_IOAS_MAP, 0x3b85],
    [I.IOMMU_IOAS_UNMAP, 0x3b86],
  ];
  for (const [got, exp] of want) assert.equal(got, exp, `0x${exp.toString(16)}`);
});

test('extension ids and API version', () => {
  assert.equal(I.VFIO_API_VERSION, 0);
  assert.deepEqual(
    [I.VFIO_TYPE1_IOMMU, I.VFIO_SPAPR_TCE_IOMMU, I.VFIO_TYPE1v2_IOMMU, I.VFIO_DMA_CC_IOMMU, I.VFIO_EEH],
    [1, 2, 3, 4, 5],
  );
  assert.deepEqual([I.VFIO_NOIOMMU_IOMMU, I.VFIO_UNMAP_ALL, I.VFIO_UPDATE_VADDR], [8, 9, 10]);
});

test('vfioIoctlName disambiguates shared numbers by fd kind', () => {
  assert.equal(I.vfioIoctlName(I.VFIO_DEVICE_GET_INFO), 'VFIO_DEVICE_GET_INFO');
  assert.equal(I.vfioIoctlName(0x3b70, 'device'), 'VFIO_DEVICE_GET_PCI_HOT_RESET_INFO');
  assert.equal(I.vfioIoctlName(0x3b70, 'container'), 'VFIO_IOMMU_GET_INFO');
  assert.equal(I.vfioIoctlName(0x3b75), 'VFIO_DEVICE_FEATURE|VFIO_IOMMU_DIRTY_PAGES');
  assert.equal(I.vfioIoctlName(I.IOMMU_IOAS_MAP, 'iommufd'), 'IOMMU_IOAS_MAP');
  assert.equal(I.vfioIoctlName(0x1234), 'ioctl(0x1234)');
  assert.equal(I.vfioIoctlName(I.VFIO_DEVICE_GET_INFO, 'group'), 'ioctl(0x3b6b)');
});
