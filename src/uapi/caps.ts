// The INFO ioctls' capability chain: vfio_info_cap_header, building with the argsz rule, parsing (include/uapi/linux/vfio.h, drivers/vfio/vfio_main.c vfio_info_cap_add/shift).
import { VfioError } from './errno.js';
import { align8, viewOf } from './codec.js';

/** sizeof(struct vfio_info_cap_header): id u16 @0, version u16 @2, next u32 @4. */
export const VFIO_INFO_CAP_HEADER_SIZEOF = 8;

/** One capability: its header's id and version and the bytes that follow the header. */
export interface VfioInfoCap {
  readonly id: number;
  readonly version: number;
  /** The capability body after the 8-byte header (the kernel's `cap + 1`). */
  readonly data: Uint8Array;
}

/** A capability found in a received chain, with where it sits in the buffer. */
export interface VfioInfoCapFound extends VfioInfoCap {
  /** Offset of the header from the start of the info buffer. */
  readonly offset: number;
  /** The header's `next` (0 ends the chain). */
  readonly next: number;
}

/** Bytes a chain of `caps` takes: each cap starts 8-aligned, no padding after the last. */
export function vfioInfoCapChainSize(caps: readonly VfioInfoCap[]): number {
  let size = 0;
  for (const c of caps) size = align8(size) + VFIO_INFO_CAP_HEADER_SIZEOF + c.data.byteLength;
  return size;
}

/**
 * Writes the chain into `out` at `base` (the offset of the chain within the info buffer), with every
 * `next` relative to the start of the info buffer as the uAPI requires (vfio_info_cap_shift). Returns
 * the end offset. With the kernel's cap structs (all but the last a multiple of 8 long) the bytes are
 * exactly the kernel's; a cap of odd length is followed by zero padding so the next stays aligned.
 */
export function writeVfioInfoCapChain(caps: readonly VfioInfoCap[], out: Uint8Array, base: number): number {
  if (base % 8 !== 0) throw new RangeError(`cap chain base ${base} is not 8-aligned`);
  const dv = viewOf(out);
  let off = base;
  for (let i = 0; i < caps.length; i++) {
    const c = caps[i];
    if (c === undefined) continue;
    const end = off + VFIO_INFO_CAP_HEADER_SIZEOF + c.data.byteLength;
    const next = i + 1 < caps.length ? align8(end) : 0;
    dv.setUint16(off, c.id, true);
    dv.setUint16(off + 2, c.version, true);
    dv.setUint32(off + 4, next, true);
    out.set(c.data, off + VFIO_INFO_CAP_HEADER_SIZEOF);
    if (next !== 0) out.fill(0, end, next);
    off = next === 0 ? end : next;
  }
  return off;
}

/** The fixed part of an INFO struct as far as the capability rule touches it. */
export interface VfioInfoCapFraming {
  argsz: number;
  flags: number;
  capOffset: number;
}

/** What the argsz rule decided for one INFO reply. */
export interface VfioInfoCapPlacement {
  /** argsz to report: the caller's, or the size needed when the chain did not fit. */
  readonly argsz: number;
  /** flags with the CAPS bit set when there are caps. */
  readonly flags: number;
  /** Offset of the first cap (== the fixed struct size), or 0 when the chain did not fit. */
  readonly capOffset: number;
  /** Whether the chain is to be written after the fixed struct. */
  readonly fits: boolean;
  /** Total reply length: fixed struct + chain when it fits, else the fixed struct only. */
  readonly replySize: number;
}

/**
 * The kernel's rule for INFO ioctls with caps (e.g. vfio_pci_ioctl_get_region_info): with no caps,
 * nothing changes. Otherwise the CAPS flag is set; if `argsz` is smaller than the fixed struct plus
 * the chain, argsz is raised to the size needed, cap_offset is 0 and the call still succeeds;
 * else the chain follows the fixed struct and cap_offset points at it.
 */
export function vfioInfoCapPlace(
  info: VfioInfoCapFraming,
  capsFlag: number,
  fixedSize: number,
  caps: readonly VfioInfoCap[],
): VfioInfoCapPlacement {
  if (caps.length === 0) {
    return { argsz: info.argsz, flags: info.flags, capOffset: info.capOffset, fits: false, replySize: fixedSize };
  }
  const flags = (info.flags | capsFlag) >>> 0;
  const needed = fixedSize + vfioInfoCapChainSize(caps);
  if (info.argsz < needed) {
    return { argsz: needed, flags, capOffset: 0, fits: false, replySize: fixedSize };
  }
  return { argsz: info.argsz, flags, capOffset: fixedSize, fits: true, replySize: needed };
}

/**
 * Encodes an INFO reply with its caps: `encodeFixed` writes the fixed struct (after the argsz rule
 * has updated argsz/flags/capOffset), then the chain is appended if it fits.
 */
export function encodeVfioInfoWithCaps<T extends VfioInfoCapFraming>(
  info: T,
  capsFlag: number,
  fixedSize: number,
  caps: readonly VfioInfoCap[],
  encodeFixed: (x: T, into: Uint8Array) => Uint8Array,
): Uint8Array {
  const p = vfioInfoCapPlace(info, capsFlag, fixedSize, caps);
  const out = new Uint8Array(p.replySize);
  encodeFixed({ ...info, argsz: p.argsz, flags: p.flags, capOffset: p.capOffset }, out);
  if (p.fits) writeVfioInfoCapChain(caps, out, fixedSize);
  return out;
}

/**
 * Walks a received chain starting at `capOffset` (0 means no chain). Every header must lie inside
 * `buf` and past the fixed struct (`minOffset`), and offsets must increase, so a malformed or
 * looping chain is EINVAL rather than a hang. A cap's data runs to the next header (or the buffer end).
 */
export function parseVfioInfoCaps(buf: Uint8Array, capOffset: number, minOffset = 0): VfioInfoCapFound[] {
  const out: VfioInfoCapFound[] = [];
  if (capOffset === 0) return out;
  const dv = viewOf(buf);
  let off = capOffset;
  let last = minOffset - 1;
  while (off !== 0) {
    if (off <= last || off < minOffset || off + VFIO_INFO_CAP_HEADER_SIZEOF > buf.byteLength) {
      throw new VfioError('EINVAL', `capability chain: bad offset ${off} (buffer ${buf.byteLength} bytes)`);
    }
    const id = dv.getUint16(off, true);
    const version = dv.getUint16(off + 2, true);
    const next = dv.getUint32(off + 4, true);
    const end = next === 0 ? buf.byteLength : Math.min(next, buf.byteLength);
    const dataStart = off + VFIO_INFO_CAP_HEADER_SIZEOF;
    out.push({ id, version, offset: off, next, data: buf.subarray(dataStart, Math.max(dataStart, end)) });
    last = off;
    off = next;
  }
  return out;
}

/** The first cap with `id` in a received chain, like QEMU's vfio_get_region_info_cap(). */
export function findVfioInfoCap(
  buf: Uint8Array,
  capOffset: number,
  id: number,
  minOffset = 0,
): VfioInfoCapFound | undefined {
  return parseVfioInfoCaps(buf, capOffset, minOffset).find((c) => c.id === id);
}
