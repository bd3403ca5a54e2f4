// Shared helpers for the uAPI struct codecs: little-endian DataView access and the kernel's minsz/argsz checks.
import { VfioError } from './errno.js';

/** A DataView over exactly the bytes of `buf` (no copy). */
export function viewOf(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * Throws EINVAL unless `buf` holds at least `minsz` bytes: the kernel's `copy_from_user(&x, arg, minsz)`
 * cannot succeed on fewer, and every ioctl then rejects `argsz < minsz` with EINVAL.
 */
export function needBytes(buf: Uint8Array, minsz: number, what: string): void {
  if (buf.byteLength < minsz) {
    throw new VfioError('EINVAL', `${what}: ${buf.byteLength} bytes, need at least ${minsz}`);
  }
}

/** Throws EINVAL when `argsz < minsz`, the first check of every argsz-framed VFIO ioctl. */
export function needArgsz(argsz: number, minsz: number, what: string): void {
  if (argsz < minsz) throw new VfioError('EINVAL', `${what}: argsz ${argsz} < minsz ${minsz}`);
}

/** Throws EINVAL when `flags` has bits outside `known` (the kernel's "unknown flags" rule). */
export function needKnownFlags(flags: number, known: number, what: string): void {
  if ((flags & ~known) >>> 0 !== 0) {
    throw new VfioError('EINVAL', `${what}: unknown flags 0x${((flags & ~known) >>> 0).toString(16)}`);
  }
}

/** Returns `into` (checked to be large enough) or a fresh zeroed buffer of `size` bytes. */
export function outBuffer(size: number, into: Uint8Array | undefined, what: string): Uint8Array {
  if (into === undefined) return new Uint8Array(size);
  if (into.byteLength < size) {
    throw new RangeError(`${what}: output buffer of ${into.byteLength} bytes, need ${size}`);
  }
  return into;
}

/** Reads a u32 if the buffer holds it, else 0 (fields past a short, older-layout struct). */
export function optU32(dv: DataView, off: number): number {
  return dv.byteLength >= off + 4 ? dv.getUint32(off, true) : 0;
}

/** Rounds `n` up to a multiple of 8, the alignment of every capability in a chain. */
export function align8(n: number): number {
  return (n + 7) & ~7;
}

/** Number of bits set in a 32-bit value (the kernel's hweight32). */
export function hweight32(v: number): number {
  let x = v >>> 0;
  let n = 0;
  while (x !== 0) {
    x &= x - 1;
    n++;
  }
  return n;
}

/** An ioctl's reply into the user's buffer (copy_to_user): EFAULT when the buffer is shorter; returns 0. */
export function copyToUser(arg: Uint8Array, out: Uint8Array): number {
  if (out.length > arg.length) throw new VfioError('EFAULT', `reply of ${out.length} bytes into a ${arg.length}-byte buffer`);
  arg.set(out);
  return 0;
}
