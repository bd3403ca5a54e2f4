// DEVICE_GET_INFO, GET_REGION_INFO, GET_REGION_IO_FDS, GET_IRQ_INFO and SET_IRQS framing
// (vfio-user.rst; libvfio-user lib/libvfio-user.c handle_device_*, lib/irq.c; QEMU hw/vfio-user/device.c).
// The VFIO structs themselves (vfio_device_info, vfio_region_info + cap chain, vfio_irq_info,
// vfio_irq_set) pass through as bytes to and from the device file's ioctl; only their framing
// (sizes, argsz, fds) is checked here. Their field codecs live in src/uapi/.
import { check } from '../../uapi/errno.js';
import {
  VFIO_IRQ_SET_ACTION_TYPE_MASK,
  VFIO_IRQ_SET_DATA_BOOL,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_DATA_TYPE_MASK,
} from '../../uapi/irq-set.js';

export const VFIO_USER_DEVICE_INFO_SIZE = 16; // vfio-user's: the kernel's struct minus cap_offset/pad
export const VFIO_REGION_INFO_SIZE = 32;
export const VFIO_IRQ_INFO_SIZE = 16;
export const VFIO_IRQ_SET_SIZE = 20;
export const VFIO_USER_REGION_IO_FDS_SIZE = 16;
/** The spec's sub-region entry (ioeventfd or ioregionfd); libvfio-user's shadow variant differs. */
export const VFIO_USER_SUB_REGION_IO_FD_SIZE = 40;

export const VFIO_USER_IO_FD_TYPE_IOEVENTFD = 0;
export const VFIO_USER_IO_FD_TYPE_IOREGIONFD = 1;

// SET_IRQS carries the kernel's vfio_irq_set flags unchanged.
export {
  VFIO_IRQ_SET_DATA_NONE,
  VFIO_IRQ_SET_DATA_BOOL,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_ACTION_MASK,
  VFIO_IRQ_SET_ACTION_UNMASK,
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_DATA_TYPE_MASK,
  VFIO_IRQ_SET_ACTION_TYPE_MASK,
} from '../../uapi/irq-set.js';

/** A query whose payload starts {argsz u32, flags u32, index u32}: argsz is the largest reply the client takes. */
export interface IndexedQuery {
  argsz: number;
  index: number;
}

function argszOnly(payload: Buffer, min: number, what: string): number {
  check(payload.length >= min, 'EINVAL', `${what} payload of ${payload.length} bytes`);
  const argsz = payload.readUInt32LE(0);
  check(argsz >= min, 'EINVAL', `${what} argsz ${argsz}`);
  return argsz;
}

function argszHeader(size: number, argsz: number, index?: number): Buffer {
  const buf = Buffer.alloc(size);
  buf.writeUInt32LE(argsz, 0);
  if (index !== undefined) buf.writeUInt32LE(index, 8);
  return buf;
}

/* ---- DEVICE_GET_INFO ---- */

/** Decodes DEVICE_GET_INFO; EINVAL for a payload or argsz under 16. Returns argsz. */
export function decodeDeviceInfoRequest(payload: Buffer): number {
  return argszOnly(payload, VFIO_USER_DEVICE_INFO_SIZE, 'DEVICE_GET_INFO');
}

export function encodeDeviceInfoRequest(): Buffer {
  return argszHeader(VFIO_USER_DEVICE_INFO_SIZE, VFIO_USER_DEVICE_INFO_SIZE);
}

/** Frames the device file's vfio_device_info as the reply: its first 16 bytes, argsz 16. */
export function frameDeviceInfoReply(ioctlInfo: Uint8Array): Buffer {
  if (ioctlInfo.length < VFIO_USER_DEVICE_INFO_SIZE) throw new RangeError(`vfio_device_info of ${ioctlInfo.length} bytes`);
  const buf = Buffer.from(ioctlInfo.subarray(0, VFIO_USER_DEVICE_INFO_SIZE));
  buf.writeUInt32LE(VFIO_USER_DEVICE_INFO_SIZE, 0);
  return buf;
}

/* ---- DEVICE_GET_REGION_INFO ---- */

/** Decodes GET_REGION_INFO; EINVAL for a payload or argsz under 32 (libvfio-user). */
export function decodeRegionInfoRequest(payload: Buffer): IndexedQuery {
  const argsz = argszOnly(payload, VFIO_REGION_INFO_SIZE, 'GET_REGION_INFO');
  return { argsz, index: payload.readUInt32LE(8) };
}

export function encodeRegionInfoRequest(index: number, argsz = VFIO_REGION_INFO_SIZE): Buffer {
  return argszHeader(VFIO_REGION_INFO_SIZE, argsz, index);
}

/**
 * Frames the device file's vfio_region_info (and cap chain) as the reply. The ioctl ran with the
 * client's argsz, so the struct's argsz holds the size needed; the reply carries that many bytes
 * but never more than the client's argsz (when the chain does not fit, the kernel's rule has
 * already set CAPS with cap_offset 0 and only the 32-byte struct is sent).
 * QEMU accepts at most one fd with this reply (the region's mmap fd).
 */
export function frameRegionInfoReply(ioctlInfo: Uint8Array, requestArgsz: number): Buffer {
  if (ioctlInfo.length < VFIO_REGION_INFO_SIZE) throw new RangeError(`vfio_region_info of ${ioctlInfo.length} bytes`);
  const needed = Buffer.from(ioctlInfo.buffer, ioctlInfo.byteOffset, ioctlInfo.length).readUInt32LE(0);
  const n = Math.max(VFIO_REGION_INFO_SIZE, Math.min(needed, requestArgsz, ioctlInfo.length));
  return Buffer.from(ioctlInfo.subarray(0, n));
}

/* ---- DEVICE_GET_REGION_IO_FDS ---- */

/** Decodes GET_REGION_IO_FDS; EINVAL for a short payload or argsz, or non-zero flags. */
export function decodeRegionIoFdsRequest(payload: Buffer): IndexedQuery {
  const argsz = argszOnly(payload, VFIO_USER_REGION_IO_FDS_SIZE, 'GET_REGION_IO_FDS');
  check(payload.readUInt32LE(4) === 0, 'EINVAL', 'GET_REGION_IO_FDS flags');
  return { argsz, index: payload.readUInt32LE(8) };
}

export function encodeRegionIoFdsRequest(index: number, argsz = VFIO_USER_REGION_IO_FDS_SIZE): Buffer {
  return argszHeader(VFIO_USER_REGION_IO_FDS_SIZE, argsz, index);
}

export interface SubRegionIoFd {
  offset: bigint;
  size: bigint;
  /** Index into the fds sent with the reply; entries may share one. */
  fdIndex: number;
  type: typeof VFIO_USER_IO_FD_TYPE_IOEVENTFD | typeof VFIO_USER_IO_FD_TYPE_IOREGIONFD;
  /** KVM_IOEVENTFD_FLAG_* or KVM_IOREGION_* flags. */
  flags: number;
  /** datamatch for an ioeventfd, user_data for an ioregionfd. */
  data: bigint;
}

/**
 * The GET_REGION_IO_FDS reply. When the client's argsz cannot hold every entry, only the 16-byte
 * head goes back, with argsz set to the size needed (send no fds then).
 */
export function encodeRegionIoFdsReply(index: number, subRegions: readonly SubRegionIoFd[], requestArgsz: number): Buffer {
  const full = VFIO_USER_REGION_IO_FDS_SIZE + subRegions.length * VFIO_USER_SUB_REGION_IO_FD_SIZE;
  const fits = requestArgsz >= full;
  const buf = Buffer.alloc(fits ? full : VFIO_USER_REGION_IO_FDS_SIZE);
  buf.writeUInt32LE(full, 0);
  buf.writeUInt32LE(index, 8);
  buf.writeUInt32LE(subRegions.length, 12);
  if (!fits) return buf;
  let p = VFIO_USER_REGION_IO_FDS_SIZE;
  for (const s of subRegions) {
    buf.writeBigUInt64LE(s.offset, p);
    buf.writeBigUInt64LE(s.size, p + 8);
    buf.writeUInt32LE(s.fdIndex, p + 16);
    buf.writeUInt32LE(s.type, p + 20);
    buf.writeUInt32LE(s.flags, p + 24);
    buf.writeBigUInt64LE(s.data, p + 32);
    p += VFIO_USER_SUB_REGION_IO_FD_SIZE;
  }
  return buf;
}

/** The client's decoding of a GET_REGION_IO_FDS reply (entries only when they were sent). */
export function decodeRegionIoFdsReply(payload: Buffer): { argsz: number; index: number; count: number; subRegions: SubRegionIoFd[] } {
  check(payload.length >= VFIO_USER_REGION_IO_FDS_SIZE, 'EINVAL', 'short GET_REGION_IO_FDS reply');
  const argsz = payload.readUInt32LE(0);
  const index = payload.readUInt32LE(8);
  const count = payload.readUInt32LE(12);
  const subRegions: SubRegionIoFd[] = [];
  if (payload.length === VFIO_USER_REGION_IO_FDS_SIZE) return { argsz, index, count, subRegions };
  check(payload.length === VFIO_USER_REGION_IO_FDS_SIZE + count * VFIO_USER_SUB_REGION_IO_FD_SIZE, 'EINVAL', 'GET_REGION_IO_FDS reply size');
  for (let i = 0, p = VFIO_USER_REGION_IO_FDS_SIZE; i < count; i++, p += VFIO_USER_SUB_REGION_IO_FD_SIZE) {
    const type = payload.readUInt32LE(p + 20);
    check(type === VFIO_USER_IO_FD_TYPE_IOEVENTFD || type === VFIO_USER_IO_FD_TYPE_IOREGIONFD, 'EINVAL', `io fd type ${type}`);
    subRegions.push({
      offset: payload.readBigUInt64LE(p),
      size: payload.readBigUInt64LE(p + 8),
      fdIndex: payload.readUInt32LE(p + 16),
      type,
      flags: payload.readUInt32LE(p + 24),
      data: payload.readBigUInt64LE(p + 32),
    });
  }
  return { argsz, index, count, subRegions };
}

/* ---- DEVICE_GET_IRQ_INFO ---- */

/** Decodes GET_IRQ_INFO; EINVAL for a payload or argsz under 16. */
export function decodeIrqInfoRequest(payload: Buffer): IndexedQuery {
  const argsz = argszOnly(payload, VFIO_IRQ_INFO_SIZE, 'GET_IRQ_INFO');
  return { argsz, index: payload.readUInt32LE(8) };
}

export function encodeIrqInfoRequest(index: number): Buffer {
  return argszHeader(VFIO_IRQ_INFO_SIZE, VFIO_IRQ_INFO_SIZE, index);
}

/** Frames the device file's vfio_irq_info as the reply (16 bytes, argsz 16). */
export function frameIrqInfoReply(ioctlInfo: Uint8Array): Buffer {
  if (ioctlInfo.length < VFIO_IRQ_INFO_SIZE) throw new RangeError(`vfio_irq_info of ${ioctlInfo.length} bytes`);
  const buf = Buffer.from(ioctlInfo.subarray(0, VFIO_IRQ_INFO_SIZE));
  buf.writeUInt32LE(VFIO_IRQ_INFO_SIZE, 0);
  return buf;
}

/* ---- DEVICE_SET_IRQS ---- */

export interface IrqSetRequest {
  argsz: number;
  flags: number;
  index: number;
  start: number;
  count: number;
  /** DATA_BOOL: a view of the `count` bool bytes; otherwise empty. */
  bools: Buffer;
}

function oneBit(v: number): boolean {
  return v !== 0 && (v & (v - 1)) === 0;
}

/**
 * Frames SET_IRQS (EINVAL for each fault). The payload is exactly argsz bytes (libvfio-user); exactly
 * one DATA and one ACTION flag; DATA_NONE carries nothing, DATA_BOOL `count` bytes, DATA_EVENTFD no
 * bytes and either `count` fds or none (none de-assigns, which QEMU sends). fds with any other
 * DATA type are refused. Index, start and count ranges are the device file's to check.
 */
export function decodeIrqSet(payload: Buffer, fdCount: number): IrqSetRequest {
  check(payload.length >= VFIO_IRQ_SET_SIZE, 'EINVAL', `SET_IRQS payload of ${payload.length} bytes`);
  const argsz = payload.readUInt32LE(0);
  const flags = payload.readUInt32LE(4);
  const index = payload.readUInt32LE(8);
  const start = payload.readUInt32LE(12);
  const count = payload.readUInt32LE(16);
  check(argsz === payload.length, 'EINVAL', `SET_IRQS argsz ${argsz} for ${payload.length} bytes`);
  check((flags & ~(VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK)) === 0, 'EINVAL', `SET_IRQS flags ${flags}`);
  const data = flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
  check(oneBit(data) && oneBit(flags & VFIO_IRQ_SET_ACTION_TYPE_MASK), 'EINVAL', `SET_IRQS flags ${flags}`);
  let dataBytes = 0;
  if (data === VFIO_IRQ_SET_DATA_BOOL) dataBytes = count;
  check(argsz === VFIO_IRQ_SET_SIZE + dataBytes, 'EINVAL', `SET_IRQS argsz ${argsz} for count ${count}`);
  if (data === VFIO_IRQ_SET_DATA_EVENTFD) {
    check(fdCount === count || fdCount === 0, 'EINVAL', `SET_IRQS with ${fdCount} fds for count ${count}`);
  } else {
    check(fdCount === 0, 'EINVAL', `SET_IRQS with ${fdCount} unexpected fds`);
  }
  return { argsz, flags, index, start, count, bools: payload.subarray(VFIO_IRQ_SET_SIZE, VFIO_IRQ_SET_SIZE + dataBytes) };
}

/** A SET_IRQS payload (client side); fds for DATA_EVENTFD travel as SCM_RIGHTS, not here. */
export function encodeIrqSet(flags: number, index: number, start: number, count: number, bools?: Uint8Array): Buffer {
  const n = bools === undefined ? 0 : bools.length;
  const buf = Buffer.alloc(VFIO_IRQ_SET_SIZE + n);
  buf.writeUInt32LE(buf.length, 0);
  buf.writeUInt32LE(flags, 4);
  buf.writeUInt32LE(index, 8);
  buf.writeUInt32LE(start, 12);
  buf.writeUInt32LE(count, 16);
  if (bools !== undefined) buf.set(bools, VFIO_IRQ_SET_SIZE);
  return buf;
}

/**
 * The kernel's struct vfio_irq_set for VFIO_DEVICE_SET_IRQS built from a decoded request: bools
 * copied, or one s32 per vector for DATA_EVENTFD — the given fds, or -1 each (de-assign) when none came.
 */
export function irqSetToIoctl(req: IrqSetRequest, fds: readonly number[]): Buffer {
  const eventfd = (req.flags & VFIO_IRQ_SET_DATA_EVENTFD) !== 0;
  const dataBytes = eventfd ? req.count * 4 : req.bools.length;
  const buf = Buffer.alloc(VFIO_IRQ_SET_SIZE + dataBytes);
  buf.writeUInt32LE(buf.length, 0);
  buf.writeUInt32LE(req.flags, 4);
  buf.writeUInt32LE(req.index, 8);
  buf.writeUInt32LE(req.start, 12);
  buf.writeUInt32LE(req.count, 16);
  if (eventfd) {
    if (fds.length !== 0 && fds.length !== req.count) throw new RangeError(`${fds.length} fds for count ${req.count}`);
    for (let i = 0; i < req.count; i++) buf.writeInt32LE(fds.length === 0 ? -1 : (fds[i] ?? -1), VFIO_IRQ_SET_SIZE + 4 * i);
  } else {
    buf.set(req.bools, VFIO_IRQ_SET_SIZE);
  }
  return buf;
}
