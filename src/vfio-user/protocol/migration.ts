// MIG_DATA_READ / MIG_DATA_WRITE payloads (vfio-user.rst; libvfio-user lib/migration.c
// handle_mig_data_read/write for the checks and errnos).
import { check } from '../../uapi/errno.js';

/** struct vfio_user_mig_data without data: argsz u32, size u32. */
export const VFIO_USER_MIG_DATA_SIZE = 8;

export interface MigDataRequest {
  argsz: number;
  /** Bytes to read, or bytes carried by a write. */
  size: number;
  /** MIG_DATA_WRITE: a view of the `size` data bytes; empty for reads. */
  data: Buffer;
}

function head(payload: Buffer, maxDataXferSize: number, what: string): { argsz: number; size: number } {
  check(payload.length >= VFIO_USER_MIG_DATA_SIZE, 'EINVAL', `${what} payload of ${payload.length} bytes`);
  const argsz = payload.readUInt32LE(0);
  const size = payload.readUInt32LE(4);
  check(size <= maxDataXferSize, 'EINVAL', `${what} of ${size} bytes exceeds ${maxDataXferSize}`);
  check(argsz >= VFIO_USER_MIG_DATA_SIZE + size, 'EINVAL', `${what} argsz ${argsz} too small for ${size}`);
  return { argsz, size };
}

/** Decodes MIG_DATA_READ: EINVAL for a short payload, size above the limit, or argsz < 8 + size. */
export function decodeMigDataRead(payload: Buffer, maxDataXferSize: number): MigDataRequest {
  const { argsz, size } = head(payload, maxDataXferSize, 'MIG_DATA_READ');
  return { argsz, size, data: payload.subarray(0, 0) };
}

/**
 * Decodes MIG_DATA_WRITE with MIG_DATA_READ's checks, and also (stricter than libvfio-user, which
 * trusts `size`) EINVAL unless exactly `size` data bytes follow.
 */
export function decodeMigDataWrite(payload: Buffer, maxDataXferSize: number): MigDataRequest {
  const { argsz, size } = head(payload, maxDataXferSize, 'MIG_DATA_WRITE');
  check(payload.length === VFIO_USER_MIG_DATA_SIZE + size, 'EINVAL', `MIG_DATA_WRITE of ${size} bytes in ${payload.length}`);
  return { argsz, size, data: payload.subarray(VFIO_USER_MIG_DATA_SIZE) };
}

/** A MIG_DATA_READ request (client side) for up to `size` bytes. */
export function encodeMigDataRead(size: number): Buffer {
  const buf = Buffer.alloc(VFIO_USER_MIG_DATA_SIZE);
  buf.writeUInt32LE(VFIO_USER_MIG_DATA_SIZE + size, 0);
  buf.writeUInt32LE(size, 4);
  return buf;
}

/** A MIG_DATA_WRITE request (client side) carrying `data`. */
export function encodeMigDataWrite(data: Uint8Array): Buffer {
  return encodeMigData(data);
}

/** The MIG_DATA_READ reply: argsz = 8 + n, size = n, then the n bytes (n < requested: no more data). */
export function encodeMigDataReadReply(data: Uint8Array): Buffer {
  return encodeMigData(data);
}

function encodeMigData(data: Uint8Array): Buffer {
  const buf = Buffer.alloc(VFIO_USER_MIG_DATA_SIZE + data.length);
  buf.writeUInt32LE(buf.length, 0);
  buf.writeUInt32LE(data.length, 4);
  buf.set(data, VFIO_USER_MIG_DATA_SIZE);
  return buf;
}

/** The client's check of a MIG_DATA_READ reply; returns the data (a view). */
export function decodeMigDataReadReply(payload: Buffer, requested: number): Buffer {
  check(payload.length >= VFIO_USER_MIG_DATA_SIZE, 'EINVAL', 'short MIG_DATA_READ reply');
  const size = payload.readUInt32LE(4);
  check(size <= requested && payload.length === VFIO_USER_MIG_DATA_SIZE + size, 'EINVAL', 'MIG_DATA_READ reply size');
  return payload.subarray(VFIO_USER_MIG_DATA_SIZE);
}
