// struct vfio_region_info (VFIO_DEVICE_GET_REGION_INFO), its flags and the fixed PCI/CCW region indexes (include/uapi/linux/vfio.h).
import { needArgsz, needBytes, outBuffer, viewOf } from './codec.js';
import { encodeVfioInfoWithCaps } from './caps.js';
import type { VfioInfoCap } from './caps.js';

export const VFIO_REGION_INFO_FLAG_READ = 1 << 0;
export const VFIO_REGION_INFO_FLAG_WRITE = 1 << 1;
export const VFIO_REGION_INFO_FLAG_MMAP = 1 << 2;
export const VFIO_REGION_INFO_FLAG_CAPS = 1 << 3;

// vfio-pci's fixed region indexes; indexes >= VFIO_PCI_NUM_REGIONS are device specific (TYPE cap).
export const VFIO_PCI_BAR0_REGION_INDEX = 0;
export const VFIO_PCI_BAR1_REGION_INDEX = 1;
export const VFIO_PCI_BAR2_REGION_INDEX = 2;
export const VFIO_PCI_BAR3_REGION_INDEX = 3;
export const VFIO_PCI_BAR4_REGION_INDEX = 4;
export const VFIO_PCI_BAR5_REGION_INDEX = 5;
export const VFIO_PCI_ROM_REGION_INDEX = 6;
export const VFIO_PCI_CONFIG_REGION_INDEX = 7;
export const VFIO_PCI_VGA_REGION_INDEX = 8;
export const VFIO_PCI_NUM_REGIONS = 9;

// vfio-ccw's fixed region indexes.
export const VFIO_CCW_CONFIG_REGION_INDEX = 0;
export const VFIO_CCW_NUM_REGIONS = 1;

/** struct vfio_region_info: argsz @0, flags @4, index @8, cap_offset @12, size u64 @16, offset u64 @24. */
export interface VfioRegionInfo {
  argsz: number;
  flags: number;
  index: number;
  capOffset: number;
  size: bigint;
  offset: bigint;
}

export const VFIO_REGION_INFO_SIZEOF = 32;
/** offsetofend(struct vfio_region_info, offset): what vfio-pci and the samples require. */
export const VFIO_REGION_INFO_MINSZ = 32;

export function decodeVfioRegionInfo(buf: Uint8Array): VfioRegionInfo {
  needBytes(buf, VFIO_REGION_INFO_MINSZ, 'vfio_region_info');
  const dv = viewOf(buf);
  const argsz = dv.getUint32(0, true);
  needArgsz(argsz, VFIO_REGION_INFO_MINSZ, 'vfio_region_info');
  return {
    argsz,
    flags: dv.getUint32(4, true),
    index: dv.getUint32(8, true),
    capOffset: dv.getUint32(12, true),
    size: dv.getBigUint64(16, true),
    offset: dv.getBigUint64(24, true),
  };
}

export function encodeVfioRegionInfo(x: VfioRegionInfo, into?: Uint8Array): Uint8Array {
  const out = outBuffer(VFIO_REGION_INFO_SIZEOF, into, 'vfio_region_info');
  const dv = viewOf(out);
  dv.setUint32(0, x.argsz, true);
  dv.setUint32(4, x.flags, true);
  dv.setUint32(8, x.index, true);
  dv.setUint32(12, x.capOffset, true);
  dv.setBigUint64(16, x.size, true);
  dv.setBigUint64(24, x.offset, true);
  return out;
}

/**
 * The GET_REGION_INFO reply with `caps` under the kernel's argsz rule (CAPS flag, cap_offset 0 and the
 * needed argsz when `x.argsz` is too small; else the chain after the 32-byte struct).
 */
export function encodeVfioRegionInfoWithCaps(x: VfioRegionInfo, caps: readonly VfioInfoCap[]): Uint8Array {
  return encodeVfioInfoWithCaps(x, VFIO_REGION_INFO_FLAG_CAPS, VFIO_REGION_INFO_SIZEOF, caps, encodeVfioRegionInfo);
}

/**
 * The device fd offset of a vfio-pci region: VFIO_PCI_INDEX_TO_OFFSET(index) = index << 40, the
 * layout vfio-pci and the mdev samples use (drivers/vfio/pci/vfio_pci_priv.h; not uAPI, a convention).
 */
export const VFIO_PCI_OFFSET_SHIFT = 40n;
export function vfioPciIndexToOffset(index: number): bigint {
  return BigInt(index) << VFIO_PCI_OFFSET_SHIFT;
}
export function vfioPciOffsetToIndex(off: bigint): number {
  return Number(off >> VFIO_PCI_OFFSET_SHIFT);
}
export const VFIO_PCI_OFFSET_MASK = (1n << VFIO_PCI_OFFSET_SHIFT) - 1n;
