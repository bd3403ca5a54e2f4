// The regions of an emulated PCI VFIO device and the device-file offset layout (vfio_pci_core.c vfio_pci_rw, vfio_pci_priv.h VFIO_PCI_OFFSET_SHIFT).
import { VfioError, check } from '../uapi/errno.js';
import type { VfioInfoCap } from '../uapi/caps.js';
import type { VfioRegionSparseMmapArea } from '../uapi/region-caps.js';

/** Device-file offset bits per region: `pos = index << 40 | offset`, as vfio-pci and the mdev samples lay it out. */
export const PCI_EMU_OFFSET_SHIFT = 40;
const OFFSET_SPAN = 2 ** PCI_EMU_OFFSET_SHIFT;

/** The fd that backs an mmappable region (the driver owns and closes it). */
export interface PciEmuMmap {
  /** A memfd (or any mmappable fd) the driver owns; it stays open while the region exists. */
  readonly fd: number;
  /** Byte offset of the region's start within `fd` (page aligned). */
  readonly offset: number;
  /** Only these parts of the region may be mapped (a SPARSE_MMAP cap); absent: the whole region. */
  readonly areas?: readonly VfioRegionSparseMmapArea[];
}

/**
 * One region. Handlers see region-relative offsets and a buffer of any length the region allows
 * (1, 2, 4, 8 bytes or a bulk copy); the dispatcher has already bounds-checked the access.
 */
export interface PciEmuRegion {
  /** Bytes; 0 means "not implemented" (GET_REGION_INFO reports size 0, flags 0). */
  readonly size: number;
  /** VFIO_REGION_INFO_FLAG_READ / WRITE; MMAP is added when `mmap` is set. */
  readonly flags: number;
  read?(offset: number, buf: Uint8Array): void;
  write?(offset: number, buf: Uint8Array): void;
  readonly mmap?: PciEmuMmap;
  /** Extra capabilities for GET_REGION_INFO (e.g. a TYPE cap for a device-specific region). */
  readonly caps?: readonly VfioInfoCap[];
}

/** The device-file offset of region `index` (VFIO_PCI_INDEX_TO_OFFSET). */
export function pciEmuIndexToOffset(index: number): number {
  return index * OFFSET_SPAN;
}

/** Splits a device-file position into region index and offset; EINVAL for a negative or non-integer position. */
export function pciEmuDecodePos(pos: number): { index: number; offset: number } {
  check(Number.isSafeInteger(pos) && pos >= 0, 'EINVAL', `bad file position ${pos}`);
  const index = Math.floor(pos / OFFSET_SPAN);
  return { index, offset: pos - index * OFFSET_SPAN };
}

/** Checks that [offset, offset + length) lies inside `region` (EINVAL otherwise, as a read past a BAR is). */
export function pciEmuCheckRange(region: PciEmuRegion, index: number, offset: number, length: number): void {
  if (length === 0 || offset >= region.size || offset + length > region.size) {
    throw new VfioError('EINVAL', `region ${index}: access [0x${offset.toString(16)}, +${length}) outside ${region.size} bytes`);
  }
}

/**
 * Calls `access(offset, chunk)` for naturally aligned chunks of 4, 2 or 1 bytes, the way the mdev
 * samples split a read(2) (mtty_read): for regions whose registers are narrower than the access.
 */
export function pciEmuSplitAccess(offset: number, buf: Uint8Array, access: (offset: number, chunk: Uint8Array) => void): void {
  let done = 0;
  while (done < buf.length) {
    const at = offset + done;
    const left = buf.length - done;
    const n = left >= 4 && at % 4 === 0 ? 4 : left >= 2 && at % 2 === 0 ? 2 : 1;
    access(at, buf.subarray(done, done + n));
    done += n;
  }
}
