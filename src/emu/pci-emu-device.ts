// VfioPciEmuDevice: the state every emulated PCI VFIO device shares (config space, BARs, regions, IRQ plumbing),
// the part of struct vfio_pci_core_device an mdev-style driver needs (drivers/vfio/pci/vfio_pci_core.c, samples/vfio-mdev).
import { hostOf } from '../base/device.js';
import type { Logger } from '../base/log.js';
import { PciBars } from '../pci/bar.js';
import type { PciBarDef, PciRomDef } from '../pci/bar.js';
import { PciCapabilityBuilder } from '../pci/capabilities.js';
import type { MsiCapInfo, MsixCapInfo } from '../pci/capabilities.js';
import { PciConfigSpace } from '../pci/config-space.js';
import type { PciIds } from '../pci/config-space.js';
import { PciIrq } from '../pci/irq.js';
import { VfioError, check } from '../uapi/errno.js';
import { PCI_CFG_SPACE_SIZE, PCI_INTERRUPT_INTA, PCI_INTERRUPT_PIN } from '../uapi/pci-regs.js';
import {
  VFIO_PCI_CONFIG_REGION_INDEX,
  VFIO_PCI_NUM_REGIONS,
  VFIO_REGION_INFO_FLAG_READ,
  VFIO_REGION_INFO_FLAG_WRITE,
} from '../uapi/region-info.js';
import { VfioDevice } from '../vfio/vfio-device.js';
import { PciEmuIrqTriggers, signalEventfd } from './irq-triggers.js';
import type { PciEmuRegion } from './regions.js';
import type { SnapshotMigration } from './migration-arcs.js';

/** What a driver's init describes; pciEmuInit turns it into config space, BARs and IRQ state. */
export interface PciEmuSetup {
  readonly ids: PciIds;
  /** INTERRUPT_PIN: 1 (INTA#, the default) .. 4; 0 means no INTx (the INTx index then has count 0). */
  readonly interruptPin?: number;
  /** 256 (conventional, default) or 4096 (PCI Express). */
  readonly configSize?: number;
  readonly bars?: readonly PciBarDef[];
  readonly rom?: PciRomDef;
  /** Adds capabilities from 0x40 (or `capStart`); returns where MSI / MSI-X landed, if added. */
  readonly capabilities?: (b: PciCapabilityBuilder, config: PciConfigSpace) => { msi?: MsiCapInfo; msix?: MsixCapInfo } | undefined;
  readonly capStart?: number;
  /** Raw device-side bytes beyond the above (vendor data, say), written before the power-on snapshot. */
  readonly configure?: (config: PciConfigSpace) => void;
  /**
   * MSI vectors offered without an MSI capability in config space (mtty does this): SET_IRQS arms them
   * and raiseMsi signals them directly, with no masking.
   */
  readonly virtualMsiVectors?: number;
  /** Offer the ERR index (vfio-pci does for PCI Express functions). Default false. */
  readonly err?: boolean;
  /** Offer the REQ index (vfio-pci always does). Default true. */
  readonly req?: boolean;
  /** VFIO_DEVICE_RESET: the device's own reset, after config space and IRQ state went back to power-on. */
  readonly onReset?: () => void;
}

/**
 * The common state of an emulated PCI device. Drivers extend it (`class MttyState extends VfioPciEmuDevice`)
 * and call pciEmuInit from ops.init; pciEmuOps then serves the device file.
 */
export class VfioPciEmuDevice extends VfioDevice {
  config = new PciConfigSpace();
  bars: PciBars | null = null;
  pciIrq: PciIrq | null = null;
  msiCap: MsiCapInfo | null = null;
  msixCap: MsixCapInfo | null = null;
  virtualMsiVectors = 0;
  errSupported = false;
  reqSupported = true;
  /** Region table by VFIO index: BAR0-5, ROM, CONFIG, VGA, then device-specific regions. */
  readonly regions: (PciEmuRegion | undefined)[] = [];
  readonly triggers = new PciEmuIrqTriggers(() => this.pciIrq?.unmaskIntx());
  onReset: (() => void) | null = null;
  /** Snapshot migration, when the driver set it up with pciEmuMigrationInit. */
  migration: SnapshotMigration | null = null;
  /** Config space bytes at power-on, restored by VFIO_DEVICE_RESET. */
  configDefaults: Uint8Array | null = null;
  /** The device's interrupt line as last driven by setIrqLevel (for cap-less MSI edges). */
  private lineLevel = false;

  /** The host's logger (drivers log through it, never the console). */
  get log(): Logger {
    return hostOf(this).logger;
  }

  /** Number of regions GET_INFO reports: the 9 fixed PCI ones plus device-specific ones. */
  get numRegions(): number {
    return Math.max(VFIO_PCI_NUM_REGIONS, this.regions.length);
  }

  /** vfio_pci_get_irq_count(). */
  irqCount(index: number): number {
    switch (index) {
      case 0:
        return this.config.getByte(PCI_INTERRUPT_PIN) !== 0 ? 1 : 0;
      case 1:
        return this.msiCap?.vectors ?? this.virtualMsiVectors;
      case 2:
        return this.msixCap?.tableSize ?? 0;
      case 3:
        return this.errSupported ? 1 : 0;
      case 4:
        return this.reqSupported ? 1 : 0;
      default:
        return 0;
    }
  }

  // ---- raising interrupts (the device side) -------------------------------------------

  /**
   * The device's one interrupt line, recomputed by its updateIrq(): INTx follows the level (automasked on
   * assertion); under MSI/MSI-X a rising edge sends vector 0.
   */
  setIrqLevel(level: boolean): void {
    const rising = level && !this.lineLevel;
    this.lineLevel = level;
    if (this.triggers.type === 'msi' && this.msiCap === null) {
      if (rising) signalEventfd(this.triggers.vectors[0] ?? -1);
      return;
    }
    this.irqOf().setLevel(level);
  }

  /** Drives INTx# directly (STATUS.INTERRUPT mirrors it; INTX_DISABLE and the mask apply). */
  setIntxLevel(level: boolean): void {
    this.lineLevel = level;
    this.irqOf().setIntxLevel(level);
  }

  /** An INTx pulse, as mtty_trigger_interrupt: signal unless masked or disabled, then automask. */
  raiseIntx(): void {
    if (this.triggers.type !== 'intx') return;
    this.irqOf().raise(0);
  }

  /** Sends MSI or MSI-X vector `vector` (whichever is enabled), honouring the capability's masks. */
  raiseMsi(vector: number): void {
    const type = this.triggers.type;
    if (type === 'msi' && this.msiCap === null) {
      signalEventfd(this.triggers.vectors[vector] ?? -1);
      return;
    }
    if (type === 'msi' || type === 'msix') this.irqOf().raise(vector);
  }

  /** src/pci's interrupt state; it exists once pciEmuInit ran. */
  irqOf(): PciIrq {
    const irq = this.pciIrq;
    if (irq === null) throw new Error('pci-emu device used before pciEmuInit');
    return irq;
  }
}

/**
 * Builds the device's config space (ids, interrupt pin, capabilities, BARs with sizing), its IRQ state
 * wired to the user's eventfds, and the CONFIG region. Call from ops.init, before setting other regions.
 */
export function pciEmuInit(dev: VfioPciEmuDevice, setup: PciEmuSetup): void {
  const size = setup.configSize ?? PCI_CFG_SPACE_SIZE;
  const config = size === dev.config.size ? dev.config : new PciConfigSpace(size);
  dev.config = config;
  config.setIds(setup.ids);
  config.setInterruptPin(setup.interruptPin ?? PCI_INTERRUPT_INTA);
  const caps = setup.capabilities?.(new PciCapabilityBuilder(config, setup.capStart), config);
  dev.msiCap = caps?.msi ?? null;
  dev.msixCap = caps?.msix ?? null;
  check(dev.msiCap === null || setup.virtualMsiVectors === undefined, 'EINVAL', 'virtualMsiVectors with an MSI capability');
  dev.virtualMsiVectors = setup.virtualMsiVectors ?? 0;
  dev.bars = new PciBars(config, setup.bars ?? [], setup.rom);
  const irq = new PciIrq(config, {
    ...(dev.msiCap !== null ? { msi: dev.msiCap } : {}),
    ...(dev.msixCap !== null ? { msix: dev.msixCap } : {}),
    sink: dev.triggers,
  });
  // Nothing is enabled yet: INTx state is tracked, and delivery waits for SET_IRQS.
  irq.setIrqIndex('intx');
  dev.pciIrq = irq;
  dev.errSupported = setup.err ?? false;
  dev.reqSupported = setup.req ?? true;
  dev.onReset = setup.onReset ?? null;
  setup.configure?.(config);
  dev.configDefaults = config.bytes.slice();
  pciEmuSetRegion(dev, VFIO_PCI_CONFIG_REGION_INDEX, {
    size: config.size,
    flags: VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
    read: (offset, buf) => config.readInto(offset, buf),
    write: (offset, buf) => config.writeFrom(offset, buf),
  });
}

/** Installs (or replaces) region `index`; device-specific regions use indexes from VFIO_PCI_NUM_REGIONS on. */
export function pciEmuSetRegion(dev: VfioPciEmuDevice, index: number, region: PciEmuRegion): void {
  if (!Number.isInteger(index) || index < 0 || index > 0xffff) throw new VfioError('EINVAL', `region index ${index}`);
  check(Number.isSafeInteger(region.size) && region.size >= 0, 'EINVAL', `region ${index} size ${region.size}`);
  while (dev.regions.length < index) dev.regions.push(undefined);
  dev.regions[index] = region;
}
