// VFIO and iommufd ioctl request numbers and extension ids (include/uapi/linux/vfio.h, include/uapi/linux/iommufd.h).

/** asm-generic/ioctl.h field layout: nr 8 bits, type 8 bits, size 14 bits, dir 2 bits. */
const IOC_NRSHIFT = 0;
const IOC_TYPESHIFT = 8;
const IOC_SIZESHIFT = 16;
const IOC_DIRSHIFT = 30;
const IOC_NONE = 0;

/** `_IOC(dir, type, nr, size)`; `type` is a one-character string or its code. */
export function _IOC(dir: number, type: string | number, nr: number, size: number): number {
  const t = typeof type === 'string' ? type.charCodeAt(0) : type;
  return ((dir << IOC_DIRSHIFT) | (t << IOC_TYPESHIFT) | (nr << IOC_NRSHIFT) | (size << IOC_SIZESHIFT)) >>> 0;
}

/** `_IO(type, nr)`: VFIO uses it for every ioctl so that no struct size is baked into the number. */
export function _IO(type: string | number, nr: number): number {
  return _IOC(IOC_NONE, type, nr, 0);
}

/** `_IOC_NR(cmd)` and `_IOC_TYPE(cmd)`. */
export function _IOC_NR(cmd: number): number {
  return (cmd >>> IOC_NRSHIFT) & 0xff;
}
export function _IOC_TYPE(cmd: number): number {
  return (cmd >>> IOC_TYPESHIFT) & 0xff;
}

export const VFIO_API_VERSION = 0;

// Extensions (VFIO_CHECK_EXTENSION arguments and VFIO_SET_IOMMU types).
export const VFIO_TYPE1_IOMMU = 1;
export const VFIO_SPAPR_TCE_IOMMU = 2;
export const VFIO_TYPE1v2_IOMMU = 3;
/** The IOMMU enforces DMA cache coherence; may change as groups come and go. */
export const VFIO_DMA_CC_IOMMU = 4;
export const VFIO_EEH = 5;
export const __VFIO_RESERVED_TYPE1_NESTING_IOMMU = 6;
export const VFIO_SPAPR_TCE_v2_IOMMU = 7;
/** No translation or isolation; only VFIO_CHECK_EXTENSION is supported. */
export const VFIO_NOIOMMU_IOMMU = 8;
/** Supports VFIO_DMA_UNMAP_FLAG_ALL. */
export const VFIO_UNMAP_ALL = 9;
/** Supports the vaddr flag for DMA map and unmap (not for mediated devices). */
export const VFIO_UPDATE_VADDR = 10;

export const VFIO_TYPE = ';'.charCodeAt(0);
export const VFIO_BASE = 100;

// Container (/dev/vfio/vfio) ioctls.
export const VFIO_GET_API_VERSION = _IO(VFIO_TYPE, VFIO_BASE + 0);
export const VFIO_CHECK_EXTENSION = _IO(VFIO_TYPE, VFIO_BASE + 1);
export const VFIO_SET_IOMMU = _IO(VFIO_TYPE, VFIO_BASE + 2);

// Group (/dev/vfio/$GROUP) ioctls.
export const VFIO_GROUP_GET_STATUS = _IO(VFIO_TYPE, VFIO_BASE + 3);
export const VFIO_GROUP_SET_CONTAINER = _IO(VFIO_TYPE, VFIO_BASE + 4);
export const VFIO_GROUP_UNSET_CONTAINER = _IO(VFIO_TYPE, VFIO_BASE + 5);
export const VFIO_GROUP_GET_DEVICE_FD = _IO(VFIO_TYPE, VFIO_BASE + 6);

// Device fd ioctls.
export const VFIO_DEVICE_GET_INFO = _IO(VFIO_TYPE, VFIO_BASE + 7);
export const VFIO_DEVICE_GET_REGION_INFO = _IO(VFIO_TYPE, VFIO_BASE + 8);
export const VFIO_DEVICE_GET_IRQ_INFO = _IO(VFIO_TYPE, VFIO_BASE + 9);
export const VFIO_DEVICE_SET_IRQS = _IO(VFIO_TYPE, VFIO_BASE + 10);
export const VFIO_DEVICE_RESET = _IO(VFIO_TYPE, VFIO_BASE + 11);
export const VFIO_DEVICE_GET_PCI_HOT_RESET_INFO = _IO(VFIO_TYPE, VFIO_BASE + 12);
export const VFIO_DEVICE_PCI_HOT_RESET = _IO(VFIO_TYPE, VFIO_BASE + 13);
export const VFIO_DEVICE_QUERY_GFX_PLANE = _IO(VFIO_TYPE, VFIO_BASE + 14);
export const VFIO_DEVICE_GET_GFX_DMABUF = _IO(VFIO_TYPE, VFIO_BASE + 15);
export const VFIO_DEVICE_IOEVENTFD = _IO(VFIO_TYPE, VFIO_BASE + 16);
export const VFIO_DEVICE_FEATURE = _IO(VFIO_TYPE, VFIO_BASE + 17);
export const VFIO_DEVICE_BIND_IOMMUFD = _IO(VFIO_TYPE, VFIO_BASE + 18);
export const VFIO_DEVICE_ATTACH_IOMMUFD_PT = _IO(VFIO_TYPE, VFIO_BASE + 19);
export const VFIO_DEVICE_DETACH_IOMMUFD_PT = _IO(VFIO_TYPE, VFIO_BASE + 20);

// Migration data fd ioctl.
export const VFIO_MIG_GET_PRECOPY_INFO = _IO(VFIO_TYPE, VFIO_BASE + 21);

// Type1 IOMMU ioctls on the container fd: they reuse the device fd's numbers 112-117.
export const VFIO_IOMMU_GET_INFO = _IO(VFIO_TYPE, VFIO_BASE + 12);
export const VFIO_IOMMU_MAP_DMA = _IO(VFIO_TYPE, VFIO_BASE + 13);
export const VFIO_IOMMU_UNMAP_DMA = _IO(VFIO_TYPE, VFIO_BASE + 14);
export const VFIO_IOMMU_ENABLE = _IO(VFIO_TYPE, VFIO_BASE + 15);
export const VFIO_IOMMU_DISABLE = _IO(VFIO_TYPE, VFIO_BASE + 16);
export const VFIO_IOMMU_DIRTY_PAGES = _IO(VFIO_TYPE, VFIO_BASE + 17);

// iommufd (/dev/iommu) ioctls: same type ';', numbers from IOMMUFD_CMD_BASE 0x80.
export const IOMMUFD_TYPE = VFIO_TYPE;
export const IOMMUFD_CMD_BASE = 0x80;
export const IOMMUFD_CMD_DESTROY = IOMMUFD_CMD_BASE;
export const IOMMUFD_CMD_IOAS_ALLOC = 0x81;
export const IOMMUFD_CMD_IOAS_ALLOW_IOVAS = 0x82;
export const IOMMUFD_CMD_IOAS_COPY = 0x83;
export const IOMMUFD_CMD_IOAS_IOVA_RANGES = 0x84;
export const IOMMUFD_CMD_IOAS_MAP = 0x85;
export const IOMMUFD_CMD_IOAS_UNMAP = 0x86;
export const IOMMUFD_CMD_OPTION = 0x87;
export const IOMMUFD_CMD_VFIO_IOAS = 0x88;
export const IOMMU_DESTROY = _IO(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY);
export const IOMMU_IOAS_ALLOC = _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOC);
export const IOMMU_IOAS_ALLOW_IOVAS = _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOW_IOVAS);
export const IOMMU_IOAS_COPY = _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_COPY);
export const IOMMU_IOAS_IOVA_RANGES = _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_IOVA_RANGES);
export const IOMMU_IOAS_MAP = _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP);
export const IOMMU_IOAS_UNMAP = _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_UNMAP);
export const IOMMU_OPTION = _IO(IOMMUFD_TYPE, IOMMUFD_CMD_OPTION);
export const IOMMU_VFIO_IOAS = _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VFIO_IOAS);

/** Which kind of file an ioctl was issued on: the numbers 112-117 mean different things per kind. */
export type VfioFdKind = 'container' | 'group' | 'device' | 'migration' | 'iommufd' | 'dmabuf';

const NAMES: ReadonlyArray<readonly [VfioFdKind, number, string]> = [
  ['container', VFIO_GET_API_VERSION, 'VFIO_GET_API_VERSION'],
  ['container', VFIO_CHECK_EXTENSION, 'VFIO_CHECK_EXTENSION'],
  ['container', VFIO_SET_IOMMU, 'VFIO_SET_IOMMU'],
  ['group', VFIO_GROUP_GET_STATUS, 'VFIO_GROUP_GET_STATUS'],
  ['group', VFIO_GROUP_SET_CONTAINER, 'VFIO_GROUP_SET_CONTAINER'],
  ['group', VFIO_GROUP_UNSET_CONTAINER, 'VFIO_GROUP_UNSET_CONTAINER'],
  ['group', VFIO_GROUP_GET_DEVICE_FD, 'VFIO_GROUP_GET_DEVICE_FD'],
  ['device', VFIO_DEVICE_GET_INFO, 'VFIO_DEVICE_GET_INFO'],
  ['device', VFIO_DEVICE_GET_REGION_INFO, 'VFIO_DEVICE_GET_REGION_INFO'],
  ['device', VFIO_DEVICE_GET_IRQ_INFO, 'VFIO_DEVICE_GET_IRQ_INFO'],
  ['device', VFIO_DEVICE_SET_IRQS, 'VFIO_DEVICE_SET_IRQS'],
  ['device', VFIO_DEVICE_RESET, 'VFIO_DEVICE_RESET'],
  ['device', VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, 'VFIO_DEVICE_GET_PCI_HOT_RESET_INFO'],
  ['device', VFIO_DEVICE_PCI_HOT_RESET, 'VFIO_DEVICE_PCI_HOT_RESET'],
  ['device', VFIO_DEVICE_QUERY_GFX_PLANE, 'VFIO_DEVICE_QUERY_GFX_PLANE'],
  ['device', VFIO_DEVICE_GET_GFX_DMABUF, 'VFIO_DEVICE_GET_GFX_DMABUF'],
  ['device', VFIO_DEVICE_IOEVENTFD, 'VFIO_DEVICE_IOEVENTFD'],
  ['device', VFIO_DEVICE_FEATURE, 'VFIO_DEVICE_FEATURE'],
  ['device', VFIO_DEVICE_BIND_IOMMUFD, 'VFIO_DEVICE_BIND_IOMMUFD'],
  ['device', VFIO_DEVICE_ATTACH_IOMMUFD_PT, 'VFIO_DEVICE_ATTACH_IOMMUFD_PT'],
  ['device', VFIO_DEVICE_DETACH_IOMMUFD_PT, 'VFIO_DEVICE_DETACH_IOMMUFD_PT'],
  ['migration', VFIO_MIG_GET_PRECOPY_INFO, 'VFIO_MIG_GET_PRECOPY_INFO'],
  ['container', VFIO_IOMMU_GET_INFO, 'VFIO_IOMMU_GET_INFO'],
  ['container', VFIO_IOMMU_MAP_DMA, 'VFIO_IOMMU_MAP_DMA'],
  ['container', VFIO_IOMMU_UNMAP_DMA, 'VFIO_IOMMU_UNMAP_DMA'],
  ['container', VFIO_IOMMU_ENABLE, 'VFIO_IOMMU_ENABLE'],
  ['container', VFIO_IOMMU_DISABLE, 'VFIO_IOMMU_DISABLE'],
  ['container', VFIO_IOMMU_DIRTY_PAGES, 'VFIO_IOMMU_DIRTY_PAGES'],
  ['iommufd', IOMMU_DESTROY, 'IOMMU_DESTROY'],
  ['iommufd', IOMMU_IOAS_ALLOC, 'IOMMU_IOAS_ALLOC'],
  ['iommufd', IOMMU_IOAS_ALLOW_IOVAS, 'IOMMU_IOAS_ALLOW_IOVAS'],
  ['iommufd', IOMMU_IOAS_COPY, 'IOMMU_IOAS_COPY'],
  ['iommufd', IOMMU_IOAS_IOVA_RANGES, 'IOMMU_IOAS_IOVA_RANGES'],
  ['iommufd', IOMMU_IOAS_MAP, 'IOMMU_IOAS_MAP'],
  ['iommufd', IOMMU_IOAS_UNMAP, 'IOMMU_IOAS_UNMAP'],
  ['iommufd', IOMMU_OPTION, 'IOMMU_OPTION'],
  ['iommufd', IOMMU_VFIO_IOAS, 'IOMMU_VFIO_IOAS'],
];

/**
 * The kernel name of an ioctl number, for logs. Numbers 112-117 are shared by the device fd and the
 * type1 container; give `fd` to pick one, otherwise every matching name is returned joined by '|'.
 * Unknown numbers come back as `ioctl(0x...)`.
 */
export function vfioIoctlName(cmd: number, fd?: VfioFdKind): string {
  const hits: string[] = [];
  for (const [kind, num, name] of NAMES) {
    if (num === cmd >>> 0 && (fd === undefined || fd === kind)) hits.push(name);
  }
  return hits.length > 0 ? hits.join('|') : `ioctl(0x${(cmd >>> 0).toString(16)})`;
}
