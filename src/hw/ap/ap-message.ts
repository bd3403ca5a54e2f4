// The one request a simulated AP queue executes: RSA modular exponentiation in the shape of the zcrypt CEX
// accelerator messages (drivers/s390/crypto/zcrypt_msgtype50.c: a type 50 request with MEB1/MEB2 key blocks,
// answered by a type 80 reply, or a type 82 error reply). The layout here is simplified: an 8-byte header,
// then exponent, modulus and message, each `L` bytes big-endian (L = 128 for MEB1, 256 for MEB2).

export const TYPE50_TYPE_CODE = 0x50;
export const TYPE80_RSP_CODE = 0x80;
export const TYPE82_RSP_CODE = 0x82;
/** Key block types: field length 128 (1024-bit) or 256 (2048-bit). */
export const TYPE50_MEB1_FMT = 0x0001;
export const TYPE50_MEB2_FMT = 0x0002;
/** Type 82 reply codes used here: a malformed request, and operands the operation refuses. */
export const REP82_ERROR_MESSAGE_TYPE = 0x20;
export const REP82_ERROR_OPERAND_INVALID = 0x82;

const HEADER = 8;

/** A modular exponentiation: base ** exponent mod modulus. */
export interface MexRequest {
  readonly base: bigint;
  readonly exponent: bigint;
  readonly modulus: bigint;
}

function fieldLength(format: number): number {
  return format === TYPE50_MEB1_FMT ? 128 : format === TYPE50_MEB2_FMT ? 256 : 0;
}

function toBytes(v: bigint, len: number, into: Uint8Array, at: number): void {
  let x = v;
  for (let i = len - 1; i >= 0; i--) {
    into[at + i] = Number(x & 0xffn);
    x >>= 8n;
  }
}

function fromBytes(b: Uint8Array, at: number, len: number): bigint {
  let v = 0n;
  for (let i = 0; i < len; i++) v = (v << 8n) | BigInt(b[at + i] ?? 0);
  return v;
}

/** A type 50 request for `req`; MEB2 when an operand needs more than 128 bytes. RangeError past 2048 bits. */
export function encodeMexRequest(req: MexRequest): Uint8Array {
  const max = [req.base, req.exponent, req.modulus].reduce((a, b) => (a > b ? a : b));
  const format = max < 1n << 1024n ? TYPE50_MEB1_FMT : TYPE50_MEB2_FMT;
  if (max >= 1n << 2048n || req.base < 0n || req.exponent < 0n || req.modulus < 0n) throw new RangeError('mex operands must fit 2048 bits');
  const len = fieldLength(format);
  const out = new Uint8Array(HEADER + 3 * len);
  out[1] = TYPE50_TYPE_CODE;
  out[2] = format >> 8;
  out[3] = format & 0xff;
  toBytes(req.exponent, len, out, HEADER);
  toBytes(req.modulus, len, out, HEADER + len);
  toBytes(req.base, len, out, HEADER + 2 * len);
  return out;
}

function errorReply(code: number): Uint8Array {
  const out = new Uint8Array(HEADER);
  out[1] = TYPE82_RSP_CODE;
  out[2] = code;
  return out;
}

/** Square-and-multiply; the operands were checked (modulus > 1). */
function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
    e >>= 1n;
  }
  return result;
}

/** What the card does with a request: a type 80 reply with the result, or a type 82 error reply. */
export function executeApRequest(msg: Uint8Array): Uint8Array {
  if (msg.length < HEADER || msg[1] !== TYPE50_TYPE_CODE) return errorReply(REP82_ERROR_MESSAGE_TYPE);
  const len = fieldLength(((msg[2] ?? 0) << 8) | (msg[3] ?? 0));
  if (len === 0 || msg.length !== HEADER + 3 * len) return errorReply(REP82_ERROR_MESSAGE_TYPE);
  const exponent = fromBytes(msg, HEADER, len);
  const modulus = fromBytes(msg, HEADER + len, len);
  const base = fromBytes(msg, HEADER + 2 * len, len);
  // The card refuses an even or trivial modulus and a message not below it, as RSA hardware does.
  if (modulus <= 1n || (modulus & 1n) === 0n || base >= modulus) return errorReply(REP82_ERROR_OPERAND_INVALID);
  const out = new Uint8Array(HEADER + len);
  out[1] = TYPE80_RSP_CODE;
  out[2] = len >> 8;
  out[3] = len & 0xff;
  toBytes(modPow(base, exponent, modulus), len, out, HEADER);
  return out;
}

/** The result of a type 80 reply, or null for an error reply (its code is byte 2). */
export function decodeMexReply(reply: Uint8Array): bigint | null {
  if (reply[1] !== TYPE80_RSP_CODE) return null;
  const len = ((reply[2] ?? 0) << 8) | (reply[3] ?? 0);
  return fromBytes(reply, HEADER, len);
}
