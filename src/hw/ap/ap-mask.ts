// A 256-bit AP mask (adapters or domains) in the AP architecture's bit order, where bit 0 is the leftmost bit
// (the kernel's test_bit_inv), and the two string forms ap_bus.c parses for apmask/aqmask (ap_parse_mask_str:
// an absolute "0x..." hex mask, or a relative "+N,-M,+A-B" list) and shows ("0x" and 64 hex digits).
import { VfioError } from '../../uapi/errno.js';

/** AP_DEVICES and AP_DOMAINS (arch/s390/include/asm/ap.h): both masks have 256 bits. */
export const AP_DEVICES = 256;
export const AP_DOMAINS = 256;

export class ApMask {
  private readonly bits = new Uint8Array(AP_DEVICES);

  /** A mask with `ids` set. */
  static of(ids: Iterable<number>): ApMask {
    const m = new ApMask();
    for (const i of ids) m.set(i);
    return m;
  }

  /** Every bit set (the ap bus's boot default for apmask/aqmask). */
  static full(): ApMask {
    const m = new ApMask();
    m.bits.fill(1);
    return m;
  }

  test(i: number): boolean {
    return this.bits[i] === 1;
  }

  set(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= AP_DEVICES) throw new RangeError(`AP mask bit ${i}`);
    this.bits[i] = 1;
  }

  clear(i: number): void {
    if (i >= 0 && i < AP_DEVICES) this.bits[i] = 0;
  }

  /** The set bits, ascending (for_each_set_bit_inv). */
  ids(limit = AP_DEVICES): number[] {
    const out: number[] = [];
    for (let i = 0; i < limit; i++) if (this.bits[i] === 1) out.push(i);
    return out;
  }

  isEmpty(): boolean {
    return !this.bits.includes(1);
  }

  clone(): ApMask {
    const m = new ApMask();
    m.bits.set(this.bits);
    return m;
  }

  copyFrom(o: ApMask): void {
    this.bits.set(o.bits);
  }

  equals(o: ApMask): boolean {
    return this.bits.every((b, i) => b === o.bits[i]);
  }

  /** this & o. */
  and(o: ApMask): ApMask {
    const m = new ApMask();
    for (let i = 0; i < AP_DEVICES; i++) m.bits[i] = (this.bits[i] ?? 0) & (o.bits[i] ?? 0);
    return m;
  }

  /** this & ~o. */
  andNot(o: ApMask): ApMask {
    const m = new ApMask();
    for (let i = 0; i < AP_DEVICES; i++) m.bits[i] = (this.bits[i] ?? 0) & (1 - (o.bits[i] ?? 0));
    return m;
  }

  intersects(o: ApMask): boolean {
    return this.bits.some((b, i) => b === 1 && o.bits[i] === 1);
  }

  /** The sysfs form: "0x" and 64 hex digits, bit 0 the top bit of the first digit. */
  toHex(): string {
    let s = '0x';
    for (let i = 0; i < AP_DEVICES; i += 4) {
      const nibble = ((this.bits[i] ?? 0) << 3) | ((this.bits[i + 1] ?? 0) << 2) | ((this.bits[i + 2] ?? 0) << 1) | (this.bits[i + 3] ?? 0);
      s += nibble.toString(16);
    }
    return s;
  }
}

/** hex2bitmap(): an absolute mask; digits past the mask's 64, or anything but hex digits, are EINVAL. */
function parseHex(text: string): ApMask {
  let s = text;
  if (s.startsWith('0x') || s.startsWith('0X')) s = s.slice(2);
  if (s === '' || !/^[0-9a-fA-F]+$/.test(s) || s.length > AP_DEVICES / 4) throw new VfioError('EINVAL', `bad AP mask '${text.slice(0, 80)}'`);
  const m = new ApMask();
  for (let d = 0; d < s.length; d++) {
    const v = parseInt(s[d] ?? '0', 16);
    for (let b = 0; b < 4; b++) if ((v >> (3 - b)) & 1) m.set(d * 4 + b);
  }
  return m;
}

/** modify_bitmap(): "+N", "-N", "+A-B" tokens, comma separated, applied in order to a copy of `current`. */
function parseRelative(text: string, current: ApMask): ApMask {
  const m = current.clone();
  for (const token of text.split(',')) {
    const match = /^([+-])(0[xX][0-9a-fA-F]+|\d+)(?:-(0[xX][0-9a-fA-F]+|\d+))?$/.exec(token.trim());
    if (match === null) throw new VfioError('EINVAL', `bad AP mask token '${token.slice(0, 32)}'`);
    const a = Number(match[2]);
    const z = match[3] !== undefined ? Number(match[3]) : a;
    if (a > z || z >= AP_DEVICES) throw new VfioError('EINVAL', `AP mask range ${a}-${z} is out of 0-${AP_DEVICES - 1}`);
    for (let i = a; i <= z; i++) {
      if (match[1] === '+') m.set(i);
      else m.clear(i);
    }
  }
  return m;
}

/** ap_parse_mask_str(): the new mask a store of `text` makes from `current` (one trailing newline allowed). */
export function apParseMask(text: string, current: ApMask): ApMask {
  const s = text.endsWith('\n') ? text.slice(0, -1) : text;
  return s.startsWith('+') || s.startsWith('-') ? parseRelative(s, current) : parseHex(s);
}
