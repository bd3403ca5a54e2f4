// A dirty-page bitmap in the kernel's user layout: u64 words, little-endian, bit n of the range in byte n/8, bit n%8.
// Follows DIRTY_BITMAP_BYTES, update_user_bitmap() and vfio_dma_populate_bitmap() in drivers/vfio/vfio_iommu_type1.c.

import { VfioError } from '../uapi/errno.js';

/** Bytes of user bitmap for `npages` pages: whole u64 words (DIRTY_BITMAP_BYTES). */
export function dirtyBitmapBytes(npages: number): number {
  return Math.ceil(npages / 64) * 8;
}

/**
 * One bit per page. Stored as bytes: the kernel's unsigned long words on a little-endian 64-bit
 * host put bit n in byte n >> 3 at bit n & 7, so the byte image is the user image.
 */
export class DirtyBitmap {
  readonly nbits: number;
  readonly bytes: Uint8Array;

  constructor(nbits: number) {
    if (!Number.isSafeInteger(nbits) || nbits < 0) throw new Error(`DirtyBitmap: bad size ${nbits}`);
    this.nbits = nbits;
    this.bytes = new Uint8Array(dirtyBitmapBytes(nbits));
  }

  test(bit: number): boolean {
    return bit >= 0 && bit < this.nbits && ((this.bytes[bit >> 3] as number) & (1 << (bit & 7))) !== 0;
  }

  /** bitmap_set(): sets bits [start, start + count). */
  setRange(start: number, count: number): void {
    this.fill(start, count, true);
  }

  /** bitmap_clear(): clears bits [start, start + count). */
  clearRange(start: number, count: number): void {
    this.fill(start, count, false);
  }

  clearAll(): void {
    this.bytes.fill(0);
  }

  /** Number of set bits. */
  count(): number {
    let n = 0;
    for (const b of this.bytes) {
      let v = b;
      while (v) {
        v &= v - 1;
        n++;
      }
    }
    return n;
  }

  /** Indexes of the set bits, ascending. */
  setBits(): number[] {
    const out: number[] = [];
    this.forEachSet((bit) => out.push(bit));
    return out;
  }

  forEachSet(fn: (bit: number) => void): void {
    const bytes = this.bytes;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i] as number;
      if (b === 0) continue;
      for (let j = 0; j < 8; j++) if (b & (1 << j)) fn(i * 8 + j);
    }
  }

  /**
   * update_user_bitmap(): copies this bitmap into the user bitmap `dst` starting at bit
   * `bitOffset`. Like the kernel it keeps the bits of the first u64 word below the offset (the
   * "leftover" of an earlier, lower mapping) and writes whole words after that, so ranges must be
   * copied in ascending order. EFAULT if `dst` is too small, as copy_to_user() would fail.
   */
  copyToUser(dst: Uint8Array, bitOffset: number): void {
    const copyOffset = Math.floor(bitOffset / 64) * 8;
    const shift = bitOffset % 64;
    const nbytes = dirtyBitmapBytes(this.nbits + shift);
    if (copyOffset + nbytes > dst.length) throw new VfioError('EFAULT', 'user bitmap too small');
    const out = new Uint8Array(nbytes);
    // The leftover: bits below `shift` in the first word.
    for (let bit = 0; bit < shift; bit++) {
      if ((dst[copyOffset + (bit >> 3)] as number) & (1 << (bit & 7))) out[bit >> 3] = (out[bit >> 3] as number) | (1 << (bit & 7));
    }
    if (shift % 8 === 0) {
      out.set(this.bytes.subarray(0, Math.ceil(this.nbits / 8)), shift / 8);
      // Bits past nbits in the last source byte are never set (fill() stays in range).
    } else {
      this.forEachSet((bit) => {
        const b = bit + shift;
        out[b >> 3] = (out[b >> 3] as number) | (1 << (b & 7));
      });
    }
    dst.set(out, copyOffset);
  }

  private fill(start: number, count: number, value: boolean): void {
    if (count <= 0) return;
    if (start < 0 || start + count > this.nbits) throw new Error(`DirtyBitmap: range ${start}+${count} past ${this.nbits} bits`);
    const end = start + count;
    let bit = start;
    // Leading partial byte, whole bytes, trailing partial byte.
    while (bit < end && (bit & 7) !== 0) this.setBit(bit++, value);
    const wholeEnd = end - (end & 7);
    if (bit < wholeEnd) {
      this.bytes.fill(value ? 0xff : 0, bit >> 3, wholeEnd >> 3);
      bit = wholeEnd;
    }
    while (bit < end) this.setBit(bit++, value);
  }

  private setBit(bit: number, value: boolean): void {
    const i = bit >> 3;
    const m = 1 << (bit & 7);
    this.bytes[i] = value ? (this.bytes[i] as number) | m : (this.bytes[i] as number) & ~m;
  }
}
