// A 16550A UART state machine (serial_reg.h names; QEMU hw/char/serial.c behaviour; 8250_port.c probing).

import { VfioError, check } from '../uapi/errno.js';

import {
  UART_RX, UART_TX, UART_IER, UART_IIR, UART_FCR, UART_LCR, UART_MCR, UART_LSR, UART_MSR, UART_SCR, UART_REG_COUNT,
  UART_IER_RDI, UART_IER_THRI, UART_IER_RLSI, UART_IER_MSI, UART_IIR_NO_INT, UART_IIR_MSI, UART_IIR_THRI,
  UART_IIR_RDI, UART_IIR_RLSI, UART_IIR_RX_TIMEOUT, UART_IIR_FIFO_ENABLED_16550A, UART_FCR_ENABLE_FIFO,
  UART_FCR_CLEAR_RCVR, UART_FCR_CLEAR_XMIT, UART_FCR_DMA_SELECT, UART_FCR_TRIGGER_MASK, UART_LCR_DLAB, UART_MCR_DTR,
  UART_MCR_RTS, UART_MCR_OUT1, UART_MCR_OUT2, UART_MCR_LOOP, UART_LSR_DR, UART_LSR_OE, UART_LSR_THRE, UART_LSR_TEMT,
  UART_LSR_BRK_ERROR_BITS, UART_MSR_DCTS, UART_MSR_DDSR, UART_MSR_TERI, UART_MSR_DDCD, UART_MSR_ANY_DELTA,
  UART_MSR_CTS, UART_MSR_DSR, UART_MSR_RI, UART_MSR_DCD,
} from '../uapi/serial-reg.js';

// The register names are part of this model's interface too.
export * from '../uapi/serial-reg.js';

/** The 16550A's FIFO depth (and mtty's MAX_FIFO_SIZE). */
export const UART_FIFO_SIZE = 16;

const TRIGGER_LEVELS = [1, 4, 8, 14] as const;

/** Where transmitted bytes go when not in loopback (a socket, stdio, a test). */
export interface UartBackend {
  /** One byte left the transmitter. */
  write(byte: number): void;
}

export interface UartOptions {
  /**
   * The host side. Absent: bytes written to THR loop back into the RX FIFO, exactly as the
   * kernel's mtty sample always does.
   */
  backend?: UartBackend;
  /** Called when the interrupt line changes level (recomputed in `updateIrq()`). */
  onIrq?: (level: boolean) => void;
  /**
   * When the character timeout (IIR 0x0c) fires for data below the FIFO trigger level:
   * 'immediate' (default) treats the line as already idle, since bytes arrive in bursts;
   * 'manual' waits for the owner to call `charTimeout()` (after ~4 character times).
   */
  rxTimeout?: 'immediate' | 'manual';
}

/** The saved state of one UART: what mtty's migration stream carries per port. */
export interface UartStateRecord {
  version: 1;
  ier: number;
  lcr: number;
  mcr: number;
  fcr: number;
  scr: number;
  dll: number;
  dlm: number;
  /** Sticky LSR error bits (OE, PE, FE, BI) not yet read. */
  lsrErrors: number;
  /** MSR delta bits not yet read. */
  msrDelta: number;
  /** The modem input lines from the host side (CTS, DSR, RI, DCD bits of MSR). */
  msrInputs: number;
  thrIpending: boolean;
  timeoutPending: boolean;
  rxFifo: number[];
}

/** Default modem inputs: a connected peer (CTS, DSR and DCD asserted), as QEMU's serial. */
const DEFAULT_MSR_INPUTS = UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD;

/**
 * One 16550A. Register accesses are byte-wide at offsets 0..7. Transmission is instant: a THR
 * write goes straight to loopback or the backend, so THRE/TEMT are set again right after.
 */
export class Uart16550 {
  private ier = 0;
  private lcr = 0;
  private mcr = 0;
  private fcr = 0;
  private scr = 0;
  private dll = 0x0c;
  private dlm = 0;
  private lsrErrors = 0;
  private msrDelta = 0;
  private msrInputs = DEFAULT_MSR_INPUTS;
  private lines = DEFAULT_MSR_INPUTS;
  private thrIpending = false;
  private timeoutPending = false;
  private rx: number[] = [];
  private irqLevel = false;
  private backend: UartBackend | undefined;
  private onIrq: ((level: boolean) => void) | undefined;
  private readonly rxTimeoutMode: 'immediate' | 'manual';

  constructor(opts: UartOptions = {}) {
    this.backend = opts.backend;
    this.onIrq = opts.onIrq;
    this.rxTimeoutMode = opts.rxTimeout ?? 'immediate';
  }

  /** Restores a saved record into a new UART (the record is validated first). */
  static load(record: unknown, opts: UartOptions = {}): Uart16550 {
    const u = new Uart16550(opts);
    u.restore(record);
    return u;
  }

  /** Connects a host-side backend; undefined returns to mtty's always-loopback. */
  setBackend(backend: UartBackend | undefined): void {
    this.backend = backend;
  }

  /** Sets (or clears) the interrupt line listener. */
  setIrqHandler(onIrq: ((level: boolean) => void) | undefined): void {
    this.onIrq = onIrq;
  }

  /** The current interrupt line level. */
  get irq(): boolean {
    return this.irqLevel;
  }

  /** Power-on state (the line is reported low if it was high). */
  reset(): void {
    this.ier = 0;
    this.lcr = 0;
    this.mcr = 0;
    this.fcr = 0;
    this.scr = 0;
    this.dll = 0x0c;
    this.dlm = 0;
    this.lsrErrors = 0;
    this.msrDelta = 0;
    this.lines = this.msrInputs;
    this.thrIpending = false;
    this.timeoutPending = false;
    this.rx = [];
    this.updateIrq();
  }

  // ---- guest side ----------------------------------------------------------------------

  /** A guest read of register `offset` (0..7). Reads of RX, IIR, LSR and MSR have side effects. */
  read(offset: number): number {
    this.checkOffset(offset);
    const dlab = (this.lcr & UART_LCR_DLAB) !== 0;
    switch (offset) {
      case UART_RX: {
        if (dlab) return this.dll;
        const byte = this.rx.shift() ?? 0;
        this.timeoutPending = false;
        this.updateIrq();
        return byte;
      }
      case UART_IER:
        return dlab ? this.dlm : this.ier;
      case UART_IIR: {
        const iid = this.interruptId();
        // Reading IIR acknowledges a THR-empty interrupt when that is what it reports.
        if (iid === UART_IIR_THRI) {
          this.thrIpending = false;
          this.updateIrq();
        }
        return iid | (this.fifoEnabled() ? UART_IIR_FIFO_ENABLED_16550A : 0);
      }
      case UART_LCR:
        return this.lcr;
      case UART_MCR:
        return this.mcr;
      case UART_LSR: {
        const lsr = this.lsr();
        this.lsrErrors = 0;
        this.updateIrq();
        return lsr;
      }
      case UART_MSR: {
        const msr = this.lines | this.msrDelta;
        this.msrDelta = 0;
        this.updateIrq();
        return msr;
      }
      default:
        return this.scr;
    }
  }

  /** A guest write of `value` (a byte) to register `offset` (0..7). LSR and MSR ignore writes. */
  write(offset: number, value: number): void {
    this.checkOffset(offset);
    const v = value & 0xff;
    const dlab = (this.lcr & UART_LCR_DLAB) !== 0;
    switch (offset) {
      case UART_TX:
        if (dlab) this.dll = v;
        else this.transmit(v);
        break;
      case UART_IER:
        if (dlab) {
          this.dlm = v;
        } else {
          const enabled = v & ~this.ier & UART_IER_THRI;
          this.ier = v & 0x0f;
          // THRI going 0 -> 1 with the holding register empty makes THRE pending at once.
          if (enabled !== 0) this.thrIpending = true;
        }
        break;
      case UART_FCR:
        this.writeFcr(v);
        break;
      case UART_LCR:
        this.lcr = v;
        break;
      case UART_MCR:
        this.mcr = v & 0x1f;
        this.updateLines();
        break;
      case UART_SCR:
        this.scr = v;
        break;
      default:
        // LSR and MSR are read-only: a guest write there is ignored.
        break;
    }
    this.updateIrq();
  }

  // ---- host side -----------------------------------------------------------------------

  /** Bytes arriving on the line from the host side (ignored in loopback, as on the chip). */
  receive(bytes: Iterable<number>): void {
    if ((this.mcr & UART_MCR_LOOP) !== 0) return;
    for (const b of bytes) this.pushRx(b & 0xff);
    this.updateIrq();
  }

  /** The host-side modem inputs (CTS/DSR/RI/DCD bits of MSR); deltas are latched. */
  setModemInputs(msrBits: number): void {
    this.msrInputs = msrBits & 0xf0;
    this.updateLines();
    this.updateIrq();
  }

  /** In 'manual' rxTimeout mode: the line has been idle ~4 character times. */
  charTimeout(): void {
    if (this.rx.length > 0) this.timeoutPending = true;
    this.updateIrq();
  }

  /** The current receive FIFO depth (for tests and flow control). */
  get rxCount(): number {
    return this.rx.length;
  }

  /** The divisor latch (DLM << 8 | DLL). */
  get divisor(): number {
    return (this.dlm << 8) | this.dll;
  }

  // ---- the interrupt line --------------------------------------------------------------

  /** Recomputes the interrupt line from register state; reports a change to `onIrq`. */
  updateIrq(): void {
    const level = this.interruptId() !== UART_IIR_NO_INT;
    if (level === this.irqLevel) return;
    this.irqLevel = level;
    this.onIrq?.(level);
  }

  /** IIR's interrupt id by 16550 priority: line status > RX data/timeout > THRE > modem status. */
  private interruptId(): number {
    const ier = this.ier;
    if ((ier & UART_IER_RLSI) !== 0 && (this.lsrErrors & UART_LSR_BRK_ERROR_BITS) !== 0) return UART_IIR_RLSI;
    if ((ier & UART_IER_RDI) !== 0 && this.rx.length > 0) {
      if (!this.fifoEnabled() || this.rx.length >= this.triggerLevel()) return UART_IIR_RDI;
      if (this.rxTimeoutMode === 'immediate' || this.timeoutPending) return UART_IIR_RX_TIMEOUT;
    }
    if ((ier & UART_IER_THRI) !== 0 && this.thrIpending) return UART_IIR_THRI;
    if ((ier & UART_IER_MSI) !== 0 && (this.msrDelta & UART_MSR_ANY_DELTA) !== 0) return UART_IIR_MSI;
    return UART_IIR_NO_INT;
  }

  // ---- save / restore ------------------------------------------------------------------

  save(): UartStateRecord {
    return {
      version: 1,
      ier: this.ier,
      lcr: this.lcr,
      mcr: this.mcr,
      fcr: this.fcr,
      scr: this.scr,
      dll: this.dll,
      dlm: this.dlm,
      lsrErrors: this.lsrErrors,
      msrDelta: this.msrDelta,
      msrInputs: this.msrInputs,
      thrIpending: this.thrIpending,
      timeoutPending: this.timeoutPending,
      rxFifo: [...this.rx],
    };
  }

  /** Replaces the state with a saved record; EINVAL (state unchanged) when it is malformed. */
  restore(record: unknown): void {
    const r = validateRecord(record);
    this.ier = r.ier & 0x0f;
    this.lcr = r.lcr;
    this.mcr = r.mcr & 0x1f;
    this.fcr = r.fcr & 0xc9;
    this.scr = r.scr;
    this.dll = r.dll;
    this.dlm = r.dlm;
    this.lsrErrors = r.lsrErrors & UART_LSR_BRK_ERROR_BITS;
    this.msrDelta = r.msrDelta & UART_MSR_ANY_DELTA;
    this.msrInputs = r.msrInputs & 0xf0;
    this.lines = this.effectiveLines();
    this.thrIpending = r.thrIpending;
    this.timeoutPending = r.timeoutPending;
    this.rx = [...r.rxFifo];
    this.updateIrq();
  }

  // ---- internals -----------------------------------------------------------------------

  private fifoEnabled(): boolean {
    return (this.fcr & UART_FCR_ENABLE_FIFO) !== 0;
  }

  private fifoCapacity(): number {
    return this.fifoEnabled() ? UART_FIFO_SIZE : 1;
  }

  private triggerLevel(): number {
    return TRIGGER_LEVELS[(this.fcr & UART_FCR_TRIGGER_MASK) >> 6] ?? 1;
  }

  private lsr(): number {
    // The transmitter is instant: holding register and shift register are always empty.
    let lsr = this.lsrErrors | UART_LSR_THRE | UART_LSR_TEMT;
    if (this.rx.length > 0) lsr |= UART_LSR_DR;
    return lsr;
  }

  private transmit(byte: number): void {
    this.thrIpending = false;
    if ((this.mcr & UART_MCR_LOOP) !== 0 || this.backend === undefined) this.pushRx(byte);
    else this.backend.write(byte);
    // The byte is gone: THR is empty again.
    this.thrIpending = true;
  }

  private pushRx(byte: number): void {
    if (this.rx.length < this.fifoCapacity()) {
      this.rx.push(byte);
      return;
    }
    this.lsrErrors |= UART_LSR_OE;
    // Without FIFOs the holding register is overwritten; with them the new byte is lost.
    if (!this.fifoEnabled()) this.rx[0] = byte;
  }

  private writeFcr(v: number): void {
    let val = v;
    // Toggling FIFO enable flushes both FIFOs, as on the chip.
    if (((val ^ this.fcr) & UART_FCR_ENABLE_FIFO) !== 0) val |= UART_FCR_CLEAR_RCVR | UART_FCR_CLEAR_XMIT;
    if ((val & UART_FCR_CLEAR_RCVR) !== 0) {
      this.rx = [];
      this.timeoutPending = false;
    }
    if ((val & UART_FCR_CLEAR_XMIT) !== 0) this.thrIpending = true;
    this.fcr = val & (UART_FCR_ENABLE_FIFO | UART_FCR_DMA_SELECT | UART_FCR_TRIGGER_MASK);
  }

  /** In loopback the modem outputs drive the inputs: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD. */
  private effectiveLines(): number {
    if ((this.mcr & UART_MCR_LOOP) === 0) return this.msrInputs;
    const m = this.mcr;
    return (
      ((m & UART_MCR_RTS) !== 0 ? UART_MSR_CTS : 0) |
      ((m & UART_MCR_DTR) !== 0 ? UART_MSR_DSR : 0) |
      ((m & UART_MCR_OUT1) !== 0 ? UART_MSR_RI : 0) |
      ((m & UART_MCR_OUT2) !== 0 ? UART_MSR_DCD : 0)
    );
  }

  private updateLines(): void {
    const next = this.effectiveLines();
    const changed = next ^ this.lines;
    if ((changed & UART_MSR_CTS) !== 0) this.msrDelta |= UART_MSR_DCTS;
    if ((changed & UART_MSR_DSR) !== 0) this.msrDelta |= UART_MSR_DDSR;
    if ((changed & UART_MSR_DCD) !== 0) this.msrDelta |= UART_MSR_DDCD;
    // Trailing edge of RI only.
    if ((this.lines & UART_MSR_RI) !== 0 && (next & UART_MSR_RI) === 0) this.msrDelta |= UART_MSR_TERI;
    this.lines = next;
  }

  private checkOffset(offset: number): void {
    // On every register access: the message is built only when the check fails.
    if (!(Number.isInteger(offset) && offset >= 0 && offset < UART_REG_COUNT)) throw new VfioError('EINVAL', `UART register ${offset}`);
  }
}

function validateRecord(record: unknown): UartStateRecord {
  if (typeof record !== 'object' || record === null) throw new VfioError('EINVAL', 'UART record is not an object');
  const r = new Map<string, unknown>(Object.entries(record));
  check(r.get('version') === 1, 'EINVAL', `UART record version ${String(r.get('version'))}`);
  const u8 = (name: string): number => {
    const v = r.get(name);
    check(typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xff, 'EINVAL', `UART record ${name}`);
    return v;
  };
  const bool = (name: string): boolean => {
    const v = r.get(name);
    check(typeof v === 'boolean', 'EINVAL', `UART record ${name}`);
    return v;
  };
  const fifo = r.get('rxFifo');
  check(Array.isArray(fifo) && fifo.length <= UART_FIFO_SIZE, 'EINVAL', 'UART record rxFifo');
  const rxFifo: number[] = [];
  for (const b of fifo) {
    check(typeof b === 'number' && Number.isInteger(b) && b >= 0 && b <= 0xff, 'EINVAL', 'UART record rxFifo byte');
    rxFifo.push(b);
  }
  const fcr = u8('fcr');
  const capacity = (fcr & UART_FCR_ENABLE_FIFO) !== 0 ? UART_FIFO_SIZE : 1;
  check(rxFifo.length <= capacity, 'EINVAL', `rxFifo of ${rxFifo.length} bytes exceeds the FIFO`);
  return {
    version: 1,
    ier: u8('ier'),
    lcr: u8('lcr'),
    mcr: u8('mcr'),
    fcr,
    scr: u8('scr'),
    dll: u8('dll'),
    dlm: u8('dlm'),
    lsrErrors: u8('lsrErrors'),
    msrDelta: u8('msrDelta'),
    msrInputs: u8('msrInputs'),
    thrIpending: bool('thrIpending'),
    timeoutPending: bool('timeoutPending'),
    rxFifo,
  };
}
