// One interrupt line of the simulated SoC as the kernel's generic IRQ layer sees it (kernel/irq/manage.c
// request_irq/free_irq, enable_irq/disable_irq with their nesting depth, IRQF_NO_AUTOEN; kernel/irq/chip.c
// handle_level_irq/handle_edge_irq): a device model drives the line's level; whoever requested the line gets its
// handler run while the line is enabled. A level line re-delivers on enable while still asserted; an edge that
// arrives while the line is disabled is latched (IRQS_PENDING) and replayed on enable.
import { VfioError } from '../../uapi/errno.js';

/** How the firmware description says the line is triggered (IRQ_TYPE_LEVEL_HIGH / IRQ_TYPE_EDGE_RISING). */
export type IrqTrigger = 'level' | 'edge';

/** The handler request_irq() installs: called with the line it was requested on. */
export type IrqHandler = (line: IrqLine) => void;

export class IrqLine {
  /** The line's level as its device drives it. */
  private asserted = false;
  private handler: IrqHandler | null = null;
  /** disable_irq nesting depth (desc->depth): delivery only at 0. */
  private depth = 1;
  /** An edge seen while disabled, replayed on enable. */
  private pending = false;
  /** How many times a handler ran (/proc/interrupts' count). */
  count = 0;

  constructor(
    /** The line's number in the SoC's interrupt controller (the DT's interrupt specifier). */
    readonly hwirq: number,
    readonly trigger: IrqTrigger,
  ) {}

  /** The level the device drives now. */
  get level(): boolean {
    return this.asserted;
  }

  /** Whether a handler is installed. */
  get requested(): boolean {
    return this.handler !== null;
  }

  /** Whether the line is enabled (depth 0). */
  get enabled(): boolean {
    return this.depth === 0;
  }

  /** The device model's side: drives the line to `level`. */
  set(level: boolean): void {
    const rising = level && !this.asserted;
    this.asserted = level;
    if (this.trigger === 'edge') {
      if (!rising) return;
      if (this.handler !== null && this.depth === 0) this.deliver();
      else if (this.handler !== null) this.pending = true;
      return;
    }
    // A level line is seen when it rises while enabled, or on enable while still high.
    if (rising && this.handler !== null && this.depth === 0) this.deliver();
  }

  /** request_irq(): EBUSY if the line is taken (no IRQF_SHARED here); `noAutoEn` leaves it disabled. */
  request(handler: IrqHandler, opts: { noAutoEn?: boolean } = {}): void {
    if (this.handler !== null) throw new VfioError('EBUSY', `irq ${this.hwirq} is already requested`);
    this.handler = handler;
    this.depth = 1;
    this.pending = false;
    if (opts.noAutoEn !== true) this.enable();
  }

  /** free_irq(): the handler is gone and the line is left disabled. */
  free(): void {
    this.handler = null;
    this.depth = 1;
    this.pending = false;
  }

  /** disable_irq_nosync(): one more level of disable. */
  disable(): void {
    this.depth++;
  }

  /** enable_irq(): one level less; at 0 a pending edge or an asserted level is delivered. */
  enable(): void {
    if (this.depth === 0) return; // the kernel WARNs on an unbalanced enable and ignores it
    if (--this.depth !== 0 || this.handler === null) return;
    if (this.trigger === 'edge') {
      if (this.pending) {
        this.pending = false;
        this.deliver();
      }
    } else if (this.asserted) {
      this.deliver();
    }
  }

  private deliver(): void {
    const h = this.handler;
    if (h === null) return;
    this.count++;
    h(this);
  }
}
