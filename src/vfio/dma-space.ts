// The user memory a DMA mapping's vaddr refers to (a process's mm) and the sorted u64 range list the IOMMU models share.
// Follows the roles of mm_struct / pin_user_pages in drivers/vfio/vfio_iommu_type1.c and interval trees in iommufd.

import { VfioError, check } from '../uapi/errno.js';

export const U64_MAX = (1n << 64n) - 1n;

/** True when `v` is a valid u64. */
export function isU64(v: bigint): boolean {
  return v >= 0n && v <= U64_MAX;
}

/**
 * Memory that can back a range of user addresses (an ArrayBuffer, a memfd, ...). The CPU copies through read
 * and write. Memory whose bytes live elsewhere and arrive later (pages a userfaultfd handler serves, or a
 * vfio-user client's memory reached by messages) also has readAsync/writeAsync: asynchronous DMA
 * (vfioDmaRwAsync) uses those, and its synchronous read/write may fail with EFAULT.
 */
export interface DmaBacking {
  /** Copies `dst.length` bytes starting at `offset` into `dst`. */
  read(offset: number, dst: Uint8Array): void;
  /** Copies `src` into the backing at `offset`. */
  write(offset: number, src: Uint8Array): void;
  /** Optional: read() that may complete later; `dst` is filled when the promise resolves. */
  readAsync?(offset: number, dst: Uint8Array): Promise<void>;
  /** Optional: write() that may complete later; `src` must stay unchanged until the promise settles. */
  writeAsync?(offset: number, src: Uint8Array): Promise<void>;
  readonly size: number;
}

/** An in-memory DmaBacking. `bytes` is the memory itself, for tests and in-process users. */
export class ArrayBufferBacking implements DmaBacking {
  readonly bytes: Uint8Array;

  constructor(sizeOrBytes: number | Uint8Array) {
    this.bytes = typeof sizeOrBytes === 'number' ? new Uint8Array(sizeOrBytes) : sizeOrBytes;
  }

  get size(): number {
    return this.bytes.length;
  }

  read(offset: number, dst: Uint8Array): void {
    if (offset < 0 || offset + dst.length > this.bytes.length) throw new VfioError('EFAULT', 'read past the backing');
    dst.set(this.bytes.subarray(offset, offset + dst.length));
  }

  write(offset: number, src: Uint8Array): void {
    if (offset < 0 || offset + src.length > this.bytes.length) throw new VfioError('EFAULT', 'write past the backing');
    this.bytes.set(src, offset);
  }
}

/** An inclusive u64 range [start, last]: inclusive so that a range may end at 2^64 - 1. */
export interface Range {
  readonly start: bigint;
  readonly last: bigint;
}

/**
 * Non-overlapping ranges sorted by start, found by binary search (the rb-tree / interval tree of
 * the kernel). Inserting in ascending order is an append; removing a run is one splice.
 */
export class RangeList<T extends Range> {
  private items: T[] = [];

  get length(): number {
    return this.items.length;
  }

  at(i: number): T | undefined {
    return this.items[i];
  }

  /** Index of the first range whose last byte is >= `addr` (length if none). */
  lowerBound(addr: bigint): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const item = this.items[mid];
      if (item !== undefined && item.last < addr) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The first range intersecting [start, last], if any. */
  findFirst(start: bigint, last: bigint): T | undefined {
    const r = this.items[this.lowerBound(start)];
    return r !== undefined && r.start <= last ? r : undefined;
  }

  /** The range containing `addr`, if any. */
  find(addr: bigint): T | undefined {
    return this.findFirst(addr, addr);
  }

  /** Inserts a range that overlaps none in the list (the caller checked). */
  insert(item: T): void {
    const i = this.lowerBound(item.start);
    const next = this.items[i];
    if (next !== undefined && next.start <= item.last) throw new Error('RangeList.insert: overlapping range');
    if (i === this.items.length) this.items.push(item);
    else this.items.splice(i, 0, item);
  }

  /** Removes `item` (which must be in the list). */
  remove(item: T): void {
    const i = this.lowerBound(item.start);
    if (this.items[i] !== item) throw new Error('RangeList.remove: not in the list');
    this.items.splice(i, 1);
  }

  /** Removes `count` ranges starting at index `i`. */
  removeAt(i: number, count: number): void {
    if (count > 0) this.items.splice(i, count);
  }

  clear(): void {
    this.items = [];
  }

  [Symbol.iterator](): IterableIterator<T> {
    return this.items[Symbol.iterator]();
  }
}

/** A piece of a translated user range: `length` bytes of `backing` at `offset`. */
export interface DmaSegment {
  readonly backing: DmaBacking;
  readonly offset: number;
  readonly length: number;
}

/**
 * Copies between `buf` and the memory of `segments` (consecutive, covering `buf` in order): a segment whose
 * backing has the asynchronous accessor is awaited, the others are copied synchronously. Rejects with the first
 * failure; the segments before it are done.
 */
export async function dmaSegmentsRwAsync(segments: readonly DmaSegment[], buf: Uint8Array, write: boolean): Promise<void> {
  let total = 0;
  for (const s of segments) total += s.length;
  if (total !== buf.length) throw new Error(`dmaSegmentsRwAsync: segments cover ${total} of ${buf.length} bytes`);
  let pos = 0;
  for (const s of segments) {
    const part = buf.subarray(pos, pos + s.length);
    const b = s.backing;
    if (write) {
      if (b.writeAsync !== undefined) await b.writeAsync(s.offset, part);
      else b.write(s.offset, part);
    } else if (b.readAsync !== undefined) {
      await b.readAsync(s.offset, part);
    } else {
      b.read(s.offset, part);
    }
    pos += s.length;
  }
}

interface Vma extends Range {
  readonly backing: DmaBacking;
  readonly offset: number;
}

/**
 * A process's address space: ranges [vaddr, vaddr + size) backed by a DmaBacking at an offset.
 * The type1 and iommufd models pin and copy through it; an unbacked byte is EFAULT, as
 * pin_user_pages() or copy_to_user() would report.
 */
export class UserAddressSpace {
  private readonly vmas = new RangeList<Vma>();

  /** Backs [vaddr, vaddr + length) with `backing` from `offset` (length defaults to the rest of the backing). */
  map(vaddr: bigint, backing: DmaBacking, offset = 0, length: number = backing.size - offset): void {
    check(Number.isSafeInteger(offset) && offset >= 0 && Number.isSafeInteger(length) && length > 0, 'EINVAL', 'bad offset or length');
    check(offset + length <= backing.size, 'EINVAL', 'range past the end of the backing');
    check(isU64(vaddr), 'EINVAL', 'vaddr is not a u64');
    const last = vaddr + BigInt(length) - 1n;
    check(last <= U64_MAX, 'EOVERFLOW', 'vaddr + length wraps');
    // mmap(MAP_FIXED_NOREPLACE) semantics: never silently replace an existing mapping.
    check(this.vmas.findFirst(vaddr, last) === undefined, 'EEXIST', 'range already backed');
    this.vmas.insert({ start: vaddr, last, backing, offset });
  }

  /** Removes the range that starts at `vaddr`. */
  unmap(vaddr: bigint): void {
    const vma = this.vmas.find(vaddr);
    check(vma !== undefined && vma.start === vaddr, 'EINVAL', 'no range starts at this vaddr');
    this.vmas.remove(vma);
  }

  /** True when every byte of [vaddr, vaddr + length) is backed. */
  isBacked(vaddr: bigint, length: bigint): boolean {
    try {
      this.translate(vaddr, length);
      return true;
    } catch (err) {
      if (VfioError.is(err, 'EFAULT')) return false;
      throw err;
    }
  }

  /** The backing segments of [vaddr, vaddr + length), in address order; EFAULT if any byte is unbacked. */
  translate(vaddr: bigint, length: bigint): DmaSegment[] {
    check(length > 0n, 'EINVAL', 'zero length');
    const last = vaddr + length - 1n;
    check(vaddr >= 0n && last <= U64_MAX, 'EFAULT', 'range outside the address space');
    const out: DmaSegment[] = [];
    let cur = vaddr;
    let i = this.vmas.lowerBound(vaddr);
    while (cur <= last) {
      const vma = this.vmas.at(i++);
      if (vma === undefined || vma.start > cur) throw new VfioError('EFAULT', `unbacked user address 0x${cur.toString(16)}`);
      const end = vma.last < last ? vma.last : last;
      out.push({ backing: vma.backing, offset: vma.offset + Number(cur - vma.start), length: Number(end - cur + 1n) });
      cur = end + 1n;
    }
    return out;
  }

  /** copy_from_user: fills `dst` from [vaddr, vaddr + dst.length). */
  read(vaddr: bigint, dst: Uint8Array): void {
    if (dst.length === 0) return;
    let pos = 0;
    for (const s of this.translate(vaddr, BigInt(dst.length))) {
      s.backing.read(s.offset, dst.subarray(pos, pos + s.length));
      pos += s.length;
    }
  }

  /** copy_to_user: writes `src` to [vaddr, vaddr + src.length). */
  write(vaddr: bigint, src: Uint8Array): void {
    if (src.length === 0) return;
    let pos = 0;
    for (const s of this.translate(vaddr, BigInt(src.length))) {
      s.backing.write(s.offset, src.subarray(pos, pos + s.length));
      pos += s.length;
    }
  }
}
