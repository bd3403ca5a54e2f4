// A PCI hierarchy described as data (a tree of bridges and functions with their hardware models) and built
// into wired hardware; what a QEMU `-device ...,bus=,addr=` list says, as one typed object.
import { VfioError, check } from '../../uapi/errno.js';
import { PciBridgeFunction } from './bridge.js';
import type { PciBridgeKind, PciBridgeOptions } from './bridge.js';
import { PciHwBus, PciHwRoot } from './hw-bus.js';
import type { PciFunction } from './pci-function.js';
import { pciDevfn } from './pci-dev.js';

/** One function in a slot, with the hardware model that answers there. */
export interface PciFunctionSpec {
  /** Device (slot) number on the bus, 0-31. */
  readonly device: number;
  /** Function number, 0-7 (default 0); more than one function in a slot makes it multifunction. */
  readonly function?: number;
  readonly hw: PciFunction;
}

/** A bridge and what sits below it. */
export interface PciBridgeSpec extends PciBridgeOptions {
  readonly device: number;
  readonly function?: number;
  readonly bridge: PciBridgeKind;
  readonly below?: readonly PciNodeSpec[];
}

export type PciNodeSpec = PciFunctionSpec | PciBridgeSpec;

/** A host bridge: a domain and root bus number, and the root bus's devices. */
export interface PciRootSpec {
  readonly domain?: number;
  readonly bus?: number;
  readonly devices: readonly PciNodeSpec[];
}

const isBridgeSpec = (n: PciNodeSpec): n is PciBridgeSpec => 'bridge' in n;

/** Ports with a link below them: only device 0 exists on their secondary bus (PCIe Base 7.3.1). */
const LINK_PORTS: ReadonlySet<PciBridgeKind> = new Set<PciBridgeKind>(['root-port', 'downstream']);

/**
 * Builds the hardware for `spec`: every bridge model created and wired, every function placed at its
 * devfn; functions sharing a slot get the multifunction bit in their header type. Bus numbers are not
 * assigned here: enumeration (pciScanRootBus) does that, as firmware or the kernel would.
 */
export function pciBuildHardware(spec: PciRootSpec): PciHwRoot {
  const domain = spec.domain ?? 0;
  const busNr = spec.bus ?? 0;
  check(Number.isInteger(domain) && domain >= 0 && domain <= 0xffff, 'EINVAL', `PCI domain ${domain}`);
  check(Number.isInteger(busNr) && busNr >= 0 && busNr <= 0xff, 'EINVAL', `root bus ${busNr}`);
  const root = new PciHwRoot(domain, busNr);
  const used = new Set<PciFunction>();
  place(root.bus, spec.devices, null, used);
  return root;
}

function place(bus: PciHwBus, nodes: readonly PciNodeSpec[], above: PciBridgeKind | null, used: Set<PciFunction>): void {
  for (const node of nodes) {
    const dev = node.device;
    const fn = node.function ?? 0;
    check(Number.isInteger(dev) && dev >= 0 && dev < 32, 'EINVAL', `device number ${dev}`);
    check(Number.isInteger(fn) && fn >= 0 && fn < 8, 'EINVAL', `function number ${fn}`);
    if (above !== null && LINK_PORTS.has(above)) check(dev === 0, 'EINVAL', `only device 0 sits below a PCIe ${above}`);
    const devfn = pciDevfn(dev, fn);
    if (bus.slots.has(devfn)) throw new VfioError('EEXIST', `two functions at ${dev}.${fn}`);
    let hw: PciFunction;
    if (isBridgeSpec(node)) {
      const opts: PciBridgeOptions = {
        ...(node.acs !== undefined ? { acs: node.acs } : {}),
        ...(node.slot !== undefined ? { slot: node.slot } : {}),
        ...(node.ids !== undefined ? { ids: node.ids } : {}),
      };
      const bridge = new PciBridgeFunction(node.bridge, opts);
      place(bridge.secondary, node.below ?? [], node.bridge, used);
      hw = bridge;
    } else {
      check(!used.has(node.hw), 'EEXIST', `the same ${node.hw.model} placed twice`);
      hw = node.hw;
    }
    used.add(hw);
    bus.slots.set(devfn, hw);
  }
  markMultifunction(bus);
}

/** Sets PCI_HEADER_TYPE_MFD on every function of a slot holding more than one (and the power-on image with it). */
function markMultifunction(bus: PciHwBus): void {
  const perSlot = new Map<number, PciFunction[]>();
  for (const [devfn, f] of bus.slots) {
    const list = perSlot.get(devfn >> 3) ?? [];
    list.push(f);
    perSlot.set(devfn >> 3, list);
  }
  for (const [slot, fns] of perSlot) {
    if (fns.length < 2) continue;
    check(bus.slots.has(pciDevfn(slot, 0)), 'EINVAL', `slot ${slot} has functions but no function 0`);
    for (const f of fns) f.setMultifunction();
  }
}
