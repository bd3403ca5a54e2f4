// PCI bridges as hardware: PCIe root ports, switch upstream/downstream ports, conventional PCI-to-PCI and
// PCIe-to-PCI bridges (type 1 header; QEMU hw/pci-bridge/*). Secondary Bus Reset resets everything below.
import { PciCapabilityBuilder } from '../../pci/capabilities.js';
import { PciExtCapabilityBuilder } from '../../pci/ext-capabilities.js';
import { check } from '../../uapi/errno.js';
import { PCI_CFG_SPACE_EXP_SIZE, PCI_CFG_SPACE_SIZE, PCI_EXP_FLAGS, PCI_HEADER_TYPE_BRIDGE } from '../../uapi/pci-regs.js';
import {
  PCI_ACS_CR,
  PCI_ACS_RR,
  PCI_ACS_SV,
  PCI_ACS_TB,
  PCI_ACS_UF,
  PCI_BRIDGE_CONTROL,
  PCI_BRIDGE_CTL_BUS_RESET,
  PCI_CLASS_BRIDGE_PCI,
  PCI_EXP_FLAGS_SLOT,
  PCI_EXP_SLTCAP,
  PCI_EXP_SLTCAP_HPC,
  PCI_EXP_TYPE_DOWNSTREAM,
  PCI_EXP_TYPE_PCI_BRIDGE,
  PCI_EXP_TYPE_ROOT_PORT,
  PCI_EXP_TYPE_UPSTREAM,
  PCI_IO_BASE,
  PCI_MEMORY_BASE,
  PCI_PREF_MEMORY_BASE,
  PCI_PRIMARY_BUS,
  PCI_SECONDARY_BUS,
  PCI_SUBORDINATE_BUS,
} from '../../uapi/pci-regs-ext.js';
import { PciFunction } from './pci-function.js';
import type { PciHwResetKind } from './pci-function.js';
import { PciHwBus } from './hw-bus.js';
import type { PciHwBridge } from './hw-bus.js';

/** What kind of bridge: the four PCIe port types the kernel tells apart, or a conventional PCI bridge. */
export type PciBridgeKind = 'root-port' | 'upstream' | 'downstream' | 'pcie-to-pci' | 'pci-bridge';

export interface PciBridgeOptions {
  /** ACS with Source Validation, Translation Blocking, Request/Completion Redirect, Upstream Forwarding. */
  readonly acs?: boolean;
  /** A slot below this port (root and downstream ports): Physical Slot Number and hot-plug capability. */
  readonly slot?: { readonly number: number; readonly hotplug?: boolean };
  /** Vendor and device id (default: QEMU's for the same kind of bridge). */
  readonly ids?: { readonly vendor: number; readonly device: number };
}

const EXP_TYPE: Record<Exclude<PciBridgeKind, 'pci-bridge'>, number> = {
  'root-port': PCI_EXP_TYPE_ROOT_PORT,
  upstream: PCI_EXP_TYPE_UPSTREAM,
  downstream: PCI_EXP_TYPE_DOWNSTREAM,
  'pcie-to-pci': PCI_EXP_TYPE_PCI_BRIDGE,
};

/** QEMU's ids for the same bridges: pcie-root-port, xio3130 up/downstream, pcie-pci-bridge, pci-bridge. */
const DEFAULT_IDS: Record<PciBridgeKind, [number, number]> = {
  'root-port': [0x1b36, 0x000c],
  upstream: [0x104c, 0x8232],
  downstream: [0x104c, 0x8233],
  'pcie-to-pci': [0x1b36, 0x000e],
  'pci-bridge': [0x1b36, 0x0001],
};

export class PciBridgeFunction extends PciFunction implements PciHwBridge {
  readonly model: string;
  readonly secondary: PciHwBus = new PciHwBus(this);
  private sbr = false;

  constructor(
    readonly kind: PciBridgeKind,
    readonly opts: PciBridgeOptions = {},
  ) {
    super(kind === 'pci-bridge' ? PCI_CFG_SPACE_SIZE : PCI_CFG_SPACE_EXP_SIZE);
    this.model = `pci-bridge/${kind}`;
    const [vendor, device] = DEFAULT_IDS[kind];
    this.setIds({ vendor: opts.ids?.vendor ?? vendor, device: opts.ids?.device ?? device, classCode: PCI_CLASS_BRIDGE_PCI, headerType: PCI_HEADER_TYPE_BRIDGE });
    const c = this.config;
    c.setWritable(PCI_PRIMARY_BUS, 4, 0x00ffffff);
    c.setWritable(PCI_IO_BASE, 2, 0xf0f0);
    c.setWritable(PCI_MEMORY_BASE, 4, 0xfff0fff0);
    c.setWritable(PCI_PREF_MEMORY_BASE, 4, 0xfff0fff0);
    c.setWritable(PCI_BRIDGE_CONTROL, 2, 0x0fff);
    c.watch(PCI_BRIDGE_CONTROL, 2, () => this.bridgeControlWritten());
    if (kind !== 'pci-bridge') {
      const caps = new PciCapabilityBuilder(c);
      const exp = caps.addExp();
      let flags = 2 | (EXP_TYPE[kind] << 4);
      const slot = opts.slot;
      if (slot !== undefined) {
        check(kind === 'root-port' || kind === 'downstream', 'EINVAL', `a ${kind} has no slot`);
        check(Number.isInteger(slot.number) && slot.number >= 0 && slot.number < 0x2000, 'EINVAL', `slot number ${slot.number}`);
        flags |= PCI_EXP_FLAGS_SLOT;
        c.setDword(exp + PCI_EXP_SLTCAP, ((slot.number << 19) | (slot.hotplug === true ? PCI_EXP_SLTCAP_HPC : 0)) >>> 0);
      }
      c.setWord(exp + PCI_EXP_FLAGS, flags);
      if (opts.acs === true) {
        check(kind === 'root-port' || kind === 'downstream', 'EINVAL', `ACS on a ${kind} port is not modelled`);
        new PciExtCapabilityBuilder(c).addAcs(PCI_ACS_SV | PCI_ACS_TB | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF);
      }
    } else {
      check(opts.acs !== true && opts.slot === undefined, 'EINVAL', 'a conventional PCI bridge has no ACS or PCIe slot');
    }
    this.powerOn();
  }

  busRange(): { secondary: number; subordinate: number } {
    return { secondary: this.config.getByte(PCI_SECONDARY_BUS), subordinate: this.config.getByte(PCI_SUBORDINATE_BUS) };
  }

  get inReset(): boolean {
    return this.sbr;
  }

  /** A conventional reset of the bridge is a hot reset of its secondary side too. */
  protected resetState(_kind: PciHwResetKind): void {
    this.sbr = false;
    this.resetBelow();
  }

  protected mmioRead(_bar: number, _offset: number, out: Uint8Array): void {
    out.fill(0xff);
  }

  protected mmioWrite(): void {}

  private bridgeControlWritten(): void {
    const on = (this.config.getWord(PCI_BRIDGE_CONTROL) & PCI_BRIDGE_CTL_BUS_RESET) !== 0;
    if (on && !this.sbr) this.resetBelow();
    this.sbr = on;
  }

  private resetBelow(): void {
    for (const f of this.secondary.slots.values()) f.hardwareReset('bus');
  }
}
