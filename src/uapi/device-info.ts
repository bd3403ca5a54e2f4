// struct vfio_device_info (VFIO_DEVICE_GET_INFO), device flags, device API strings and device-info caps (include/uapi/linux/vfio.h).
import { needArgsz, needBytes, optU32, outBuffer, viewOf } from './codec.js';
import { encodeVfioInfoWithCaps } from './caps.js';
import type { VfioInfoCap } from './caps.js';

export const VFIO_DEVICE_FLAGS_RESET = 1 << 0;
export const VFIO_DEVICE_FLAGS_PCI = 1 << 1;
export const VFIO_DEVICE_FLAGS_PLATFORM = 1 << 2;
export const VFIO_DEVICE_FLAGS_AMBA = 1 << 3;
export const VFIO_DEVICE_FLAGS_CCW = 1 << 4;
export const VFIO_DEVICE_FLAGS_AP = 1 << 5;
export const VFIO_DEVICE_FLAGS_FSL_MC = 1 << 6;
export const VFIO_DEVICE_FLAGS_CAPS = 1 << 7;
export const VFIO_DEVICE_FLAGS_CDX = 1 << 8;

/** The mdev `device_api` attribute strings matching the device flags. */
export const VFIO_DEVICE_API_PCI_STRING = 'vfio-pci';
export const VFIO_DEVICE_API_PLATFORM_STRING = 'vfio-platform';
export const VFIO_DEVICE_API_AMBA_STRING = 'vfio-amba';
export const VFIO_DEVICE_API_CCW_STRING = 'vfio-ccw';
export const VFIO_DEVICE_API_AP_STRING = 'vfio-ap';

// Device-info capability ids.
export const VFIO_DEVICE_INFO_CAP_ZPCI_BASE = 1;
export const VFIO_DEVICE_INFO_CAP_ZPCI_GROUP = 2;
export const VFIO_DEVICE_INFO_CAP_ZPCI_UTIL = 3;
export const VFIO_DEVICE_INFO_CAP_ZPCI_PFIP = 4;
export const VFIO_DEVICE_INFO_CAP_PCI_ATOMIC_COMP = 5;
export const VFIO_PCI_ATOMIC_COMP32 = 1 << 0;
export const VFIO_PCI_ATOMIC_COMP64 = 1 << 1;
export const VFIO_PCI_ATOMIC_COMP128 = 1 << 2;

/** struct vfio_device_info: argsz @0, flags @4, num_regions @8, num_irqs @12, cap_offset @16, pad @20. */
export interface VfioDeviceInfo {
  argsz: number;
  flags: number;
  numRegions: number;
  numIrqs: number;
  capOffset: number;
}

export const VFIO_DEVICE_INFO_SIZEOF = 24;
/** offsetofend(struct vfio_device_info, num_irqs): older userspace passes only this much. */
export const VFIO_DEVICE_INFO_MINSZ = 16;

/** Decodes 16 or more bytes; cap_offset reads as 0 when the buffer stops before it. */
export function decodeVfioDeviceInfo(buf: Uint8Array): VfioDeviceInfo {
  needBytes(buf, VFIO_DEVICE_INFO_MINSZ, 'vfio_device_info');
  const dv = viewOf(buf);
  const argsz = dv.getUint32(0, true);
  needArgsz(argsz, VFIO_DEVICE_INFO_MINSZ, 'vfio_device_info');
  return {
    argsz,
    flags: dv.getUint32(4, true),
    numRegions: dv.getUint32(8, true),
    numIrqs: dv.getUint32(12, true),
    capOffset: optU32(dv, 16),
  };
}

export function encodeVfioDeviceInfo(x: VfioDeviceInfo, into?: Uint8Array): Uint8Array {
  const out = outBuffer(VFIO_DEVICE_INFO_SIZEOF, into, 'vfio_device_info');
  const dv = viewOf(out);
  dv.setUint32(0, x.argsz, true);
  dv.setUint32(4, x.flags, true);
  dv.setUint32(8, x.numRegions, true);
  dv.setUint32(12, x.numIrqs, true);
  dv.setUint32(16, x.capOffset, true);
  dv.setUint32(20, 0, true);
  return out;
}

/**
 * The GET_INFO reply under the kernel's rules: caps follow the 24-byte struct when argsz allows,
 * else argsz reports the size needed; and like vfio_pci_ioctl_get_info only min(argsz, 24) bytes of the
 * fixed struct go back, so a 16-byte caller gets 16 bytes.
 */
export function encodeVfioDeviceInfoWithCaps(x: VfioDeviceInfo, caps: readonly VfioInfoCap[]): Uint8Array {
  const out = encodeVfioInfoWithCaps(x, VFIO_DEVICE_FLAGS_CAPS, VFIO_DEVICE_INFO_SIZEOF, caps, encodeVfioDeviceInfo);
  return x.argsz < VFIO_DEVICE_INFO_SIZEOF ? out.subarray(0, Math.max(x.argsz, VFIO_DEVICE_INFO_MINSZ)) : out;
}

/** The PCI_ATOMIC_COMP device-info cap (version 1): flags @8, reserved @12 (16 bytes in all). */
export function vfioDeviceInfoCapPciAtomicComp(flags: number): VfioInfoCap {
  const data = new Uint8Array(8);
  viewOf(data).setUint32(0, flags, true);
  return { id: VFIO_DEVICE_INFO_CAP_PCI_ATOMIC_COMP, version: 1, data };
}
