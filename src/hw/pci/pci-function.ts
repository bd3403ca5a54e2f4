// The hardware side of one PCI function: config space, BARs, interrupt pin and messages, DMA, and how it
// resets (PCI Local Bus 3.0, PCIe Base 6.6). Hardware models extend it; drivers reach it through PciDev.
import { PciConfigSpace } from '../../pci/config-space.js';
import type { PciIds } from '../../pci/config-space.js';
import type { PciBars } from '../../pci/bar.js';
import { check } from '../../uapi/errno.js';
import {
  PCI_COMMAND,
  PCI_COMMAND_IO,
  PCI_COMMAND_MASTER,
  PCI_COMMAND_MEMORY,
  PCI_EXP_DEVCAP,
  PCI_EXP_DEVCAP_FLR,
  PCI_EXP_DEVCTL,
  PCI_EXP_DEVCTL_BCR_FLR,
  PCI_HEADER_TYPE,
  PCI_HEADER_TYPE_MFD,
  PCI_PM_CTRL,
  PCI_PM_CTRL_NO_SOFT_RESET,
  PCI_PM_CTRL_STATE_MASK,
} from '../../uapi/pci-regs.js';
import { PCI_AF_CTRL, PCI_AF_CTRL_FLR } from '../../uapi/pci-regs-ext.js';
import { FunctionIrq } from './function-irq.js';

/** Memory a function reaches by DMA: the driver (through the IOMMU) provides it. Faults throw a VfioError. */
export interface PciDmaPort {
  read(addr: bigint, buf: Uint8Array): void;
  write(addr: bigint, buf: Uint8Array): void;
}

/** Why a function is being reset; every kind returns it to its power-on state. */
export type PciHwResetKind = 'power-on' | 'flr' | 'af-flr' | 'pm' | 'bus';

/** D3hot in PCI_PM_CTRL's PowerState field. */
const PCI_D3HOT = 3;

/**
 * A PCI function as the bus sees it. A subclass builds its config space and BARs in its constructor, then
 * calls `powerOn()` to record the image a reset returns to. BAR accesses reach `mmioRead`/`mmioWrite` only
 * while the BAR's space is enabled in PCI_COMMAND and the function is in D0, as on real hardware (master
 * abort: reads all ones, writes dropped).
 */
export abstract class PciFunction {
  readonly config: PciConfigSpace;
  abstract readonly model: string;
  bars: PciBars | null = null;
  /** Set by the driver (through the IOMMU); null: bus mastering has nowhere to go. */
  dma: PciDmaPort | null = null;
  /** Resets this function has gone through, by kind (what tests and `lspci -vv` style views read). */
  readonly resets: PciHwResetKind[] = [];
  private powerOnImage: Uint8Array | null = null;
  private pmCap: number | undefined;
  private pmState = 0;
  private irqLogic: FunctionIrq | null = null;

  constructor(configSize: number) {
    this.config = new PciConfigSpace(configSize);
  }

  /** The interrupt logic (pin only, unless the model set up MSI/MSI-X with `setupIrq`). */
  get irq(): FunctionIrq {
    return (this.irqLogic ??= new FunctionIrq(this.config));
  }

  /** Builds the interrupt logic over the model's MSI/MSI-X capabilities; once, before anything signals. */
  protected setupIrq(caps: ConstructorParameters<typeof FunctionIrq>[1]): FunctionIrq {
    check(this.irqLogic === null, 'EEXIST', `${this.model}: interrupt logic already set up`);
    this.irqLogic = new FunctionIrq(this.config, caps);
    return this.irqLogic;
  }

  /** Fills the header's identity. */
  protected setIds(ids: PciIds): void {
    this.config.setIds(ids);
  }

  /** Records the power-on config image; models call it last in their constructor. */
  protected powerOn(): void {
    this.powerOnImage = this.config.bytes.slice();
  }

  /** Makes this function part of a multifunction device: the header type's MFD bit, at power-on too. */
  setMultifunction(): void {
    this.config.setBits(PCI_HEADER_TYPE, 1, PCI_HEADER_TYPE_MFD, true);
    const image = this.powerOnImage;
    if (image !== null) image[PCI_HEADER_TYPE] = (image[PCI_HEADER_TYPE] ?? 0) | PCI_HEADER_TYPE_MFD;
  }

  /** Makes DEVCTL's Initiate FLR bit start a Function Level Reset when DEVCAP advertises FLR. */
  protected wireFlr(expCap: number): void {
    if ((this.config.getDword(expCap + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_FLR) === 0) return;
    const c = this.config;
    c.setWritable(expCap + PCI_EXP_DEVCTL, 2, 0xffff);
    c.watch(expCap + PCI_EXP_DEVCTL, 2, () => {
      if ((c.getWord(expCap + PCI_EXP_DEVCTL) & PCI_EXP_DEVCTL_BCR_FLR) !== 0) this.hardwareReset('flr');
    });
  }

  /** Makes the Advanced Features capability's FLR bit reset the function. */
  protected wireAfFlr(afCap: number): void {
    const c = this.config;
    c.watch(afCap + PCI_AF_CTRL, 1, () => {
      if ((c.getByte(afCap + PCI_AF_CTRL) & PCI_AF_CTRL_FLR) !== 0) this.hardwareReset('af-flr');
    });
  }

  /** Tracks PowerState; D3hot -> D0 resets the function unless NoSoftRst is set. */
  protected wirePm(pmCap: number): void {
    this.pmCap = pmCap;
    const c = this.config;
    c.watch(pmCap + PCI_PM_CTRL, 2, () => {
      const ctrl = c.getWord(pmCap + PCI_PM_CTRL);
      const next = ctrl & PCI_PM_CTRL_STATE_MASK;
      const prev = this.pmState;
      this.pmState = next;
      if (prev === PCI_D3HOT && next === 0 && (ctrl & PCI_PM_CTRL_NO_SOFT_RESET) === 0) this.hardwareReset('pm');
    });
  }

  /** The power state (0 = D0 .. 3 = D3hot). */
  get powerState(): number {
    return this.pmCap === undefined ? 0 : this.config.getWord(this.pmCap + PCI_PM_CTRL) & PCI_PM_CTRL_STATE_MASK;
  }

  /** Whether the function may master the bus (PCI_COMMAND_MASTER). */
  get busMaster(): boolean {
    return (this.config.getWord(PCI_COMMAND) & PCI_COMMAND_MASTER) !== 0;
  }

  /** A read of `out.length` bytes at `offset` of BAR `bar` (a memory or I/O cycle that hit the BAR; 6 is the ROM). */
  barRead(bar: number, offset: number, out: Uint8Array): void {
    if (!this.decodes(bar, offset, out.length)) {
      out.fill(0xff);
      return;
    }
    this.mmioRead(bar, offset, out);
  }

  /** A write of `data` at `offset` of BAR `bar`. */
  barWrite(bar: number, offset: number, data: Uint8Array): void {
    if (!this.decodes(bar, offset, data.length)) return;
    this.mmioWrite(bar, offset, data);
  }

  /**
   * The reset a reset mechanism causes: config space back to the power-on image, BARs to 0, interrupts
   * low with nothing pending, then the model's own registers (`resetState`).
   */
  hardwareReset(kind: PciHwResetKind): void {
    const image = this.powerOnImage;
    check(image !== null, 'EINVAL', `${this.model}: powerOn() was never called`);
    this.config.bytes.set(image);
    this.bars?.reset();
    this.pmState = 0;
    this.irq.reset();
    this.resetState(kind);
    this.resets.push(kind);
  }

  /** The ROM answers a memory cycle only with its BAR's enable bit and COMMAND.MEMORY set, in D0 (PCI 6.2.5.2). */
  private romDecodes(offset: number, length: number): boolean {
    const rom = this.bars?.rom();
    if (rom === undefined || !rom.enabled || offset < 0 || length <= 0 || offset + length > rom.size) return false;
    return this.powerState === 0 && (this.config.getWord(PCI_COMMAND) & PCI_COMMAND_MEMORY) !== 0;
  }

  /** The model's registers back to power-on (and anything in flight dropped). */
  protected abstract resetState(kind: PciHwResetKind): void;
  protected abstract mmioRead(bar: number, offset: number, out: Uint8Array): void;
  protected abstract mmioWrite(bar: number, offset: number, data: Uint8Array): void;

  /** Functions this one exposes beyond itself (an SR-IOV PF's enabled VFs), by routing-ID offset. */
  virtualFunctions(): ReadonlyMap<number, PciFunction> {
    return EMPTY;
  }

  private decodes(bar: number, offset: number, length: number): boolean {
    if (bar === PCI_ROM_BAR) return this.romDecodes(offset, length);
    const b = this.bars?.bar(bar);
    if (b === undefined || offset < 0 || length <= 0 || offset + length > b.size) return false;
    if (this.powerState !== 0) return false;
    const cmd = this.config.getWord(PCI_COMMAND);
    return (cmd & (b.kind === 'io' ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)) !== 0;
  }
}

const EMPTY: ReadonlyMap<number, PciFunction> = new Map();

/** The expansion ROM's index among a function's BARs (PCI_ROM_RESOURCE). */
export const PCI_ROM_BAR = 6;
