// vfio_pci_hot_reset_info / vfio_pci_dependent_device (GET_PCI_HOT_RESET_INFO) and vfio_pci_hot_reset (PCI_HOT_RESET) (include/uapi/linux/vfio.h).
import { VfioError } from './errno.js';
import { needArgsz, needBytes, outBuffer, viewOf } from './codec.js';

export const VFIO_PCI_HOT_RESET_FLAG_DEV_ID = 1 << 0;
export const VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED = 1 << 1;
/** devid values in a dependent device when the calling device was opened as a cdev. */
export const VFIO_PCI_DEVID_OWNED = 0;
export const VFIO_PCI_DEVID_NOT_OWNED = 0xffffffff; // -1 as __u32

/** struct vfio_pci_dependent_device: group_id|devid u32 @0, segment u16 @4, bus u8 @6, devfn u8 @7 (8 bytes). */
export interface VfioPciDependentDevice {
  /** group_id, or devid when the reply has VFIO_PCI_HOT_RESET_FLAG_DEV_ID (a union in the kernel). */
  groupId: number;
  segment: number;
  bus: number;
  devfn: number;
}
export const VFIO_PCI_DEPENDENT_DEVICE_SIZEOF = 8;

/** struct vfio_pci_hot_reset_info: argsz @0, flags @4, count @8, devices[] @12. */
export interface VfioPciHotResetInfo {
  argsz: number;
  flags: number;
  count: number;
  devices: VfioPciDependentDevice[];
}
export const VFIO_PCI_HOT_RESET_INFO_SIZEOF = 12;
/** offsetofend(struct vfio_pci_hot_reset_info, count). */
export const VFIO_PCI_HOT_RESET_INFO_MINSZ = 12;

/** argsz a caller needs for `count` dependent devices; below it the kernel answers ENOSPC with count set. */
export function vfioPciHotResetInfoSize(count: number): number {
  return VFIO_PCI_HOT_RESET_INFO_SIZEOF + count * VFIO_PCI_DEPENDENT_DEVICE_SIZEOF;
}

/** Decodes the header and as many of `count` devices as the buffer holds (a request carries none). */
export function decodeVfioPciHotResetInfo(buf: Uint8Array): VfioPciHotResetInfo {
  needBytes(buf, VFIO_PCI_HOT_RESET_INFO_MINSZ, 'vfio_pci_hot_reset_info');
  const dv = viewOf(buf);
  const argsz = dv.getUint32(0, true);
  needArgsz(argsz, VFIO_PCI_HOT_RESET_INFO_MINSZ, 'vfio_pci_hot_reset_info');
  const count = dv.getUint32(8, true);
  const avail = Math.floor((buf.byteLength - VFIO_PCI_HOT_RESET_INFO_SIZEOF) / VFIO_PCI_DEPENDENT_DEVICE_SIZEOF);
  const devices: VfioPciDependentDevice[] = [];
  for (let i = 0; i < Math.min(count, avail); i++) {
    const o = VFIO_PCI_HOT_RESET_INFO_SIZEOF + i * VFIO_PCI_DEPENDENT_DEVICE_SIZEOF;
    devices.push({
      groupId: dv.getUint32(o, true),
      segment: dv.getUint16(o + 4, true),
      bus: dv.getUint8(o + 6),
      devfn: dv.getUint8(o + 7),
    });
  }
  return { argsz, flags: dv.getUint32(4, true), count, devices };
}

/** Encodes the header and every entry of `devices` (count is written as given). */
export function encodeVfioPciHotResetInfo(x: VfioPciHotResetInfo, into?: Uint8Array): Uint8Array {
  const out = outBuffer(vfioPciHotResetInfoSize(x.devices.length), into, 'vfio_pci_hot_reset_info');
  const dv = viewOf(out);
  dv.setUint32(0, x.argsz, true);
  dv.setUint32(4, x.flags, true);
  dv.setUint32(8, x.count, true);
  x.devices.forEach((d, i) => {
    const o = VFIO_PCI_HOT_RESET_INFO_SIZEOF + i * VFIO_PCI_DEPENDENT_DEVICE_SIZEOF;
    dv.setUint32(o, d.groupId, true);
    dv.setUint16(o + 4, d.segment, true);
    dv.setUint8(o + 6, d.bus);
    dv.setUint8(o + 7, d.devfn);
  });
  return out;
}

/** struct vfio_pci_hot_reset: argsz @0, flags @4, count @8, group_fds[] s32 @12. */
export interface VfioPciHotReset {
  argsz: number;
  flags: number;
  count: number;
  groupFds: number[];
}
export const VFIO_PCI_HOT_RESET_SIZEOF = 12;
/** offsetofend(struct vfio_pci_hot_reset, count). */
export const VFIO_PCI_HOT_RESET_MINSZ = 12;

/** argsz < 12 or any flag is EINVAL (vfio_pci_ioctl_pci_hot_reset); the count fds must be present. */
export function decodeVfioPciHotReset(buf: Uint8Array): VfioPciHotReset {
  needBytes(buf, VFIO_PCI_HOT_RESET_MINSZ, 'vfio_pci_hot_reset');
  const dv = viewOf(buf);
  const argsz = dv.getUint32(0, true);
  needArgsz(argsz, VFIO_PCI_HOT_RESET_MINSZ, 'vfio_pci_hot_reset');
  const flags = dv.getUint32(4, true);
  if (flags !== 0) throw new VfioError('EINVAL', 'vfio_pci_hot_reset: flags must be 0');
  const count = dv.getUint32(8, true);
  if (buf.byteLength < VFIO_PCI_HOT_RESET_SIZEOF + count * 4) {
    throw new VfioError('EINVAL', `vfio_pci_hot_reset: ${count} group fds do not fit in ${buf.byteLength} bytes`);
  }
  const groupFds: number[] = [];
  for (let i = 0; i < count; i++) groupFds.push(dv.getInt32(VFIO_PCI_HOT_RESET_SIZEOF + i * 4, true));
  return { argsz, flags, count, groupFds };
}

export function encodeVfioPciHotReset(x: VfioPciHotReset, into?: Uint8Array): Uint8Array {
  const out = outBuffer(VFIO_PCI_HOT_RESET_SIZEOF + x.groupFds.length * 4, into, 'vfio_pci_hot_reset');
  const dv = viewOf(out);
  dv.setUint32(0, x.argsz, true);
  dv.setUint32(4, x.flags, true);
  dv.setUint32(8, x.count, true);
  x.groupFds.forEach((fd, i) => dv.setInt32(VFIO_PCI_HOT_RESET_SIZEOF + i * 4, fd, true));
  return out;
}
