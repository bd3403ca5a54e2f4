// The VGA register file behind ports 0x3b0-0x3df (QEMU hw/display/vga.c vga_ioport_read/write, vga_regs.h):
// miscellaneous output, sequencer, graphics controller, CRT controller (at 0x3b4 or 0x3d4 as MISC bit 0 selects),
// attribute controller with its index/data flip-flop, input status, and the DAC palette. Only the registers'
// storage and access protocol are modelled: no planar or text-mode rendering.
import { VfioError } from '../uapi/errno.js';

const SR_COUNT = 8;
const GR_COUNT = 9;
const CR_COUNT = 0x19;
const AR_COUNT = 0x15;
/** MISC bit 0: the CRTC and input status 1 live at 0x3dx (colour) rather than 0x3bx (mono). */
const MISC_COLOR = 0x01;
/** Input status 1: display enable and vertical retrace, toggled on each read so polling loops end. */
const ST01_TOGGLE = 0x09;

export interface VgaRegistersRecord {
  readonly version: 1;
  readonly misc: number;
  readonly sr: number[];
  readonly srIndex: number;
  readonly gr: number[];
  readonly grIndex: number;
  readonly cr: number[];
  readonly crIndex: number;
  readonly ar: number[];
  readonly arIndex: number;
  readonly arFlipFlop: number;
  readonly palette: number[];
  readonly dacReadIndex: number;
  readonly dacWriteIndex: number;
  readonly dacSubIndex: number;
  readonly dacState: number;
  readonly pelMask: number;
}

export class VgaRegisters {
  private misc = 0;
  private readonly sr = new Uint8Array(SR_COUNT);
  private srIndex = 0;
  private readonly gr = new Uint8Array(GR_COUNT);
  private grIndex = 0;
  private readonly cr = new Uint8Array(CR_COUNT);
  private crIndex = 0;
  private readonly ar = new Uint8Array(AR_COUNT);
  private arIndex = 0;
  /** 0: the next 0x3c0 write is an index, 1: data. */
  private arFlipFlop = 0;
  private st01 = 0;
  /** 256 entries of 6-bit red, green, blue. */
  readonly palette = new Uint8Array(768);
  private dacReadIndex = 0;
  private dacWriteIndex = 0;
  private dacSubIndex = 0;
  /** 0x3c7 reads 0 after a read index was set, 3 after a write index. */
  private dacState = 0;
  private pelMask = 0xff;

  /** Power-on values. */
  reset(): void {
    this.misc = 0;
    for (const a of [this.sr, this.gr, this.cr, this.ar, this.palette]) a.fill(0);
    this.srIndex = this.grIndex = this.crIndex = this.arIndex = this.arFlipFlop = this.st01 = 0;
    this.dacReadIndex = this.dacWriteIndex = this.dacSubIndex = this.dacState = 0;
    this.pelMask = 0xff;
  }

  /** The CRTC's ports answer only at the base MISC selects; the other base reads 0xff and ignores writes. */
  private wrongBase(port: number): boolean {
    const mono = port >= 0x3b0 && port <= 0x3bf;
    const color = port >= 0x3d0 && port <= 0x3df;
    return (mono && (this.misc & MISC_COLOR) !== 0) || (color && (this.misc & MISC_COLOR) === 0);
  }

  ioRead(port: number): number {
    if (this.wrongBase(port)) return 0xff;
    switch (port) {
      case 0x3c0: return this.arFlipFlop === 0 ? this.arIndex : 0;
      case 0x3c1: return this.ar[this.arIndex & 0x1f] ?? 0;
      case 0x3c2: return 0; // input status 0
      case 0x3c4: return this.srIndex;
      case 0x3c5: return this.sr[this.srIndex] ?? 0;
      case 0x3c6: return this.pelMask;
      case 0x3c7: return this.dacState;
      case 0x3c8: return this.dacWriteIndex;
      case 0x3c9: {
        const v = this.palette[this.dacReadIndex * 3 + this.dacSubIndex] ?? 0;
        if (++this.dacSubIndex === 3) {
          this.dacSubIndex = 0;
          this.dacReadIndex = (this.dacReadIndex + 1) & 0xff;
        }
        return v;
      }
      case 0x3cc: return this.misc;
      case 0x3ce: return this.grIndex;
      case 0x3cf: return this.gr[this.grIndex] ?? 0;
      case 0x3b4: case 0x3d4: return this.crIndex;
      case 0x3b5: case 0x3d5: return this.cr[this.crIndex] ?? 0;
      case 0x3ba: case 0x3da:
        // Reading input status 1 resets the attribute flip-flop.
        this.st01 ^= ST01_TOGGLE;
        this.arFlipFlop = 0;
        return this.st01;
      default: return 0xff;
    }
  }

  ioWrite(port: number, value: number): void {
    if (this.wrongBase(port)) return;
    const v = value & 0xff;
    switch (port) {
      case 0x3c0:
        if (this.arFlipFlop === 0) this.arIndex = v & 0x3f;
        else if ((this.arIndex & 0x1f) < AR_COUNT) this.ar[this.arIndex & 0x1f] = v;
        this.arFlipFlop ^= 1;
        break;
      case 0x3c2: this.misc = v; break;
      case 0x3c4: this.srIndex = v & 7; break;
      case 0x3c5: this.sr[this.srIndex] = v; break;
      case 0x3c6: this.pelMask = v; break;
      case 0x3c7: this.dacReadIndex = v; this.dacSubIndex = 0; this.dacState = 0; break;
      case 0x3c8: this.dacWriteIndex = v; this.dacSubIndex = 0; this.dacState = 3; break;
      case 0x3c9:
        this.palette[this.dacWriteIndex * 3 + this.dacSubIndex] = v & 0x3f;
        if (++this.dacSubIndex === 3) {
          this.dacSubIndex = 0;
          this.dacWriteIndex = (this.dacWriteIndex + 1) & 0xff;
        }
        break;
      case 0x3ce: this.grIndex = v & 0x0f; break;
      case 0x3cf: if (this.grIndex < GR_COUNT) this.gr[this.grIndex] = v; break;
      case 0x3b4: case 0x3d4: this.crIndex = v; break;
      case 0x3b5: case 0x3d5: if (this.crIndex < CR_COUNT) this.cr[this.crIndex] = v; break;
      default: break; // input status and unassigned ports ignore writes
    }
  }

  save(): VgaRegistersRecord {
    return {
      version: 1, misc: this.misc, sr: [...this.sr], srIndex: this.srIndex, gr: [...this.gr], grIndex: this.grIndex,
      cr: [...this.cr], crIndex: this.crIndex, ar: [...this.ar], arIndex: this.arIndex, arFlipFlop: this.arFlipFlop,
      palette: [...this.palette], dacReadIndex: this.dacReadIndex, dacWriteIndex: this.dacWriteIndex,
      dacSubIndex: this.dacSubIndex, dacState: this.dacState, pelMask: this.pelMask,
    };
  }

  /** Validates a record without applying it (EINVAL for anything malformed). */
  static parse(record: unknown): VgaRegistersRecord {
    if (typeof record !== 'object' || record === null) throw new VfioError('EINVAL', 'VGA register record is not an object');
    const r = new Map<string, unknown>(Object.entries(record));
    if (r.get('version') !== 1) throw new VfioError('EINVAL', 'not a v1 VGA register record');
    const byte = (k: string, max = 0xff): number => {
      const v = r.get(k);
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new VfioError('EINVAL', `VGA record ${k}`);
      return v;
    };
    const bytes = (k: string, n: number): number[] => {
      const v = r.get(k);
      if (!Array.isArray(v) || v.length !== n || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0xff)) throw new VfioError('EINVAL', `VGA record ${k}`);
      return v.map(Number);
    };
    return {
      version: 1, misc: byte('misc'), sr: bytes('sr', SR_COUNT), srIndex: byte('srIndex', SR_COUNT - 1), gr: bytes('gr', GR_COUNT),
      grIndex: byte('grIndex', 0x0f), cr: bytes('cr', CR_COUNT), crIndex: byte('crIndex'), ar: bytes('ar', AR_COUNT),
      arIndex: byte('arIndex', 0x3f), arFlipFlop: byte('arFlipFlop', 1), palette: bytes('palette', 768),
      dacReadIndex: byte('dacReadIndex'), dacWriteIndex: byte('dacWriteIndex'), dacSubIndex: byte('dacSubIndex', 2),
      dacState: byte('dacState', 3), pelMask: byte('pelMask'),
    };
  }

  /** Applies a record from `parse`. */
  load(r: VgaRegistersRecord): void {
    this.misc = r.misc;
    this.sr.set(r.sr);
    this.gr.set(r.gr);
    this.cr.set(r.cr);
    this.ar.set(r.ar);
    this.palette.set(r.palette);
    Object.assign(this, {
      srIndex: r.srIndex, grIndex: r.grIndex, crIndex: r.crIndex, arIndex: r.arIndex, arFlipFlop: r.arFlipFlop,
      dacReadIndex: r.dacReadIndex, dacWriteIndex: r.dacWriteIndex, dacSubIndex: r.dacSubIndex, dacState: r.dacState, pelMask: r.pelMask,
    });
  }
}
