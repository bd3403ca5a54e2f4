// struct pci_dev, struct pci_bus and struct pci_slot (include/linux/pci.h): the kernel's view of the
// functions enumeration found, and the accessors drivers use on them (drivers/pci/access.c).
import { Device } from '../../base/device.js';
import type { PciAccessSize } from '../../pci/config-space.js';
import { PCI_CAPABILITY_LIST, PCI_CFG_SPACE_EXP_SIZE, PCI_CFG_SPACE_SIZE, PCI_STATUS, PCI_STATUS_CAP_LIST } from '../../uapi/pci-regs.js';
import type { PciFunction, PciDmaPort } from './pci-function.js';
import type { PciInterruptSink } from './function-irq.js';
import type { PciHwRoot } from './hw-bus.js';

/** PCI_SLOT / PCI_FUNC / PCI_DEVFN (include/uapi/linux/pci.h). */
export const pciSlot = (devfn: number): number => (devfn >> 3) & 0x1f;
export const pciFunc = (devfn: number): number => devfn & 0x07;
export const pciDevfn = (slot: number, fn: number): number => ((slot & 0x1f) << 3) | (fn & 0x07);

const hex = (v: number, w: number): string => v.toString(16).padStart(w, '0');

/** struct pci_bus: a bus number in a domain, the bridge above it (`self`), its devices and child buses. */
export class PciBus {
  readonly devices: PciDev[] = [];
  readonly children: PciBus[] = [];
  /** Slots on this bus (struct pci_slot), by device number. */
  readonly slots = new Map<number, PciSlot>();

  constructor(
    readonly root: PciHwRoot,
    readonly number: number,
    readonly parent: PciBus | null,
    /** The bridge leading to this bus; null for a root bus. */
    readonly self: PciDev | null,
    /** The device sysfs nodes of this bus's devices hang under: the host bridge or the bridge `self`. */
    readonly bridge: Device,
  ) {}

  get domain(): number {
    return this.root.domain;
  }

  /** `0000:01`, as /sys/class/pci_bus names buses. */
  get name(): string {
    return `${hex(this.domain, 4)}:${hex(this.number, 2)}`;
  }

  /** pci_is_root_bus(). */
  get isRoot(): boolean {
    return this.parent === null;
  }

  /** pci_bus_read_config_*: a config cycle from the host bridge; all ones when nothing answers. */
  readConfig(devfn: number, offset: number, size: PciAccessSize): number {
    const f = this.root.configTarget(this.number, devfn);
    // Nothing answering, or past the function's config space: all ones.
    if (f === undefined || offset + size > f.config.size) return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
    return f.config.read(offset, size);
  }

  /** pci_bus_write_config_*: dropped when nothing answers. */
  writeConfig(devfn: number, offset: number, size: PciAccessSize, value: number): void {
    const f = this.root.configTarget(this.number, devfn);
    if (f === undefined || offset + size > f.config.size) return;
    f.config.write(offset, size, value);
  }
}

/** struct pci_slot: a physical slot (`/sys/bus/pci/slots/N`); `hotplug` when a hot-plug controller drives it. */
export class PciSlot {
  constructor(
    readonly bus: PciBus,
    readonly number: number,
    /** The device number on `bus` (0 below a PCIe port). */
    readonly device: number,
    readonly hotplug: boolean,
  ) {}

  /** `0000:02:00`, the slot's `address` file. */
  get address(): string {
    return `${this.bus.name}:${hex(this.device, 2)}`;
  }
}

/** What the rest of the subsystem needs of a PF's SR-IOV state (struct pci_sriov; iov.ts implements it). */
export interface PciSriovState {
  readonly totalVfs: number;
  /** VFs currently enabled (and on the bus). */
  readonly numVfs: number;
  /** The VFs, by VF id. */
  readonly vfs: readonly PciDev[];
  /** sriov_disable(): removes every VF (each unbinds, waiting for its driver), then clears VF Enable. */
  disable(): Promise<void>;
}

/** struct pci_dev: one function, embedded in a base Device on the `pci` bus. */
export class PciDev extends Device {
  vendor = 0;
  device = 0;
  subsystemVendor = 0;
  subsystemDevice = 0;
  /** 24 bits: base class, sub class, prog-if. */
  classCode = 0;
  revision = 0;
  hdrType = 0;
  multifunction = false;
  /** Offset of the PCI Express capability, 0 if none. */
  pcieCap = 0;
  pcieFlags = 0;
  /** DEVCAP as read at setup. */
  devcap = 0;
  pmCap = 0;
  afCap = 0;
  acsCap = 0;
  /** 256 or 4096. */
  cfgSize = 256;
  /** The bus below a bridge. */
  subordinate: PciBus | null = null;
  slot: PciSlot | null = null;
  isVirtfn = false;
  physfn: PciDev | null = null;
  /** A PF's SR-IOV state; null for functions without the capability. */
  sriov: PciSriovState | null = null;
  /** Names of enabled reset methods in priority order (pci_dev->reset_methods). */
  resetMethods: string[] = [];
  /** PCI_DEV_FLAGS_NO_BUS_RESET and friends, as quirks would set them. */
  noBusReset = false;
  /** A legacy IRQ number when the pin is wired (the `irq` file). */
  irq = 0;
  /**
   * pci_restore_msi_state(): set by the driver while it has MSI-X vectors allocated (the kernel keeps them as msi
   * descs); pci_restore_state calls it to rewrite the table a reset cleared.
   */
  restoreMsiState: (() => void) | null = null;
  /** Resources found by enumeration: [start, size, flags] per BAR 0-5 and the ROM (index 6). */
  readonly resource: { start: bigint; size: bigint; flags: number }[] = [];

  constructor(
    readonly pciBus: PciBus,
    readonly devfn: number,
    /** The hardware function answering at this address. */
    readonly hw: PciFunction,
  ) {
    super();
  }

  /** pci_name(): `0000:00:03.0`. */
  get bdf(): string {
    return `${this.pciBus.name}:${hex(pciSlot(this.devfn), 2)}.${pciFunc(this.devfn)}`;
  }

  get isPcie(): boolean {
    return this.pcieCap !== 0;
  }

  /** pci_pcie_type(). */
  get pcieType(): number {
    return (this.pcieFlags >> 4) & 0xf;
  }
}

/** pci_read_config_{byte,word,dword}(). */
export function pciReadConfig(pdev: PciDev, offset: number, size: PciAccessSize): number {
  return pdev.pciBus.readConfig(pdev.devfn, offset, size);
}

/** pci_write_config_{byte,word,dword}(). */
export function pciWriteConfig(pdev: PciDev, offset: number, size: PciAccessSize, value: number): void {
  pdev.pciBus.writeConfig(pdev.devfn, offset, size, value);
}

/** A read cycle on BAR `bar` of the function (what ioread through a pci_iomap'd BAR does). */
export function pciBarRead(pdev: PciDev, bar: number, offset: number, out: Uint8Array): void {
  pdev.hw.barRead(bar, offset, out);
}

/** A write cycle on BAR `bar`. */
export function pciBarWrite(pdev: PciDev, bar: number, offset: number, data: Uint8Array): void {
  pdev.hw.barWrite(bar, offset, data);
}

/** Where the function's interrupts go (request_irq / pci_alloc_irq_vectors, in one call). */
export function pciSetInterruptSink(pdev: PciDev, sink: PciInterruptSink | null): void {
  pdev.hw.irq.setSink(sink);
}

/** Where the function's DMA goes (the IOMMU domain the driver attached). */
export function pciSetDmaPort(pdev: PciDev, port: PciDmaPort | null): void {
  pdev.hw.dma = port;
}

/** pci_find_capability(): walks the list through config reads (at most 48 hops, as the kernel). */
export function pciFindCapability(pdev: PciDev, id: number): number {
  if ((pciReadConfig(pdev, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST) === 0) return 0;
  let pos = pciReadConfig(pdev, PCI_CAPABILITY_LIST, 1) & ~3;
  for (let ttl = 48; ttl > 0 && pos >= 0x40; ttl--) {
    if (pciReadConfig(pdev, pos, 1) === id) return pos;
    pos = pciReadConfig(pdev, pos + 1, 1) & ~3;
  }
  return 0;
}

/** pci_find_ext_capability(): 0 when absent or the device has no extended config space. */
export function pciFindExtCapability(pdev: PciDev, id: number): number {
  if (pdev.cfgSize <= PCI_CFG_SPACE_SIZE) return 0;
  let pos = PCI_CFG_SPACE_SIZE;
  for (let ttl = (PCI_CFG_SPACE_EXP_SIZE - PCI_CFG_SPACE_SIZE) / 8; ttl > 0 && pos >= PCI_CFG_SPACE_SIZE; ttl--) {
    const header = pciReadConfig(pdev, pos, 4);
    if (header === 0 || header === 0xffffffff) return 0;
    if ((header & 0xffff) === id) return pos;
    pos = (header >>> 20) & 0xffc;
  }
  return 0;
}
