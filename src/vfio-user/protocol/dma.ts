// DMA_MAP, DMA_UNMAP, DMA_READ and DMA_WRITE payloads (vfio-user.rst; libvfio-user
// include/vfio-user.h and test_dma_{map,unmap}.py for errnos; QEMU hw/vfio-user/{container,pci}.c).
import { check } from '../../uapi/errno.js';

/** struct vfio_user_dma_map flags. */
export const VFIO_USER_F_DMA_REGION_READ = 1 << 0;
export const VFIO_USER_F_DMA_REGION_WRITE = 1 << 1;
/** struct vfio_user_dma_unmap flags (the kernel's VFIO_DMA_UNMAP_FLAG_*). */
export const VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP = 1 << 0;
export const VFIO_DMA_UNMAP_FLAG_ALL = 1 << 1;

export const VFIO_USER_DMA_MAP_SIZE = 32;
export const VFIO_USER_DMA_UNMAP_SIZE = 24;
/** struct vfio_user_bitmap: pgsize u64, size u64, then the bitmap bytes. */
export const VFIO_USER_BITMAP_SIZE = 16;

export interface DmaMapRequest {
  argsz: number;
  flags: number;
  /** Offset into the fd (0 when no fd came). */
  offset: bigint;
  address: bigint;
  size: bigint;
}

/**
 * Decodes DMA_MAP. EINVAL for a short payload, argsz below 32, flags other than READ/WRITE, or more
 * than one fd (the memory's fd, or none for DMA_READ/WRITE access).
 */
export function decodeDmaMap(payload: Buffer, fdCount: number): DmaMapRequest {
  check(payload.length >= VFIO_USER_DMA_MAP_SIZE, 'EINVAL', `DMA_MAP payload of ${payload.length} bytes`);
  const argsz = payload.readUInt32LE(0);
  const flags = payload.readUInt32LE(4);
  check(argsz >= VFIO_USER_DMA_MAP_SIZE, 'EINVAL', `DMA_MAP argsz ${argsz}`);
  check((flags & ~(VFIO_USER_F_DMA_REGION_READ | VFIO_USER_F_DMA_REGION_WRITE)) === 0, 'EINVAL', `DMA_MAP flags ${flags}`);
  check(fdCount <= 1, 'EINVAL', `DMA_MAP with ${fdCount} fds`);
  return {
    argsz,
    flags,
    offset: payload.readBigUInt64LE(8),
    address: payload.readBigUInt64LE(16),
    size: payload.readBigUInt64LE(24),
  };
}

export function encodeDmaMap(req: Omit<DmaMapRequest, 'argsz'> & { argsz?: number }): Buffer {
  const buf = Buffer.alloc(VFIO_USER_DMA_MAP_SIZE);
  buf.writeUInt32LE(req.argsz ?? VFIO_USER_DMA_MAP_SIZE, 0);
  buf.writeUInt32LE(req.flags, 4);
  buf.writeBigUInt64LE(req.offset, 8);
  buf.writeBigUInt64LE(req.address, 16);
  buf.writeBigUInt64LE(req.size, 24);
  return buf;
}

export interface DmaBitmap {
  pgsize: bigint;
  /** Size in bytes of the bitmap the reply must carry. */
  size: bigint;
}

export interface DmaUnmapRequest {
  /** Maximum reply payload size. */
  argsz: number;
  flags: number;
  address: bigint;
  size: bigint;
  /** Present with VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP. */
  bitmap: DmaBitmap | undefined;
}

/**
 * Decodes DMA_UNMAP with libvfio-user's errnos: EINVAL for a short payload or argsz; EOPNOTSUPP for
 * unknown flags; EINVAL for ALL combined with GET_DIRTY_BITMAP or with a non-zero range; EINVAL for
 * a GET_DIRTY_BITMAP without its bitmap header or with an argsz too small for the bitmap.
 */
export function decodeDmaUnmap(payload: Buffer): DmaUnmapRequest {
  check(payload.length >= VFIO_USER_DMA_UNMAP_SIZE, 'EINVAL', `DMA_UNMAP payload of ${payload.length} bytes`);
  const argsz = payload.readUInt32LE(0);
  const flags = payload.readUInt32LE(4);
  const address = payload.readBigUInt64LE(8);
  const size = payload.readBigUInt64LE(16);
  check(argsz >= VFIO_USER_DMA_UNMAP_SIZE, 'EINVAL', `DMA_UNMAP argsz ${argsz}`);
  check(
    (flags & ~(VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_ALL)) === 0,
    'EOPNOTSUPP',
    `DMA_UNMAP flags ${flags}`,
  );
  let bitmap: DmaBitmap | undefined;
  if (flags & VFIO_DMA_UNMAP_FLAG_ALL) {
    check((flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) === 0, 'EINVAL', 'DMA_UNMAP ALL with GET_DIRTY_BITMAP');
    check(address === 0n && size === 0n, 'EINVAL', 'DMA_UNMAP ALL with a range');
  } else if (flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) {
    check(payload.length >= VFIO_USER_DMA_UNMAP_SIZE + VFIO_USER_BITMAP_SIZE, 'EINVAL', 'DMA_UNMAP bitmap missing');
    bitmap = { pgsize: payload.readBigUInt64LE(24), size: payload.readBigUInt64LE(32) };
    check(
      BigInt(argsz) >= BigInt(VFIO_USER_DMA_UNMAP_SIZE + VFIO_USER_BITMAP_SIZE) + bitmap.size,
      'EINVAL',
      `DMA_UNMAP argsz ${argsz} too small for a ${bitmap.size}-byte bitmap`,
    );
  }
  return { argsz, flags, address, size, bitmap };
}

export function encodeDmaUnmap(req: Omit<DmaUnmapRequest, 'argsz' | 'bitmap'> & { argsz?: number; bitmap?: DmaBitmap }): Buffer {
  const withBitmap = req.bitmap !== undefined;
  const buf = Buffer.alloc(VFIO_USER_DMA_UNMAP_SIZE + (withBitmap ? VFIO_USER_BITMAP_SIZE : 0));
  const argsz = req.argsz ?? (req.bitmap === undefined ? VFIO_USER_DMA_UNMAP_SIZE : buf.length + Number(req.bitmap.size));
  buf.writeUInt32LE(argsz, 0);
  buf.writeUInt32LE(req.flags, 4);
  buf.writeBigUInt64LE(req.address, 8);
  buf.writeBigUInt64LE(req.size, 16);
  if (req.bitmap !== undefined) {
    buf.writeBigUInt64LE(req.bitmap.pgsize, 24);
    buf.writeBigUInt64LE(req.bitmap.size, 32);
  }
  return buf;
}

/**
 * The DMA_UNMAP reply: the spec says the server "responds with the original DMA entry", followed,
 * for GET_DIRTY_BITMAP, by the bitmap header and exactly `bitmap.size` bytes of bitmap.
 */
export function encodeDmaUnmapReply(req: DmaUnmapRequest, bitmapData?: Uint8Array): Buffer {
  if (req.bitmap === undefined) {
    return encodeDmaUnmap({ flags: req.flags, address: req.address, size: req.size });
  }
  const n = Number(req.bitmap.size);
  if (bitmapData === undefined || bitmapData.length !== n) {
    throw new RangeError(`DMA_UNMAP reply needs a ${n}-byte bitmap`);
  }
  const head = encodeDmaUnmap({ flags: req.flags, address: req.address, size: req.size, bitmap: req.bitmap });
  return Buffer.concat([head, bitmapData]);
}

/**
 * The layout of DMA_READ/DMA_WRITE payloads. The spec (and libvfio-user since 2021) uses
 * {address u64, count u64, data}; QEMU 10.x still uses its VFIOUserDMARW {offset u64, count u32,
 * data} (data at payload offset 12, message padded to 16 + count bytes of payload) and answers a
 * DMA_WRITE with a bare header. Requests encode to identical bytes in both (count < 2^32, zero
 * padding); the data offsets differ, so a server talking to QEMU must use 'qemu'.
 */
export type DmaRwLayout = 'spec' | 'qemu';

const DMA_RW_HDR = 16;

function dataOffset(layout: DmaRwLayout): number {
  return layout === 'spec' ? 16 : 12;
}

/** DMA_READ request (server to client): read `count` bytes at `address`. */
export function encodeDmaReadRequest(address: bigint, count: number): Buffer {
  const buf = Buffer.alloc(DMA_RW_HDR);
  buf.writeBigUInt64LE(address, 0);
  buf.writeBigUInt64LE(BigInt(count), 8);
  return buf;
}

/** The client's decoding of a DMA_READ/DMA_WRITE request header (spec layout). */
export function decodeDmaAccess(payload: Buffer, maxDataXferSize: number): { address: bigint; count: number } {
  check(payload.length >= DMA_RW_HDR, 'EINVAL', `DMA access payload of ${payload.length} bytes`);
  const count = payload.readBigUInt64LE(8);
  check(count <= BigInt(maxDataXferSize), 'EINVAL', `DMA access of ${count} bytes`);
  return { address: payload.readBigUInt64LE(0), count: Number(count) };
}

/** The DMA_READ reply carrying `data`. */
export function encodeDmaReadReply(address: bigint, data: Uint8Array, layout: DmaRwLayout = 'spec'): Buffer {
  const buf = Buffer.alloc(DMA_RW_HDR + data.length);
  buf.writeBigUInt64LE(address, 0);
  if (layout === 'spec') buf.writeBigUInt64LE(BigInt(data.length), 8);
  else buf.writeUInt32LE(data.length, 8);
  buf.set(data, dataOffset(layout));
  return buf;
}

/** Checks a DMA_READ reply against its request and returns the data (a view). EINVAL on mismatch. */
export function decodeDmaReadReply(payload: Buffer, address: bigint, count: number, layout: DmaRwLayout = 'spec'): Buffer {
  check(payload.length === DMA_RW_HDR + count, 'EINVAL', `DMA_READ reply of ${payload.length} bytes for ${count}`);
  const gotCount = layout === 'spec' ? payload.readBigUInt64LE(8) : BigInt(payload.readUInt32LE(8));
  check(payload.readBigUInt64LE(0) === address && gotCount === BigInt(count), 'EINVAL', 'DMA_READ reply does not match');
  const off = dataOffset(layout);
  return payload.subarray(off, off + count);
}

/** DMA_WRITE request (server to client) carrying `data` for `address`. */
export function encodeDmaWriteRequest(address: bigint, data: Uint8Array, layout: DmaRwLayout = 'spec'): Buffer {
  return encodeDmaReadReply(address, data, layout);
}

/** The client's view of a DMA_WRITE request (spec layout): the data to store, as a view. */
export function decodeDmaWriteRequest(payload: Buffer, maxDataXferSize: number): { address: bigint; data: Buffer } {
  const { address, count } = decodeDmaAccess(payload, maxDataXferSize);
  check(payload.length === DMA_RW_HDR + count, 'EINVAL', `DMA_WRITE of ${count} bytes in ${payload.length}`);
  return { address, data: payload.subarray(DMA_RW_HDR) };
}

/** The spec's DMA_WRITE reply: {address u64, count u32}. */
export function encodeDmaWriteReply(address: bigint, count: number): Buffer {
  const buf = Buffer.alloc(12);
  buf.writeBigUInt64LE(address, 0);
  buf.writeUInt32LE(count, 8);
  return buf;
}

/** Checks a DMA_WRITE reply: the spec's echo, or QEMU's empty payload. */
export function checkDmaWriteReply(payload: Buffer, address: bigint, count: number, layout: DmaRwLayout = 'spec'): void {
  if (layout === 'qemu' && payload.length === 0) return;
  check(payload.length >= 12, 'EINVAL', `DMA_WRITE reply of ${payload.length} bytes`);
  check(payload.readBigUInt64LE(0) === address && payload.readUInt32LE(8) === count, 'EINVAL', 'DMA_WRITE reply does not match');
}
