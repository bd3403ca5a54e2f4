// The vfio-user message header and command numbers (QEMU docs/interop/vfio-user.rst "Header", "Commands").

/** Size of the header that starts every message, command or reply. */
export const VFIO_USER_HDR_SIZE = 16;

/** Flag bits (struct vfio_user_header flags): type in bits 0-3, then No_reply and Error. */
export const VFIO_USER_F_TYPE_MASK = 0xf;
export const VFIO_USER_F_TYPE_COMMAND = 0x0;
export const VFIO_USER_F_TYPE_REPLY = 0x1;
export const VFIO_USER_F_NO_REPLY = 0x10;
export const VFIO_USER_F_ERROR = 0x20;

/*
 * Command numbers, checked against the spec's table, libvfio-user's test/py/libvfio_user.py and
 * QEMU's hw/vfio-user/protocol.h. 14 was VFIO_USER_DIRTY_PAGES (libvfio-user and QEMU still
 * define it); the spec dropped it and migration v2 replaced it with DEVICE_FEATURE (DMA logging),
 * so it is left unassigned here and answered like any unknown command.
 */
export const VFIO_USER_VERSION = 1;
export const VFIO_USER_DMA_MAP = 2;
export const VFIO_USER_DMA_UNMAP = 3;
export const VFIO_USER_DEVICE_GET_INFO = 4;
export const VFIO_USER_DEVICE_GET_REGION_INFO = 5;
export const VFIO_USER_DEVICE_GET_REGION_IO_FDS = 6;
export const VFIO_USER_DEVICE_GET_IRQ_INFO = 7;
export const VFIO_USER_DEVICE_SET_IRQS = 8;
export const VFIO_USER_REGION_READ = 9;
export const VFIO_USER_REGION_WRITE = 10;
export const VFIO_USER_DMA_READ = 11;
export const VFIO_USER_DMA_WRITE = 12;
export const VFIO_USER_DEVICE_RESET = 13;
/** Deprecated and absent from the current spec; kept only so logs can name it. */
export const VFIO_USER_DIRTY_PAGES = 14;
export const VFIO_USER_REGION_WRITE_MULTI = 15;
export const VFIO_USER_DEVICE_FEATURE = 16;
export const VFIO_USER_MIG_DATA_READ = 17;
export const VFIO_USER_MIG_DATA_WRITE = 18;
/** One past the highest command number. */
export const VFIO_USER_MAX = 19;

const commandNames: readonly string[] = [
  'VFIO_USER_0',
  'VFIO_USER_VERSION',
  'VFIO_USER_DMA_MAP',
  'VFIO_USER_DMA_UNMAP',
  'VFIO_USER_DEVICE_GET_INFO',
  'VFIO_USER_DEVICE_GET_REGION_INFO',
  'VFIO_USER_DEVICE_GET_REGION_IO_FDS',
  'VFIO_USER_DEVICE_GET_IRQ_INFO',
  'VFIO_USER_DEVICE_SET_IRQS',
  'VFIO_USER_REGION_READ',
  'VFIO_USER_REGION_WRITE',
  'VFIO_USER_DMA_READ',
  'VFIO_USER_DMA_WRITE',
  'VFIO_USER_DEVICE_RESET',
  'VFIO_USER_DIRTY_PAGES',
  'VFIO_USER_REGION_WRITE_MULTI',
  'VFIO_USER_DEVICE_FEATURE',
  'VFIO_USER_MIG_DATA_READ',
  'VFIO_USER_MIG_DATA_WRITE',
];

/** The spec name of a command number, for logs; unknown numbers read `VFIO_USER_<n>`. */
export function vfioUserCommandName(cmd: number): string {
  return commandNames[cmd] ?? `VFIO_USER_${cmd}`;
}

/** A decoded header. Hot paths reuse one object (see readHeader). */
export interface VfioUserHeader {
  msgId: number;
  cmd: number;
  /** Size of the whole message, header included. */
  msgSize: number;
  flags: number;
  errorNo: number;
}

/** A zeroed header object, meant to be reused with readHeader. */
export function createHeader(): VfioUserHeader {
  return { msgId: 0, cmd: 0, msgSize: 0, flags: 0, errorNo: 0 };
}

/*
 * get_unaligned_le16/32 and put_unaligned_le16/32 for the per-message path: Buffer's readUInt32LE and
 * writeUInt32LE check their arguments on every call, which costs more than the access. The caller has
 * checked the range (a get past the end reads zeros); a put stores its value modulo 2^16 or 2^32, so it is for
 * values that fit.
 */
export function getUnalignedLe16(buf: Uint8Array, off: number): number {
  return (buf[off] ?? 0) | ((buf[off + 1] ?? 0) << 8);
}

export function getUnalignedLe32(buf: Uint8Array, off: number): number {
  return ((buf[off] ?? 0) | ((buf[off + 1] ?? 0) << 8) | ((buf[off + 2] ?? 0) << 16) | ((buf[off + 3] ?? 0) << 24)) >>> 0;
}

export function putUnalignedLe16(buf: Uint8Array, off: number, value: number): void {
  buf[off] = value;
  buf[off + 1] = value >>> 8;
}

export function putUnalignedLe32(buf: Uint8Array, off: number, value: number): void {
  buf[off] = value;
  buf[off + 1] = value >>> 8;
  buf[off + 2] = value >>> 16;
  buf[off + 3] = value >>> 24;
}

/**
 * Decodes the 16 bytes at `off` into `out` (no allocation) and returns `out`.
 * The caller guarantees 16 readable bytes; the fields are not validated here.
 */
export function readHeader(buf: Buffer, off: number, out: VfioUserHeader): VfioUserHeader {
  out.msgId = getUnalignedLe16(buf, off);
  out.cmd = getUnalignedLe16(buf, off + 2);
  out.msgSize = getUnalignedLe32(buf, off + 4);
  out.flags = getUnalignedLe32(buf, off + 8);
  out.errorNo = getUnalignedLe32(buf, off + 12);
  return out;
}

/** Encodes a header at `off` (no allocation). */
export function writeHeader(
  buf: Buffer,
  off: number,
  msgId: number,
  cmd: number,
  msgSize: number,
  flags: number,
  errorNo = 0,
): void {
  buf.writeUInt16LE(msgId, off);
  buf.writeUInt16LE(cmd, off + 2);
  buf.writeUInt32LE(msgSize, off + 4);
  buf.writeUInt32LE(flags >>> 0, off + 8);
  buf.writeUInt32LE(errorNo >>> 0, off + 12);
}

/** The message type (flags bits 0-3): VFIO_USER_F_TYPE_COMMAND or VFIO_USER_F_TYPE_REPLY. */
export function messageType(flags: number): number {
  return flags & VFIO_USER_F_TYPE_MASK;
}

export function isCommand(h: VfioUserHeader): boolean {
  return (h.flags & VFIO_USER_F_TYPE_MASK) === VFIO_USER_F_TYPE_COMMAND;
}

export function isReply(h: VfioUserHeader): boolean {
  return (h.flags & VFIO_USER_F_TYPE_MASK) === VFIO_USER_F_TYPE_REPLY;
}

export function wantsReply(h: VfioUserHeader): boolean {
  return (h.flags & VFIO_USER_F_NO_REPLY) === 0;
}

export function isErrorReply(h: VfioUserHeader): boolean {
  return (h.flags & VFIO_USER_F_ERROR) !== 0;
}
