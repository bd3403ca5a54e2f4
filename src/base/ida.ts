// An IDA (lib/idr.c ida_alloc_max/ida_free): hands out the lowest free integer id.
import { VfioError } from '../uapi/errno.js';

export class Ida {
  private words = new Uint32Array(4);
  /** No id below this is free. */
  private hint = 0;
  private used = 0;

  constructor(readonly max = 0x7fffffff) {}

  get count(): number {
    return this.used;
  }

  /** The lowest free id in [0, max]; ENOSPC when none is left. */
  alloc(): number {
    const words = this.words;
    for (let w = this.hint >>> 5; ; w++) {
      if (w >= words.length) this.grow();
      const word = this.words[w] ?? 0;
      if (word !== 0xffffffff) {
        const bit = 31 - Math.clz32(~word & (word + 1));
        const id = (w << 5) | bit;
        if (id > this.max) throw new VfioError('ENOSPC', 'no free id');
        this.words[w] = word | (1 << bit);
        this.hint = id + 1;
        this.used++;
        return id;
      }
    }
  }

  /** Returns `id`; freeing an id that is not allocated is a bug. */
  free(id: number): void {
    const w = id >>> 5;
    const mask = 1 << (id & 31);
    const word = this.words[w] ?? 0;
    if ((word & mask) === 0) throw new Error(`ida_free: id ${id} was not allocated`);
    this.words[w] = word & ~mask;
    if (id < this.hint) this.hint = id;
    this.used--;
  }

  has(id: number): boolean {
    return ((this.words[id >>> 5] ?? 0) & (1 << (id & 31))) !== 0;
  }

  private grow(): void {
    const next = new Uint32Array(this.words.length * 2);
    next.set(this.words);
    this.words = next;
  }
}
