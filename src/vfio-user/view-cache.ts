// Views of buffer ranges for the server's hot path, remade only when the range changes: REGION_READ/WRITE hand a
// device the same few bytes of the same buffers message after message (the reply scratch area, the receive
// buffer), and a fresh typed-array view per message cost more than the rest of the handler.

interface Slot {
  base: Uint8Array | undefined;
  at: number;
  length: number;
  view: Uint8Array;
}

const EMPTY = new Uint8Array(0);

function emptySlot(): Slot {
  return { base: undefined, at: 0, length: 0, view: EMPTY };
}

/**
 * The views last asked for, one per buffer for two buffers (a connection's reply scratch and its receive buffer,
 * when reads and writes alternate). A view handed out is the same object as the last one for that range: like
 * a fresh view it is valid only while the caller's call lasts, since the bytes under it are reused anyway.
 */
export class ViewCache {
  readonly #slots: readonly [Slot, Slot] = [emptySlot(), emptySlot()];
  /** The slot a miss replaces: the one not used last. */
  #victim = 0;

  /** base[at, at + length) as a view (the caller checked the range). */
  view(base: Uint8Array, at: number, length: number): Uint8Array {
    const [s0, s1] = this.#slots;
    let s: Slot;
    if (s0.base === base) {
      s = s0;
      this.#victim = 1;
    } else if (s1.base === base) {
      s = s1;
      this.#victim = 0;
    } else {
      s = this.#victim === 0 ? s0 : s1;
      this.#victim ^= 1;
      s.base = base;
      s.length = -1; // forces the view below
    }
    if (s.at !== at || s.length !== length) {
      s.view = new Uint8Array(base.buffer, base.byteOffset + at, length);
      s.at = at;
      s.length = length;
    }
    return s.view;
  }
}
