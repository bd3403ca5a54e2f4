// Region-info capabilities (SPARSE_MMAP, TYPE, MSIX_MAPPABLE), region type/subtype ids and the GFX EDID region layout (include/uapi/linux/vfio.h).
import { VfioError } from './errno.js';
import { needBytes, outBuffer, viewOf } from './codec.js';
import type { VfioInfoCap } from './caps.js';

export const VFIO_REGION_INFO_CAP_SPARSE_MMAP = 1;
export const VFIO_REGION_INFO_CAP_TYPE = 2;
export const VFIO_REGION_INFO_CAP_MSIX_MAPPABLE = 3;
export const VFIO_REGION_INFO_CAP_NVLINK2_SSATGT = 4;
export const VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD = 5;

// Region types (global per bus driver) and subtypes.
export const VFIO_REGION_TYPE_PCI_VENDOR_TYPE = 0x80000000; // (1 << 31), kept unsigned
export const VFIO_REGION_TYPE_PCI_VENDOR_MASK = 0xffff;
export const VFIO_REGION_TYPE_GFX = 1;
export const VFIO_REGION_TYPE_CCW = 2;
export const VFIO_REGION_TYPE_MIGRATION_DEPRECATED = 3;
export const VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION = 1;
export const VFIO_REGION_SUBTYPE_INTEL_IGD_HOST_CFG = 2;
export const VFIO_REGION_SUBTYPE_INTEL_IGD_LPC_CFG = 3;
export const VFIO_REGION_SUBTYPE_NVIDIA_NVLINK2_RAM = 1;
export const VFIO_REGION_SUBTYPE_IBM_NVLINK2_ATSD = 1;
export const VFIO_REGION_SUBTYPE_GFX_EDID = 1;
export const VFIO_REGION_SUBTYPE_CCW_ASYNC_CMD = 1;
export const VFIO_REGION_SUBTYPE_CCW_SCHIB = 2;
export const VFIO_REGION_SUBTYPE_CCW_CRW = 3;
export const VFIO_REGION_SUBTYPE_MIGRATION_DEPRECATED = 1;

/** struct vfio_region_sparse_mmap_area: offset u64 @0, size u64 @8 (16 bytes). */
export interface VfioRegionSparseMmapArea {
  offset: bigint;
  size: bigint;
}

/** vfio_region_info_cap_sparse_mmap after the header: nr_areas @8, reserved @12, areas[] @16. */
export const VFIO_REGION_INFO_CAP_SPARSE_MMAP_SIZEOF = 16;
export const VFIO_REGION_SPARSE_MMAP_AREA_SIZEOF = 16;

/** The SPARSE_MMAP capability (version 1): only these areas of the region may be mmapped. */
export function vfioRegionCapSparseMmap(areas: readonly VfioRegionSparseMmapArea[]): VfioInfoCap {
  const data = new Uint8Array(8 + areas.length * VFIO_REGION_SPARSE_MMAP_AREA_SIZEOF);
  const dv = viewOf(data);
  dv.setUint32(0, areas.length, true);
  areas.forEach((a, i) => {
    dv.setBigUint64(8 + i * 16, a.offset, true);
    dv.setBigUint64(16 + i * 16, a.size, true);
  });
  return { id: VFIO_REGION_INFO_CAP_SPARSE_MMAP, version: 1, data };
}

/** Decodes a SPARSE_MMAP cap body (bytes after the header); EINVAL if nr_areas overruns it. */
export function decodeVfioRegionCapSparseMmap(data: Uint8Array): VfioRegionSparseMmapArea[] {
  needBytes(data, 8, 'vfio_region_info_cap_sparse_mmap');
  const dv = viewOf(data);
  const n = dv.getUint32(0, true);
  if (8 + n * 16 > data.byteLength) {
    throw new VfioError('EINVAL', `vfio_region_info_cap_sparse_mmap: ${n} areas do not fit in ${data.byteLength} bytes`);
  }
  const out: VfioRegionSparseMmapArea[] = [];
  for (let i = 0; i < n; i++) {
    out.push({ offset: dv.getBigUint64(8 + i * 16, true), size: dv.getBigUint64(16 + i * 16, true) });
  }
  return out;
}

/** struct vfio_region_info_cap_type after the header: type @8, subtype @12 (16 bytes in all). */
export interface VfioRegionInfoCapType {
  type: number;
  subtype: number;
}
export const VFIO_REGION_INFO_CAP_TYPE_SIZEOF = 16;

/** The TYPE capability (version 1) naming a device-specific region. */
export function vfioRegionCapType(type: number, subtype: number): VfioInfoCap {
  const data = new Uint8Array(8);
  const dv = viewOf(data);
  dv.setUint32(0, type, true);
  dv.setUint32(4, subtype, true);
  return { id: VFIO_REGION_INFO_CAP_TYPE, version: 1, data };
}

export function decodeVfioRegionCapType(data: Uint8Array): VfioRegionInfoCapType {
  needBytes(data, 8, 'vfio_region_info_cap_type');
  const dv = viewOf(data);
  return { type: dv.getUint32(0, true), subtype: dv.getUint32(4, true) };
}

/** The MSIX_MAPPABLE capability: a bare header (version 1), the MSI-X BAR may be mmapped whole. */
export function vfioRegionCapMsixMappable(): VfioInfoCap {
  return { id: VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, version: 1, data: new Uint8Array(0) };
}

// struct vfio_region_gfx_edid: the register block at the start of a GFX/EDID region.
export const VFIO_DEVICE_GFX_LINK_STATE_UP = 1;
export const VFIO_DEVICE_GFX_LINK_STATE_DOWN = 2;

/** vfio_region_gfx_edid: edid_offset @0, edid_max_size @4, edid_size @8, max_xres @12, max_yres @16, link_state @20. */
export interface VfioRegionGfxEdid {
  edidOffset: number;
  edidMaxSize: number;
  edidSize: number;
  maxXres: number;
  maxYres: number;
  linkState: number;
}
export const VFIO_REGION_GFX_EDID_SIZEOF = 24;
/** Field offsets, for drivers that serve register reads/writes of the region. */
export const VFIO_REGION_GFX_EDID_OFFSETS = Object.freeze({
  edidOffset: 0,
  edidMaxSize: 4,
  edidSize: 8,
  maxXres: 12,
  maxYres: 16,
  linkState: 20,
} as const);

export function decodeVfioRegionGfxEdid(buf: Uint8Array): VfioRegionGfxEdid {
  needBytes(buf, VFIO_REGION_GFX_EDID_SIZEOF, 'vfio_region_gfx_edid');
  const dv = viewOf(buf);
  return {
    edidOffset: dv.getUint32(0, true),
    edidMaxSize: dv.getUint32(4, true),
    edidSize: dv.getUint32(8, true),
    maxXres: dv.getUint32(12, true),
    maxYres: dv.getUint32(16, true),
    linkState: dv.getUint32(20, true),
  };
}

export function encodeVfioRegionGfxEdid(x: VfioRegionGfxEdid, into?: Uint8Array): Uint8Array {
  const out = outBuffer(VFIO_REGION_GFX_EDID_SIZEOF, into, 'vfio_region_gfx_edid');
  const dv = viewOf(out);
  dv.setUint32(0, x.edidOffset, true);
  dv.setUint32(4, x.edidMaxSize, true);
  dv.setUint32(8, x.edidSize, true);
  dv.setUint32(12, x.maxXres, true);
  dv.setUint32(16, x.maxYres, true);
  dv.setUint32(20, x.linkState, true);
  return out;
}
