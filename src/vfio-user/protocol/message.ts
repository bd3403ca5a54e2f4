// Whole-message builders: header + payload, replies and error replies (vfio-user.rst "Header").
import {
  VFIO_USER_F_ERROR,
  VFIO_USER_F_NO_REPLY,
  VFIO_USER_F_TYPE_COMMAND,
  VFIO_USER_F_TYPE_REPLY,
  VFIO_USER_HDR_SIZE,
  writeHeader,
} from './header.js';

/** Upper bound of a u32 msg_size (and of anything the header can describe). */
const U32_MAX = 0xffff_ffff;

function build(msgId: number, cmd: number, flags: number, payload: Uint8Array | undefined, errorNo: number): Buffer {
  const len = payload === undefined ? 0 : payload.length;
  const size = VFIO_USER_HDR_SIZE + len;
  if (size > U32_MAX) throw new RangeError(`message of ${size} bytes does not fit msg_size`);
  const buf = Buffer.allocUnsafe(size);
  writeHeader(buf, 0, msgId, cmd, size, flags, errorNo);
  if (payload !== undefined && len > 0) buf.set(payload, VFIO_USER_HDR_SIZE);
  return buf;
}

/** A command message. `noReply` sets the No_reply flag. */
export function encodeCommand(msgId: number, cmd: number, payload?: Uint8Array, noReply = false): Buffer {
  return build(msgId, cmd, VFIO_USER_F_TYPE_COMMAND | (noReply ? VFIO_USER_F_NO_REPLY : 0), payload, 0);
}

/** A successful reply to command `cmd` with id `msgId` (the reply echoes both). */
export function encodeReply(msgId: number, cmd: number, payload?: Uint8Array): Buffer {
  return build(msgId, cmd, VFIO_USER_F_TYPE_REPLY, payload, 0);
}

/** An error reply: the bare header with the Error flag and an errno (the spec allows no payload). */
export function encodeErrorReply(msgId: number, cmd: number, errno: number): Buffer {
  return build(msgId, cmd, VFIO_USER_F_TYPE_REPLY | VFIO_USER_F_ERROR, undefined, errno);
}

/** Writes an error reply into `buf` at `off` without allocating; returns the bytes written (16). */
export function writeErrorReply(buf: Buffer, off: number, msgId: number, cmd: number, errno: number): number {
  writeHeader(buf, off, msgId, cmd, VFIO_USER_HDR_SIZE, VFIO_USER_F_TYPE_REPLY | VFIO_USER_F_ERROR, errno);
  return VFIO_USER_HDR_SIZE;
}

/** Writes a reply header for a payload of `payloadLength` bytes at `off`; returns the payload offset. */
export function writeReplyHeader(buf: Buffer, off: number, msgId: number, cmd: number, payloadLength: number): number {
  writeHeader(buf, off, msgId, cmd, VFIO_USER_HDR_SIZE + payloadLength, VFIO_USER_F_TYPE_REPLY, 0);
  return off + VFIO_USER_HDR_SIZE;
}
