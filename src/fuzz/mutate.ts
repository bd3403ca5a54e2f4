// Byte-level mutations of a corpus input, as libFuzzer's default mutators: flip, set to an interesting value,
// insert, erase, copy a run, splice with another input, and the little-endian integers the formats are made of.
const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x10, 0x20, 0x40];
const INTERESTING32 = [0, 1, 0xffffffff, 0x7fffffff, 0x80000000, 16, 24, 32, 4096, 0x10000, 0x100000];

export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0 || 1;
  }
  /** xorshift32. */
  next(): number {
    let x = this.#s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#s = x >>> 0;
    return this.#s;
  }
  below(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
  pick<T>(list: readonly T[]): T {
    const v = list[this.below(list.length)];
    if (v === undefined) throw new Error('pick from an empty list');
    return v;
  }
}

/** One to four mutations of `input` (never longer than `maxLen`). */
export function mutate(input: Uint8Array, rng: Rng, other: Uint8Array, maxLen: number): Uint8Array {
  let b = Uint8Array.from(input);
  const rounds = 1 + rng.below(4);
  for (let r = 0; r < rounds; r++) {
    const at = rng.below(Math.max(1, b.length));
    switch (rng.below(8)) {
      case 0:
        if (b.length > 0) b[at] = (b[at] ?? 0) ^ (1 << rng.below(8));
        break;
      case 1:
        if (b.length > 0) b[at] = rng.pick(INTERESTING);
        break;
      case 2: {
        const n = 1 + rng.below(8);
        const ins = new Uint8Array(n).map(() => rng.below(256));
        b = Uint8Array.from([...b.subarray(0, at), ...ins, ...b.subarray(at)]);
        break;
      }
      case 3: {
        const n = 1 + rng.below(Math.max(1, b.length - at));
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + n)]);
        break;
      }
      case 4: {
        // A little-endian u32 set to an interesting value (sizes, counts, offsets).
        if (b.length >= 4) {
          const p = rng.below(b.length - 3);
          new DataView(b.buffer, b.byteOffset).setUint32(p, rng.pick(INTERESTING32), true);
        }
        break;
      }
      case 5: {
        const from = rng.below(Math.max(1, b.length));
        const n = rng.below(Math.max(1, b.length - from));
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(from, from + n), ...b.subarray(at)]);
        break;
      }
      case 6: {
        // Splice: our head, the other input's tail.
        const cut = rng.below(Math.max(1, other.length));
        b = Uint8Array.from([...b.subarray(0, at), ...other.subarray(cut)]);
        break;
      }
      default:
        if (b.length > 0) b[at] = rng.below(256);
    }
  }
  return b.length > maxLen ? b.subarray(0, maxLen) : b;
}
