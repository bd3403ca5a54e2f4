// The DMA logging features' data as vfio-user carries it (vfio-user.rst "VFIO_DEVICE_FEATURE_DMA_LOGGING_START",
// "VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT"): unlike the kernel's structs, the ranges follow the control head
// inline and the report's bitmap comes back in the reply, where the kernel has user pointers.
import { check } from '../../uapi/errno.js';

/** page_size u64, num_ranges u32, reserved u32: the head before the ranges. */
export const VFIO_USER_DMA_LOGGING_CONTROL_SIZE = 16;
/** iova u64, length u64. */
export const VFIO_USER_DMA_LOGGING_RANGE_SIZE = 16;
/** iova u64, length u64, page_size u64: the report's head before the bitmap. */
export const VFIO_USER_DMA_LOGGING_REPORT_SIZE = 24;

export interface DmaLoggingControl {
  readonly pageSize: bigint;
  /** Empty: log every write (the spec's num_ranges 0). */
  readonly ranges: readonly { readonly iova: bigint; readonly length: bigint }[];
}

/** DMA_LOGGING_START data: EINVAL when the payload is shorter than its head or its num_ranges ranges. */
export function decodeDmaLoggingControl(data: Uint8Array): DmaLoggingControl {
  check(data.length >= VFIO_USER_DMA_LOGGING_CONTROL_SIZE, 'EINVAL', `DMA_LOGGING_START data of ${data.length} bytes`);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const n = dv.getUint32(8, true);
  check(data.length >= VFIO_USER_DMA_LOGGING_CONTROL_SIZE + n * VFIO_USER_DMA_LOGGING_RANGE_SIZE, 'EINVAL', `DMA_LOGGING_START says ${n} ranges in ${data.length} bytes`);
  const ranges = [];
  for (let i = 0; i < n; i++) {
    const at = VFIO_USER_DMA_LOGGING_CONTROL_SIZE + i * VFIO_USER_DMA_LOGGING_RANGE_SIZE;
    ranges.push({ iova: dv.getBigUint64(at, true), length: dv.getBigUint64(at + 8, true) });
  }
  return { pageSize: dv.getBigUint64(0, true), ranges };
}

/** DMA_LOGGING_START data (client side, and the server's reply with the page size the device chose). */
export function encodeDmaLoggingControl(c: DmaLoggingControl): Buffer {
  const buf = Buffer.alloc(VFIO_USER_DMA_LOGGING_CONTROL_SIZE + c.ranges.length * VFIO_USER_DMA_LOGGING_RANGE_SIZE);
  buf.writeBigUInt64LE(c.pageSize, 0);
  buf.writeUInt32LE(c.ranges.length, 8);
  c.ranges.forEach((r, i) => {
    buf.writeBigUInt64LE(r.iova, VFIO_USER_DMA_LOGGING_CONTROL_SIZE + i * 16);
    buf.writeBigUInt64LE(r.length, VFIO_USER_DMA_LOGGING_CONTROL_SIZE + i * 16 + 8);
  });
  return buf;
}

export interface DmaLoggingReportRequest {
  readonly iova: bigint;
  readonly length: bigint;
  readonly pageSize: bigint;
}

/** DMA_LOGGING_REPORT request data: EINVAL when shorter than its 24 bytes. */
export function decodeDmaLoggingReport(data: Uint8Array): DmaLoggingReportRequest {
  check(data.length >= VFIO_USER_DMA_LOGGING_REPORT_SIZE, 'EINVAL', `DMA_LOGGING_REPORT data of ${data.length} bytes`);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { iova: dv.getBigUint64(0, true), length: dv.getBigUint64(8, true), pageSize: dv.getBigUint64(16, true) };
}

/** DMA_LOGGING_REPORT request data (client side); `bitmap` appended makes the server's reply data. */
export function encodeDmaLoggingReport(r: DmaLoggingReportRequest, bitmap?: Uint8Array): Buffer {
  const buf = Buffer.alloc(VFIO_USER_DMA_LOGGING_REPORT_SIZE + (bitmap?.length ?? 0));
  buf.writeBigUInt64LE(r.iova, 0);
  buf.writeBigUInt64LE(r.length, 8);
  buf.writeBigUInt64LE(r.pageSize, 16);
  if (bitmap !== undefined) buf.set(bitmap, VFIO_USER_DMA_LOGGING_REPORT_SIZE);
  return buf;
}

/**
 * Bytes of the report's bitmap: one bit per page of [iova, iova + length), in whole u64 words; 0 for an empty
 * range or a page size that is not a power of two (the device refuses those).
 */
export function dmaLoggingBitmapBytes(length: bigint, pageSize: bigint): number {
  if (length === 0n || pageSize === 0n || (pageSize & (pageSize - 1n)) !== 0n) return 0;
  const pages = (length - 1n) / pageSize + 1n;
  const bytes = ((pages + 63n) / 64n) * 8n;
  return bytes > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(bytes);
}
