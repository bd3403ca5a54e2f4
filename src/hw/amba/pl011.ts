// The ARM PrimeCell UART PL011 (ARM DDI 0183; register names from include/linux/amba/serial.h; behaviour after
// QEMU's hw/char/pl011.c): data register with the FIFOs (16 deep when LCR_H.FEN, else 1), flags, line control,
// control (UARTEN, TXE, RXE, LBE), FIFO levels, and the interrupt registers IMSC/RIS/MIS/ICR on one combined
// line (UARTINTR). TX bytes go to a host backend (a chardev), or back into the receiver in loopback (no backend,
// or CR.LBE). The RX timeout fires as soon as data sits below the trigger level (bytes arrive in bursts).
import type { IrqLine } from '../platform/irq-line.js';
import type { MmioHw } from '../platform/mmio-device.js';
import { regBankRead, regBankWrite } from '../platform/mmio-device.js';
import type { UartBackend } from '../uart16550.js';
import { AMBA_CID, primecellIdRead } from './primecell-id.js';

export const UART01x_DR = 0x00;
export const UART01x_RSR = 0x04;
export const UART01x_FR = 0x18;
export const UART011_IBRD = 0x24;
export const UART011_FBRD = 0x28;
export const UART011_LCRH = 0x2c;
export const UART011_CR = 0x30;
export const UART011_IFLS = 0x34;
export const UART011_IMSC = 0x38;
export const UART011_RIS = 0x3c;
export const UART011_MIS = 0x40;
export const UART011_ICR = 0x44;
export const UART011_DMACR = 0x48;

export const UART01x_FR_BUSY = 0x008;
export const UART01x_FR_RXFE = 0x010;
export const UART01x_FR_TXFF = 0x020;
export const UART011_FR_RXFF = 0x040;
export const UART011_FR_TXFE = 0x080;
export const UART01x_LCRH_FEN = 0x10;
export const UART01x_CR_UARTEN = 0x001;
export const UART011_CR_LBE = 0x080;
export const UART011_CR_TXE = 0x100;
export const UART011_CR_RXE = 0x200;
export const UART011_RXIM = 0x010;
export const UART011_TXIM = 0x020;
export const UART011_RTIM = 0x040;
export const UART011_OEIM = 0x400;
export const UART011_OE = 0x800;

/** QEMU's PL011 peripheral ID (r1p4, "arm,pl011"): part 0x011, designer ARM. */
export const PL011_PERIPHID = 0x00141011;
export const PL011_WINDOW_SIZE = 0x1000;
const FIFO_DEPTH = 16;
/** IFLS trigger levels in eighths: 1/8, 1/4, 1/2, 3/4, 7/8. */
const IFLS_EIGHTHS = [1, 2, 4, 6, 7] as const;

export interface Pl011Options {
  /** The host side; absent: TX loops back into RX (a loopback chardev). */
  readonly backend?: UartBackend;
}

export class Pl011 implements MmioHw {
  readonly model = 'pl011';
  rx: number[] = [];
  tx: number[] = [];
  rsr = 0;
  ibrd = 0;
  fbrd = 0;
  lcrh = 0;
  cr = 0;
  ifls = 0;
  imsc = 0;
  /** The latched interrupt causes (RIS). */
  ris = 0;
  dmacr = 0;
  private line: IrqLine | null = null;

  constructor(private readonly opts: Pl011Options = {}) {
    this.reset();
  }

  connectIrqs(lines: readonly IrqLine[]): void {
    this.line = lines[0] ?? null;
    this.updateIrq();
  }

  reset(): void {
    this.rx = [];
    this.tx = [];
    this.rsr = 0;
    this.ibrd = 0;
    this.fbrd = 0;
    this.lcrh = 0;
    this.cr = UART011_CR_RXE | UART011_CR_TXE;
    this.ifls = 0x12;
    this.imsc = 0;
    this.ris = 0;
    this.dmacr = 0;
    this.updateIrq();
  }

  private get depth(): number {
    return (this.lcrh & UART01x_LCRH_FEN) !== 0 ? FIFO_DEPTH : 1;
  }

  private rxTrigger(): number {
    if (this.depth === 1) return 1;
    return ((IFLS_EIGHTHS[(this.ifls >>> 3) & 7] ?? 4) * FIFO_DEPTH) / 8;
  }

  /** Bytes from the host side (or looped back): into the RX FIFO while the receiver runs; overrun past full. */
  receive(bytes: Iterable<number>): void {
    if ((this.cr & UART01x_CR_UARTEN) === 0 || (this.cr & UART011_CR_RXE) === 0) return;
    for (const b of bytes) {
      if (this.rx.length >= this.depth) {
        this.rsr |= 0x8; // overrun error
        this.ris |= UART011_OE;
        continue;
      }
      this.rx.push(b & 0xff);
    }
    this.rxLevelChanged();
  }

  /** RX and RX-timeout causes follow the FIFO level (the timeout fires at once below the trigger). */
  private rxLevelChanged(): void {
    this.ris &= ~(UART011_RXIM | UART011_RTIM);
    if (this.rx.length >= this.rxTrigger()) this.ris |= UART011_RXIM;
    else if (this.rx.length > 0) this.ris |= UART011_RTIM;
    this.updateIrq();
  }

  /** Sends what the TX FIFO holds while the UART and transmitter are enabled. */
  private drainTx(): void {
    if ((this.cr & UART01x_CR_UARTEN) === 0 || (this.cr & UART011_CR_TXE) === 0 || this.tx.length === 0) return;
    const out = this.tx.splice(0);
    const backend = this.opts.backend;
    if (backend === undefined || (this.cr & UART011_CR_LBE) !== 0) this.receive(out);
    else for (const b of out) backend.write(b);
    // The FIFO emptied below any TX trigger level.
    this.ris |= UART011_TXIM;
    this.updateIrq();
  }

  private get fr(): number {
    let fr = 0;
    if (this.rx.length === 0) fr |= UART01x_FR_RXFE;
    if (this.rx.length >= this.depth) fr |= UART011_FR_RXFF;
    if (this.tx.length === 0) fr |= UART011_FR_TXFE;
    else fr |= UART01x_FR_BUSY;
    if (this.tx.length >= this.depth) fr |= UART01x_FR_TXFF;
    return fr;
  }

  read(_window: number, offset: number, size: 1 | 2 | 4): number {
    return regBankRead((o) => this.read32(o), offset, size);
  }

  write(_window: number, offset: number, _size: 1 | 2 | 4, value: number): void {
    regBankWrite((o, v) => this.write32(o, v), offset, value);
  }

  private read32(offset: number): number {
    const id = primecellIdRead(PL011_WINDOW_SIZE, PL011_PERIPHID, AMBA_CID, offset);
    if (id !== undefined) return id;
    switch (offset) {
      case UART01x_DR: {
        const b = this.rx.shift();
        if (b === undefined) return 0;
        this.rxLevelChanged();
        return b;
      }
      case UART01x_RSR: return this.rsr;
      case UART01x_FR: return this.fr;
      case UART011_IBRD: return this.ibrd;
      case UART011_FBRD: return this.fbrd;
      case UART011_LCRH: return this.lcrh;
      case UART011_CR: return this.cr;
      case UART011_IFLS: return this.ifls;
      case UART011_IMSC: return this.imsc;
      case UART011_RIS: return this.ris;
      case UART011_MIS: return this.ris & this.imsc;
      case UART011_DMACR: return this.dmacr;
      default: return 0;
    }
  }

  private write32(offset: number, v: number): void {
    switch (offset) {
      case UART01x_DR:
        if (this.tx.length < this.depth) this.tx.push(v & 0xff);
        this.drainTx();
        return;
      case UART01x_RSR: this.rsr = 0; return; // any write clears the error status (UARTECR)
      case UART011_IBRD: this.ibrd = v & 0xffff; return;
      case UART011_FBRD: this.fbrd = v & 0x3f; return;
      case UART011_LCRH:
        // Changing FEN flushes the FIFOs.
        if (((this.lcrh ^ v) & UART01x_LCRH_FEN) !== 0) {
          this.rx = [];
          this.tx = [];
        }
        this.lcrh = v & 0xff;
        this.rxLevelChanged();
        return;
      case UART011_CR:
        this.cr = v & 0xffff;
        this.drainTx();
        return;
      case UART011_IFLS: this.ifls = v & 0x3f; this.rxLevelChanged(); return;
      case UART011_IMSC: this.imsc = v & 0x7ff; this.updateIrq(); return;
      case UART011_ICR: this.ris &= ~v; this.updateIrq(); return;
      case UART011_DMACR: this.dmacr = v & 0x7; return;
      default: return;
    }
  }

  /** UARTINTR: any masked cause. */
  updateIrq(): void {
    this.line?.set((this.ris & this.imsc) !== 0);
  }
}
