// Binary page records for migrating a device's memory (VRAM, a framebuffer) beside its JSON state records: a
// run of pages either carried as bytes or named as all-zero, each record checked by a CRC-32. No kernel driver in
// the series migrates memory this way (mdpy.c and mbochs.c do not migrate at all); the framing follows the
// state records (src/emu/state-record.ts) so one stream carries both, told apart by their magic.
import { crc32 } from 'node:zlib';
import { check } from '../uapi/errno.js';

/** 'VTPG' little-endian: the first four bytes of a page record. */
export const PAGE_RECORD_MAGIC = 0x47505456;
/** The framing format; bumped only if the header layout changes. */
export const PAGE_RECORD_FORMAT = 1;
/** magic u32 @0, format u16 @4, flags u16 @6, firstPage u32 @8, count u32 @12, dataLen u32 @16, crc32 u32 @20. */
export const PAGE_RECORD_HEADER_SIZE = 24;
/** The run's pages are all zero: no data follows. */
export const PAGE_RECORD_FLAG_ZERO = 1;
/** The page size of the stream (every memory a device migrates is a multiple of it). */
export const MIG_PAGE_SIZE = 4096;
/** Most pages one data record carries (256 KiB): bounds what a resuming side buffers for one record. */
export const PAGE_RECORD_MAX_DATA_PAGES = 64;

export interface PageRecordHeader {
  readonly flags: number;
  readonly firstPage: number;
  readonly count: number;
  readonly dataLen: number;
  readonly crc: number;
}

/** The CRC-32 (zlib's) of `bytes`: the record's integrity check and the sender's per-page change detector. */
export function pageCrc(bytes: Uint8Array): number {
  return crc32(bytes) >>> 0;
}

/** The CRC-32 of one page of zeros (a page whose CRC is this is checked byte by byte before it counts as zero). */
export const ZERO_PAGE_CRC = pageCrc(new Uint8Array(MIG_PAGE_SIZE));

/** Bytes a record of `count` pages takes in the stream. */
export function pageRecordSize(count: number, zero: boolean): number {
  return PAGE_RECORD_HEADER_SIZE + (zero ? 0 : count * MIG_PAGE_SIZE);
}

/** Writes the header of a record for pages [firstPage, firstPage + count) into `out` (its first 24 bytes). */
export function encodePageRecordHeader(out: Uint8Array, firstPage: number, count: number, data: Uint8Array | null): void {
  const dv = new DataView(out.buffer, out.byteOffset, PAGE_RECORD_HEADER_SIZE);
  dv.setUint32(0, PAGE_RECORD_MAGIC, true);
  dv.setUint16(4, PAGE_RECORD_FORMAT, true);
  dv.setUint16(6, data === null ? PAGE_RECORD_FLAG_ZERO : 0, true);
  dv.setUint32(8, firstPage, true);
  dv.setUint32(12, count, true);
  dv.setUint32(16, data === null ? 0 : data.length, true);
  dv.setUint32(20, data === null ? 0 : pageCrc(data), true);
}

/**
 * Parses and checks a page record header at `at` for a memory of `pages` pages (EINVAL: bad magic or format,
 * unknown flags, a run past the memory's end or longer than a record carries, a data length that does not match).
 */
export function decodePageRecordHeader(bytes: Uint8Array, at: number, pages: number): PageRecordHeader {
  const dv = new DataView(bytes.buffer, bytes.byteOffset + at, PAGE_RECORD_HEADER_SIZE);
  check(dv.getUint32(0, true) === PAGE_RECORD_MAGIC, 'EINVAL', 'bad page record magic');
  check(dv.getUint16(4, true) === PAGE_RECORD_FORMAT, 'EINVAL', `unknown page record format ${dv.getUint16(4, true)}`);
  const flags = dv.getUint16(6, true);
  check((flags & ~PAGE_RECORD_FLAG_ZERO) === 0, 'EINVAL', `unknown page record flags 0x${flags.toString(16)}`);
  const firstPage = dv.getUint32(8, true);
  const count = dv.getUint32(12, true);
  const dataLen = dv.getUint32(16, true);
  const crc = dv.getUint32(20, true);
  const zero = (flags & PAGE_RECORD_FLAG_ZERO) !== 0;
  check(count > 0 && firstPage + count <= pages, 'EINVAL', `page run ${firstPage}+${count} outside a memory of ${pages} pages`);
  check(zero || count <= PAGE_RECORD_MAX_DATA_PAGES, 'EINVAL', `a data record of ${count} pages`);
  check(dataLen === (zero ? 0 : count * MIG_PAGE_SIZE), 'EINVAL', `page record data length ${dataLen} for ${count} pages`);
  return { flags, firstPage, count, dataLen, crc };
}
