// How a PCI function signals: its INTx pin as a level, MSI and MSI-X as message writes (PCI Local Bus 6.8;
// the table, PBA and masking come from src/pci/irq.ts). The sink is what the bound driver installs.
import { PciIrq } from '../../pci/irq.js';
import type { MsiMessage } from '../../pci/irq.js';
import type { MsiCapInfo, MsixCapInfo } from '../../pci/capabilities.js';
import type { PciConfigSpace } from '../../pci/config-space.js';
import { intxDisabled } from '../../pci/config-space.js';
import { PCI_COMMAND, PCI_INTERRUPT_PIN, PCI_STATUS, PCI_STATUS_INTERRUPT } from '../../uapi/pci-regs.js';

/** Where a function's interrupts arrive: the bound driver's interrupt handling (or the IOMMU's remapping). */
export interface PciInterruptSink {
  /** The function's INTx pin changed level (already gated by PCI_COMMAND_INTX_DISABLE). */
  intx(asserted: boolean): void;
  /** The function wrote an MSI or MSI-X message; `vector` is the index it used. */
  msi(kind: 'msi' | 'msix', vector: number, message: MsiMessage): void;
}

/**
 * One function's interrupt logic. A model drives it with `setLine(level)` (its single level-triggered
 * cause, from `updateIrq()`) and `raise(vector)` (edge events). When MSI-X or MSI is enabled the line is
 * not asserted on the pin: a rising edge sends vector 0 instead.
 */
export class FunctionIrq {
  private sink: PciInterruptSink | null = null;
  private level = false;
  /** What the pin shows the sink, after INTX_DISABLE. */
  private pin = false;
  private readonly msiIrq: PciIrq;

  constructor(
    private readonly config: PciConfigSpace,
    caps: { msi?: MsiCapInfo; msix?: MsixCapInfo } = {},
  ) {
    this.msiIrq = new PciIrq(config, {
      ...caps,
      sink: {
        trigger: (kind, vector) => {
          if (kind === 'intx') return;
          const msg = kind === 'msix' ? this.msiIrq.msixMessage(vector) : this.msiIrq.msiMessage(vector);
          if (msg !== undefined) this.sink?.msi(kind, vector, msg);
        },
      },
    });
    // INTX_DISABLE and the MSI enables change what the pin shows.
    config.watch(PCI_COMMAND, 2, () => this.updatePin());
    if (caps.msi !== undefined) config.watch(caps.msi.offset, 4, () => this.updatePin());
    if (caps.msix !== undefined) config.watch(caps.msix.offset, 4, () => this.updatePin());
  }

  /** Installs (or with null removes) the sink; a pin already asserted is reported to the new sink. */
  setSink(sink: PciInterruptSink | null): void {
    this.sink = sink;
    if (sink !== null && this.pin) sink.intx(true);
  }

  /** The MSI/MSI-X state (table, PBA, masks) for the function's BAR handlers. */
  get msi(): PciIrq {
    return this.msiIrq;
  }

  /** The model's level-triggered interrupt cause. */
  setLine(level: boolean): void {
    const rising = level && !this.level;
    this.level = level;
    if (this.messageMode()) {
      if (rising) this.msiIrq.raise(0);
    }
    this.updatePin();
  }

  /** An edge event on `vector`: an MSI/MSI-X message, or under INTx nothing beyond the line the model sets. */
  raise(vector: number): void {
    if (this.messageMode()) this.msiIrq.raise(vector);
  }

  /** Whether interrupts are messages (MSI-X or MSI enabled) rather than the pin. */
  messageMode(): boolean {
    return this.msiIrq.msixEnabled() || this.msiIrq.msiEnabled();
  }

  /** The pin as the sink sees it. */
  get intxAsserted(): boolean {
    return this.pin;
  }

  /** Power-on: line low, MSI-X entries masked, nothing pending. */
  reset(): void {
    this.level = false;
    this.msiIrq.reset();
    this.updatePin();
  }

  private updatePin(): void {
    const hasPin = this.config.getByte(PCI_INTERRUPT_PIN) !== 0;
    // STATUS.INTERRUPT shows the function's INTx request whatever INTX_DISABLE says.
    const request = hasPin && this.level && !this.messageMode();
    this.config.setBits(PCI_STATUS, 2, PCI_STATUS_INTERRUPT, request);
    const pin = request && !intxDisabled(this.config);
    if (pin === this.pin) return;
    this.pin = pin;
    this.sink?.intx(pin);
  }
}
