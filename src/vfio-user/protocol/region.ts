// REGION_READ, REGION_WRITE and REGION_WRITE_MULTI payloads (vfio-user.rst; libvfio-user
// is_valid_region_access() for errnos; QEMU hw/vfio-user/protocol.h VFIOUserRegionRW/VFIOUserWROne).
import { VfioError, check } from '../../uapi/errno.js';
import {
  VFIO_USER_F_TYPE_REPLY,
  VFIO_USER_HDR_SIZE,
  VFIO_USER_REGION_READ,
  VFIO_USER_REGION_WRITE,
  getUnalignedLe32,
  putUnalignedLe16,
  putUnalignedLe32,
} from './header.js';

/** struct vfio_user_region_access without data: offset u64, region u32, count u32. */
export const VFIO_USER_REGION_ACCESS_SIZE = 16;
/** REGION_WRITE_MULTI: each entry carries at most 8 bytes; QEMU coalesces at most 200. */
export const VFIO_USER_MULTI_DATA = 8;
export const VFIO_USER_MULTI_MAX = 200;
export const VFIO_USER_WRITE_ONE_SIZE = 24;

/** A decoded region access. Hot paths reuse one object. Data, if any, is at payload[16, 16 + count). */
export interface RegionAccess {
  /** As a number: exact below 2^53; anything larger stays >= 2^53, so bounds checks still refuse it. */
  offset: number;
  region: number;
  count: number;
}

export function createRegionAccess(): RegionAccess {
  return { offset: 0, region: 0, count: 0 };
}

/** The u64 offset at `off` (the caller checked the length). */
function readOffset(buf: Buffer, off: number): number {
  return getUnalignedLe32(buf, off) + getUnalignedLe32(buf, off + 4) * 0x1_0000_0000;
}

function writeOffset(buf: Buffer, off: number, value: number): void {
  buf.writeUInt32LE(value % 0x1_0000_0000, off);
  buf.writeUInt32LE(Math.floor(value / 0x1_0000_0000), off + 4);
}

/**
 * Decodes a REGION_READ (`write` false) or REGION_WRITE request into `out`, without allocating.
 * EINVAL, as in libvfio-user, for a payload under 16 bytes, a count above `maxDataXferSize`, or a
 * write whose data length differs from count. Region index and bounds are the handler's to check.
 */
export function readRegionAccess(payload: Buffer, write: boolean, maxDataXferSize: number, out: RegionAccess): RegionAccess {
  return readRegionAccessAt(payload, 0, payload.length, write, maxDataXferSize, out);
}

/**
 * readRegionAccess of the payload at buf[at, at + length), read in place (the server's hot path, which has
 * no view of the payload). The data, if any, is at buf[at + 16, at + 16 + count).
 */
export function readRegionAccessAt(buf: Buffer, at: number, length: number, write: boolean, maxDataXferSize: number, out: RegionAccess): RegionAccess {
  if (length < VFIO_USER_REGION_ACCESS_SIZE) throw shortAccess(length);
  out.offset = readOffset(buf, at);
  out.region = getUnalignedLe32(buf, at + 8);
  out.count = getUnalignedLe32(buf, at + 12);
  if (out.count > maxDataXferSize) throw oversizedAccess(out.count);
  if (write && length - VFIO_USER_REGION_ACCESS_SIZE !== out.count) throw badWrite(out.count, length);
  return out;
}

/*
 * The decoder's errors, built in functions of their own so that the per-message path formats no text: a
 * template inline in a function TurboFan inlines into the message loop had its numbers converted to strings
 * on every call, ahead of the branch that throws.
 */
function shortAccess(length: number): VfioError {
  return new VfioError('EINVAL', `region access payload of ${length} bytes`);
}

function oversizedAccess(count: number): VfioError {
  return new VfioError('EINVAL', `region access of ${count} bytes`);
}

function badWrite(count: number, length: number): VfioError {
  return new VfioError('EINVAL', `region write of ${count} bytes in ${length}`);
}

/** A REGION_READ/REGION_WRITE request payload (client side). */
export function encodeRegionAccess(offset: number, region: number, count: number, data?: Uint8Array): Buffer {
  const buf = Buffer.alloc(VFIO_USER_REGION_ACCESS_SIZE + (data === undefined ? 0 : data.length));
  writeOffset(buf, 0, offset);
  buf.writeUInt32LE(region, 8);
  buf.writeUInt32LE(count, 12);
  if (data !== undefined) buf.set(data, VFIO_USER_REGION_ACCESS_SIZE);
  return buf;
}

/** Total size of a REGION_READ reply carrying `count` bytes. */
export function regionReadReplySize(count: number): number {
  return VFIO_USER_HDR_SIZE + VFIO_USER_REGION_ACCESS_SIZE + count;
}

/**
 * A reply's header and the access it echoes at `off`, stored without Buffer's argument checks (the
 * server's per-message path): msgId and the access are a decoded request's, checked against the region,
 * so every value fits its field.
 */
function putAccessReply(buf: Buffer, off: number, msgId: number, cmd: number, size: number, access: RegionAccess): number {
  putUnalignedLe16(buf, off, msgId);
  putUnalignedLe16(buf, off + 2, cmd);
  putUnalignedLe32(buf, off + 4, size);
  putUnalignedLe32(buf, off + 8, VFIO_USER_F_TYPE_REPLY);
  putUnalignedLe32(buf, off + 12, 0);
  const p = off + VFIO_USER_HDR_SIZE;
  putUnalignedLe32(buf, p, access.offset % 0x1_0000_0000);
  putUnalignedLe32(buf, p + 4, Math.floor(access.offset / 0x1_0000_0000));
  putUnalignedLe32(buf, p + 8, access.region);
  putUnalignedLe32(buf, p + 12, access.count);
  return p + VFIO_USER_REGION_ACCESS_SIZE;
}

/**
 * Writes a REGION_READ reply's header and access header at `off` (no allocation) and returns the
 * offset where the caller puts the `access.count` data bytes; the reply is regionReadReplySize(count).
 * `msgId` and `access` are those of the request, as decoded and checked.
 */
export function writeRegionReadReply(buf: Buffer, off: number, msgId: number, access: RegionAccess): number {
  return putAccessReply(buf, off, msgId, VFIO_USER_REGION_READ, regionReadReplySize(access.count), access);
}

/** Size of a REGION_WRITE reply: the header and the access echoed without data. */
export const VFIO_USER_REGION_WRITE_REPLY_SIZE = VFIO_USER_HDR_SIZE + VFIO_USER_REGION_ACCESS_SIZE;

/**
 * Writes a whole REGION_WRITE reply (VFIO_USER_REGION_WRITE_REPLY_SIZE bytes) at `off` and returns its size.
 * `msgId` and `access` are those of the request, as decoded and checked.
 */
export function writeRegionWriteReply(buf: Buffer, off: number, msgId: number, access: RegionAccess): number {
  putAccessReply(buf, off, msgId, VFIO_USER_REGION_WRITE, VFIO_USER_REGION_WRITE_REPLY_SIZE, access);
  return VFIO_USER_REGION_WRITE_REPLY_SIZE;
}

/**
 * Checks a REGION_READ (`write` false) or REGION_WRITE reply against the request and returns the
 * data read (a view; empty for writes). A read may return fewer bytes than asked (QEMU accepts
 * count <= requested); more is E2BIG as in QEMU; a mismatched echo is EINVAL.
 */
export function decodeRegionAccessReply(payload: Buffer, write: boolean, request: RegionAccess): Buffer {
  check(payload.length >= VFIO_USER_REGION_ACCESS_SIZE, 'EINVAL', `region reply of ${payload.length} bytes`);
  const count = payload.readUInt32LE(12);
  check(readOffset(payload, 0) === request.offset && payload.readUInt32LE(8) === request.region, 'EINVAL', 'region reply does not match');
  check(count <= request.count, 'E2BIG', `region reply of ${count} bytes for ${request.count}`);
  if (write) return payload.subarray(VFIO_USER_REGION_ACCESS_SIZE, VFIO_USER_REGION_ACCESS_SIZE);
  check(payload.length === VFIO_USER_REGION_ACCESS_SIZE + count, 'EINVAL', `region read reply of ${payload.length} bytes`);
  return payload.subarray(VFIO_USER_REGION_ACCESS_SIZE);
}

/** One coalesced write: offset u64, region u32, count u32, data[8] (only `count` bytes used). */
export interface RegionWriteOne {
  offset: number;
  region: number;
  count: number;
  /** A view of the `count` data bytes. */
  data: Buffer;
}

/**
 * Decodes REGION_WRITE_MULTI: wr_cnt u64 then wr_cnt fixed 24-byte entries. EINVAL for a short or
 * inconsistent payload, wr_cnt above 200 or 0, or an entry count above 8.
 */
export function decodeRegionWriteMulti(payload: Buffer): RegionWriteOne[] {
  check(payload.length >= 8, 'EINVAL', `WRITE_MULTI payload of ${payload.length} bytes`);
  const n = payload.readBigUInt64LE(0);
  check(n >= 1n && n <= BigInt(VFIO_USER_MULTI_MAX), 'EINVAL', `WRITE_MULTI wr_cnt ${n}`);
  const count = Number(n);
  check(payload.length === 8 + count * VFIO_USER_WRITE_ONE_SIZE, 'EINVAL', `WRITE_MULTI of ${count} in ${payload.length} bytes`);
  const writes: RegionWriteOne[] = [];
  for (let i = 0, p = 8; i < count; i++, p += VFIO_USER_WRITE_ONE_SIZE) {
    const c = payload.readUInt32LE(p + 12);
    check(c <= VFIO_USER_MULTI_DATA, 'EINVAL', `WRITE_MULTI entry of ${c} bytes`);
    writes.push({ offset: readOffset(payload, p), region: payload.readUInt32LE(p + 8), count: c, data: payload.subarray(p + 16, p + 16 + c) });
  }
  return writes;
}

export function encodeRegionWriteMulti(writes: readonly Omit<RegionWriteOne, 'count'>[]): Buffer {
  if (writes.length < 1 || writes.length > VFIO_USER_MULTI_MAX) throw new RangeError(`WRITE_MULTI of ${writes.length}`);
  const buf = Buffer.alloc(8 + writes.length * VFIO_USER_WRITE_ONE_SIZE);
  buf.writeBigUInt64LE(BigInt(writes.length), 0);
  let p = 8;
  for (const w of writes) {
    if (w.data.length > VFIO_USER_MULTI_DATA) throw new RangeError(`WRITE_MULTI entry of ${w.data.length} bytes`);
    writeOffset(buf, p, w.offset);
    buf.writeUInt32LE(w.region, p + 8);
    buf.writeUInt32LE(w.data.length, p + 12);
    buf.set(w.data, p + 16);
    p += VFIO_USER_WRITE_ONE_SIZE;
  }
  return buf;
}

/** The REGION_WRITE_MULTI reply: wr_cnt u64, the number of writes completed. */
export function encodeRegionWriteMultiReply(completed: number): Buffer {
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64LE(BigInt(completed), 0);
  return buf;
}
