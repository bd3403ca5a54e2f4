// INTx/MSI/MSI-X state a device drives, ending in one trigger sink (drivers/vfio/pci/vfio_pci_intrs.c automasking).

import { check } from '../uapi/errno.js';
import {
  PCI_COMMAND,
  PCI_MSIX_ENTRY_CTRL_MASKBIT,
  PCI_MSIX_ENTRY_DATA,
  PCI_MSIX_ENTRY_LOWER_ADDR,
  PCI_MSIX_ENTRY_SIZE,
  PCI_MSIX_ENTRY_UPPER_ADDR,
  PCI_MSIX_ENTRY_VECTOR_CTRL,
  PCI_MSIX_FLAGS,
  PCI_MSIX_FLAGS_ENABLE,
  PCI_MSIX_FLAGS_MASKALL,
  PCI_MSI_ADDRESS_HI,
  PCI_MSI_ADDRESS_LO,
  PCI_MSI_FLAGS,
  PCI_MSI_FLAGS_ENABLE,
  PCI_MSI_FLAGS_QSIZE,
  PCI_STATUS,
  PCI_STATUS_INTERRUPT,
} from '../uapi/pci-regs.js';
import type { MsiCapInfo, MsixCapInfo } from './capabilities.js';
import { intxDisabled, type PciConfigSpace } from './config-space.js';

/** VFIO's PCI IRQ indexes a device model can signal (VFIO_PCI_{INTX,MSI,MSIX}_IRQ_INDEX). */
export type PciIrqKind = 'intx' | 'msi' | 'msix';

/** Where interrupts go: VFIO's IRQ layer connects this to the user's eventfds. */
export interface IrqTriggerSink {
  /** Signal `vector` of IRQ index `index` (INTx is always vector 0). */
  trigger(index: PciIrqKind, vector: number): void;
}

export interface PciIrqOptions {
  msi?: MsiCapInfo;
  msix?: MsixCapInfo;
  sink?: IrqTriggerSink;
}

/** An MSI or MSI-X message as programmed by the guest. */
export interface MsiMessage {
  address: bigint;
  data: number;
}

/**
 * A device's interrupt plumbing. The device calls `setLevel`/`setIntxLevel` (level-triggered
 * sources, e.g. a UART's IRQ line) or `raise(vector)` (edge events); this class applies
 * INTX_DISABLE, INTx automasking, MSI per-vector masks and MSI-X masks/PBA, then calls the sink.
 */
export class PciIrq {
  private sink: IrqTriggerSink | undefined;
  private forced: PciIrqKind | undefined;
  private level = false;
  private masked = false;
  private readonly msi: MsiCapInfo | undefined;
  private readonly msix: MsixCapInfo | undefined;
  private readonly table: Uint8Array;
  private readonly tableView: DataView;
  private readonly pba: Uint8Array;
  private msiPendingSoft = 0;

  constructor(
    private readonly config: PciConfigSpace,
    opts: PciIrqOptions = {},
  ) {
    this.sink = opts.sink;
    this.msi = opts.msi;
    this.msix = opts.msix;
    const n = this.msix?.tableSize ?? 0;
    this.table = new Uint8Array(n * PCI_MSIX_ENTRY_SIZE);
    this.tableView = new DataView(this.table.buffer);
    this.pba = new Uint8Array(Math.ceil(n / 64) * 8);
    this.resetTable();

    config.watch(PCI_COMMAND, 2, () => this.intxUpdate());
    const msi = this.msi;
    if (msi !== undefined) {
      config.watch(msi.offset + PCI_MSI_FLAGS, 2, () => this.msiFlagsWritten(msi));
      if (msi.maskOffset !== undefined) config.watch(msi.maskOffset, 4, () => this.msiFlush());
    }
    const msix = this.msix;
    if (msix !== undefined) config.watch(msix.offset + PCI_MSIX_FLAGS, 2, () => this.msixFlush());
  }

  /** Connects (or with undefined, disconnects) the trigger sink. */
  setSink(sink: IrqTriggerSink | undefined): void {
    this.sink = sink;
  }

  /**
   * Pins delivery to one index, as mtty follows the index the user armed with SET_IRQS;
   * undefined derives it from config space (MSI-X enable, else MSI enable, else INTx).
   */
  setIrqIndex(index: PciIrqKind | undefined): void {
    this.forced = index;
  }

  /** The index interrupts are currently delivered through. */
  currentIndex(): PciIrqKind {
    if (this.forced !== undefined) return this.forced;
    if (this.msixEnabled()) return 'msix';
    if (this.msiEnabled()) return 'msi';
    return 'intx';
  }

  /**
   * The device's single interrupt line: INTx follows the level; under MSI/MSI-X a rising edge
   * sends vector 0. This is what a model with one `updateIrq()` calls.
   */
  setLevel(level: boolean): void {
    const rising = level && !this.level;
    if (this.currentIndex() === 'intx') {
      this.setIntxLevel(level);
      return;
    }
    // Under MSI/MSI-X the function does not assert INTx#, so STATUS.INTERRUPT stays as is.
    this.level = level;
    if (rising) this.raise(0);
  }

  // ---- INTx ----------------------------------------------------------------------------

  /** Drives INTx#: STATUS.INTERRUPT mirrors the level; a visible assertion triggers once. */
  setIntxLevel(level: boolean): void {
    this.level = level;
    this.mirrorStatus();
    this.intxUpdate();
  }

  intxLevel(): boolean {
    return this.level;
  }

  intxMasked(): boolean {
    return this.masked;
  }

  /** VFIO_IRQ_SET_ACTION_MASK on INTx. */
  maskIntx(): void {
    this.masked = true;
  }

  /** VFIO_IRQ_SET_ACTION_UNMASK on INTx: a line still asserted fires again (and re-masks). */
  unmaskIntx(): void {
    this.masked = false;
    this.intxUpdate();
  }

  // ---- MSI -----------------------------------------------------------------------------

  msiEnabled(): boolean {
    const msi = this.msi;
    return msi !== undefined && (this.config.getWord(msi.offset + PCI_MSI_FLAGS) & PCI_MSI_FLAGS_ENABLE) !== 0;
  }

  /** Vectors the guest enabled (2^QSIZE), 0 when MSI is off. */
  msiVectorCount(): number {
    const msi = this.msi;
    if (msi === undefined || !this.msiEnabled()) return 0;
    return 1 << ((this.config.getWord(msi.offset + PCI_MSI_FLAGS) & PCI_MSI_FLAGS_QSIZE) >> 4);
  }

  /** The message vector `vector` would send (MSI data's low bits carry the vector number). */
  msiMessage(vector: number): MsiMessage | undefined {
    const msi = this.msi;
    if (msi === undefined) return undefined;
    const c = this.config;
    const lo = c.getDword(msi.offset + PCI_MSI_ADDRESS_LO);
    const hi = msi.addr64 ? c.getDword(msi.offset + PCI_MSI_ADDRESS_HI) : 0;
    const count = Math.max(1, this.msiVectorCount());
    const data = (c.getWord(msi.dataOffset) & ~(count - 1)) | (vector & (count - 1));
    return { address: (BigInt(hi) << 32n) | BigInt(lo), data };
  }

  // ---- MSI-X ---------------------------------------------------------------------------

  msixEnabled(): boolean {
    const msix = this.msix;
    return msix !== undefined && (this.config.getWord(msix.offset + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_ENABLE) !== 0;
  }

  msixFunctionMasked(): boolean {
    const msix = this.msix;
    return msix !== undefined && (this.config.getWord(msix.offset + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_MASKALL) !== 0;
  }

  msixVectorMasked(vector: number): boolean {
    this.checkMsixVector(vector);
    const ctrl = this.tableView.getUint32(vector * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL, true);
    return (ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT) !== 0;
  }

  msixPending(vector: number): boolean {
    this.checkMsixVector(vector);
    return ((this.pba[vector >> 3] ?? 0) & (1 << (vector & 7))) !== 0;
  }

  msixMessage(vector: number): MsiMessage {
    this.checkMsixVector(vector);
    const e = vector * PCI_MSIX_ENTRY_SIZE;
    const v = this.tableView;
    const lo = v.getUint32(e + PCI_MSIX_ENTRY_LOWER_ADDR, true);
    const hi = v.getUint32(e + PCI_MSIX_ENTRY_UPPER_ADDR, true);
    return { address: (BigInt(hi) << 32n) | BigInt(lo), data: v.getUint32(e + PCI_MSIX_ENTRY_DATA, true) };
  }

  /** Bytes of the MSI-X table (offset relative to the table's start in its BAR). */
  get msixTableSize(): number {
    return this.table.length;
  }

  /** Bytes of the PBA (offset relative to the PBA's start in its BAR). */
  get msixPbaSize(): number {
    return this.pba.length;
  }

  /** A guest read of the MSI-X table. */
  readMsixTable(offset: number, out: Uint8Array): void {
    this.checkWindow(offset, out.length, this.table.length, 'MSI-X table');
    out.set(this.table.subarray(offset, offset + out.length));
  }

  /** A guest write to the MSI-X table; only the mask bit of vector control is writable. */
  writeMsixTable(offset: number, data: Uint8Array): void {
    this.checkWindow(offset, data.length, this.table.length, 'MSI-X table');
    for (let i = 0; i < data.length; i++) {
      const p = offset + i;
      const field = p % PCI_MSIX_ENTRY_SIZE;
      const v = data[i] ?? 0;
      if (field === PCI_MSIX_ENTRY_VECTOR_CTRL) this.table[p] = v & PCI_MSIX_ENTRY_CTRL_MASKBIT;
      else if (field < PCI_MSIX_ENTRY_VECTOR_CTRL) this.table[p] = v;
      // Upper vector-control bytes are reserved: read 0, writes ignored.
    }
    this.msixFlush();
  }

  /** A guest read of the Pending Bit Array (read-only: writes are ignored by the caller). */
  readMsixPba(offset: number, out: Uint8Array): void {
    this.checkWindow(offset, out.length, this.pba.length, 'MSI-X PBA');
    out.set(this.pba.subarray(offset, offset + out.length));
  }

  /**
   * A read of a BAR holding the MSI-X table at 0 and the PBA at `pbaOffset` (the layout the PCIe models here
   * use): the table's or the PBA's bytes, 0 for the rest.
   */
  readMsixBar(offset: number, out: Uint8Array, pbaOffset: number): void {
    if (offset + out.length <= this.table.length) this.readMsixTable(offset, out);
    else if (offset >= pbaOffset && offset - pbaOffset + out.length <= this.pba.length) this.readMsixPba(offset - pbaOffset, out);
    else out.fill(0);
  }

  /** A write to that BAR: the table takes it; the PBA is read-only and the rest is unbacked, so both drop it. */
  writeMsixBar(offset: number, data: Uint8Array): void {
    if (offset + data.length <= this.table.length) this.writeMsixTable(offset, data);
  }

  // ---- delivery ------------------------------------------------------------------------

  /**
   * An edge event on `vector`: MSI-X (masked -> PBA pending), MSI (masked -> pending bit),
   * or INTx as a pulse the way mtty does it (signal unless masked/disabled, then automask).
   */
  raise(vector = 0): void {
    switch (this.currentIndex()) {
      case 'msix':
        this.msixRaise(vector);
        return;
      case 'msi':
        this.msiRaise(vector);
        return;
      case 'intx':
        if (this.masked || intxDisabled(this.config)) return;
        this.masked = true;
        this.sink?.trigger('intx', 0);
        return;
    }
  }

  /** Back to power-on: line low, unmasked, MSI-X entries masked, nothing pending. */
  reset(): void {
    this.level = false;
    this.masked = false;
    this.msiPendingSoft = 0;
    this.mirrorStatus();
    this.resetTable();
  }

  // ---- internals -----------------------------------------------------------------------

  private mirrorStatus(): void {
    this.config.setBits(PCI_STATUS, 2, PCI_STATUS_INTERRUPT, this.level);
  }

  /** INTx fires when asserted, enabled and unmasked; automasking then masks it (vfio-pci). */
  private intxUpdate(): void {
    if (this.currentIndex() !== 'intx') return;
    if (!this.level || this.masked || intxDisabled(this.config)) return;
    this.masked = true;
    this.sink?.trigger('intx', 0);
  }

  private msiFlagsWritten(msi: MsiCapInfo): void {
    const c = this.config;
    const flags = c.getWord(msi.offset + PCI_MSI_FLAGS);
    const maxLog = Math.log2(msi.vectors);
    // Software asking for more than Multiple Message Capable gets the maximum (as QEMU clamps).
    if ((flags & PCI_MSI_FLAGS_QSIZE) >> 4 > maxLog) {
      c.setWord(msi.offset + PCI_MSI_FLAGS, (flags & ~PCI_MSI_FLAGS_QSIZE) | (maxLog << 4));
    }
    this.msiFlush();
  }

  private msiMasked(vector: number): boolean {
    const msi = this.msi;
    if (msi?.maskOffset === undefined) return false;
    return ((this.config.getDword(msi.maskOffset) >>> vector) & 1) !== 0;
  }

  private setMsiPending(vector: number, on: boolean): void {
    const msi = this.msi;
    if (msi?.pendingOffset === undefined) {
      this.msiPendingSoft = on ? this.msiPendingSoft | (1 << vector) : this.msiPendingSoft & ~(1 << vector);
      return;
    }
    this.config.setBits(msi.pendingOffset, 4, 2 ** vector, on);
  }

  private msiPendingBits(): number {
    const msi = this.msi;
    if (msi?.pendingOffset === undefined) return this.msiPendingSoft;
    return this.config.getDword(msi.pendingOffset);
  }

  private msiRaise(vector: number): void {
    if (!Number.isInteger(vector) || vector < 0 || vector >= this.msiVectorCount()) return;
    if (this.msiMasked(vector)) {
      this.setMsiPending(vector, true);
      return;
    }
    this.sink?.trigger('msi', vector);
  }

  /** Delivers pending MSI vectors that have become unmasked. */
  private msiFlush(): void {
    if (this.currentIndex() !== 'msi') return;
    const pending = this.msiPendingBits();
    if (pending === 0) return;
    const count = this.msiVectorCount();
    for (let v = 0; v < count; v++) {
      if (((pending >>> v) & 1) === 0 || this.msiMasked(v)) continue;
      this.setMsiPending(v, false);
      this.sink?.trigger('msi', v);
    }
  }

  private msixRaise(vector: number): void {
    const size = this.msix?.tableSize ?? 0;
    if (!Number.isInteger(vector) || vector < 0 || vector >= size || !this.msixEnabled()) return;
    if (this.msixFunctionMasked() || this.msixVectorMasked(vector)) {
      this.pba[vector >> 3] = (this.pba[vector >> 3] ?? 0) | (1 << (vector & 7));
      return;
    }
    this.sink?.trigger('msix', vector);
  }

  /** Delivers pending MSI-X vectors once neither the function nor the vector is masked. */
  private msixFlush(): void {
    if (!this.msixEnabled() || this.msixFunctionMasked() || this.currentIndex() !== 'msix') return;
    const size = this.msix?.tableSize ?? 0;
    for (let v = 0; v < size; v++) {
      if (!this.msixPending(v) || this.msixVectorMasked(v)) continue;
      this.pba[v >> 3] = (this.pba[v >> 3] ?? 0) & ~(1 << (v & 7));
      this.sink?.trigger('msix', v);
    }
  }

  private resetTable(): void {
    this.table.fill(0);
    this.pba.fill(0);
    const n = this.msix?.tableSize ?? 0;
    for (let v = 0; v < n; v++) {
      this.tableView.setUint32(v * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL, PCI_MSIX_ENTRY_CTRL_MASKBIT, true);
    }
  }

  private checkMsixVector(vector: number): void {
    const size = this.msix?.tableSize ?? 0;
    check(Number.isInteger(vector) && vector >= 0 && vector < size, 'EINVAL', `MSI-X vector ${vector} of ${size}`);
  }

  private checkWindow(offset: number, length: number, size: number, what: string): void {
    check(
      Number.isInteger(offset) && offset >= 0 && length >= 0 && offset + length <= size,
      'EINVAL',
      `${what} access [0x${offset.toString(16)}, +${length}) outside ${size} bytes`,
    );
  }
}
