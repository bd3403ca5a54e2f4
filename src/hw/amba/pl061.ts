// The ARM PrimeCell GPIO PL061 (ARM DDI 0190; drivers/gpio/gpio-pl061.c names): eight pins, data reads and writes
// masked by address bits [9:2], direction, interrupt sense (level or edge), both-edges, event (rising/high),
// enable, raw and masked status, clear; one combined interrupt line (GPIOINTR). The host side drives input pins.
import type { IrqLine } from '../platform/irq-line.js';
import type { MmioHw } from '../platform/mmio-device.js';
import { regBankRead, regBankWrite } from '../platform/mmio-device.js';
import { AMBA_CID, primecellIdRead } from './primecell-id.js';

export const GPIODATA = 0x000;
export const GPIODIR = 0x400;
export const GPIOIS = 0x404;
export const GPIOIBE = 0x408;
export const GPIOIEV = 0x40c;
export const GPIOIE = 0x410;
export const GPIORIS = 0x414;
export const GPIOMIS = 0x418;
export const GPIOIC = 0x41c;
export const GPIOAFSEL = 0x420;

/** The PL061's peripheral ID (r1p0): part 0x061, designer ARM. */
export const PL061_PERIPHID = 0x00041061;
export const PL061_WINDOW_SIZE = 0x1000;

export class Pl061 implements MmioHw {
  readonly model = 'pl061';
  /** Output latch (pins the guest drives) and the input levels the host drives. */
  out = 0;
  inputs = 0;
  dir = 0;
  is = 0;
  ibe = 0;
  iev = 0;
  ie = 0;
  /** Latched edge causes (level-sensed pins are computed). */
  edges = 0;
  afsel = 0;
  private line: IrqLine | null = null;

  constructor() {
    this.reset();
  }

  connectIrqs(lines: readonly IrqLine[]): void {
    this.line = lines[0] ?? null;
    this.updateIrq();
  }

  reset(): void {
    this.out = 0;
    this.dir = 0;
    this.is = 0;
    this.ibe = 0;
    this.iev = 0;
    this.ie = 0;
    this.edges = 0;
    this.afsel = 0;
    this.updateIrq();
  }

  /** The pin levels: outputs from the latch, inputs from the host. */
  get pins(): number {
    return ((this.out & this.dir) | (this.inputs & ~this.dir)) & 0xff;
  }

  /** The host drives input `pin` to `level`; edges on edge-sensed pins latch a cause. */
  setInput(pin: number, level: boolean): void {
    const bit = 1 << (pin & 7);
    const before = this.pins;
    this.inputs = level ? this.inputs | bit : this.inputs & ~bit;
    this.sampleEdges(before);
  }

  private sampleEdges(before: number): void {
    const after = this.pins;
    const changed = before ^ after;
    const edgeSensed = ~this.is & 0xff;
    const rising = changed & after;
    const falling = changed & ~after;
    const hit = (changed & this.ibe) | (rising & this.iev & ~this.ibe) | (falling & ~this.iev & ~this.ibe);
    this.edges |= hit & edgeSensed;
    this.updateIrq();
  }

  /** GPIORIS: latched edges, and level-sensed pins at their active level. */
  get ris(): number {
    const level = this.is & ~(this.pins ^ this.iev) & 0xff;
    return (this.edges | level) & 0xff;
  }

  read(_window: number, offset: number, size: 1 | 2 | 4): number {
    return regBankRead((o) => this.read32(o), offset, size);
  }

  write(_window: number, offset: number, _size: 1 | 2 | 4, value: number): void {
    regBankWrite((o, v) => this.write32(o, v), offset, value);
  }

  private read32(offset: number): number {
    const id = primecellIdRead(PL061_WINDOW_SIZE, PL061_PERIPHID, AMBA_CID, offset);
    if (id !== undefined) return id;
    if (offset < GPIODIR) return this.pins & ((offset >>> 2) & 0xff);
    switch (offset) {
      case GPIODIR: return this.dir;
      case GPIOIS: return this.is;
      case GPIOIBE: return this.ibe;
      case GPIOIEV: return this.iev;
      case GPIOIE: return this.ie;
      case GPIORIS: return this.ris;
      case GPIOMIS: return this.ris & this.ie;
      case GPIOAFSEL: return this.afsel;
      default: return 0;
    }
  }

  private write32(offset: number, v: number): void {
    const before = this.pins;
    if (offset < GPIODATA + 0x400) {
      const mask = (offset >>> 2) & 0xff;
      this.out = (this.out & ~mask) | (v & mask);
    } else {
      switch (offset) {
        case GPIODIR: this.dir = v & 0xff; break;
        case GPIOIS: this.is = v & 0xff; break;
        case GPIOIBE: this.ibe = v & 0xff; break;
        case GPIOIEV: this.iev = v & 0xff; break;
        case GPIOIE: this.ie = v & 0xff; break;
        case GPIOIC: this.edges &= ~v; break;
        case GPIOAFSEL: this.afsel = v & 0xff; break;
        default: return;
      }
    }
    this.sampleEdges(before);
  }

  /** GPIOINTR: any enabled cause. */
  updateIrq(): void {
    this.line?.set((this.ris & this.ie) !== 0);
  }
}
