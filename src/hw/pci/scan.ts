// Enumerating a PCI hierarchy (drivers/pci/probe.c pci_scan_root_bus, pci_scan_child_bus, pci_scan_slot,
// pci_scan_bridge; drivers/pci/bus.c pci_bus_add_devices): depth first, bus numbers given in the order
// bridges are found, resources assigned, then every function offered to drivers, parents first.
import { Device, deviceRegister, deviceUnregister } from '../../base/device.js';
import type { Host } from '../../base/host.js';
import { VfioError } from '../../uapi/errno.js';
import { PCI_HEADER_TYPE_BRIDGE } from '../../uapi/pci-regs.js';
import { PCI_PRIMARY_BUS, PCI_SECONDARY_BUS, PCI_SUBORDINATE_BUS } from '../../uapi/pci-regs-ext.js';
import { pciHostState } from './pci-bus-type.js';
import { PciBus, pciDevfn, pciWriteConfig } from './pci-dev.js';
import type { PciDev } from './pci-dev.js';
import { PciHwRoot } from './hw-bus.js';
import { pciBuildHardware } from './topology.js';
import type { PciRootSpec } from './topology.js';
import { pciBusAddDevice, pciDeviceAdd, pciScanDevice } from './probe.js';
import { pciAssignResources } from './resources.js';
import { pciCreatePortSlot } from './slot.js';
import { pciStopAndRemoveBusDevice, pciRemoveAttrs } from './remove.js';
import { pciIovAttrsFor, pciIovInit } from './iov.js';

/** A host bridge and its root bus, as pci_scan_root_bus returns them. */
export interface PciRootBus {
  readonly host: Host;
  readonly hw: PciHwRoot;
  /** `/sys/devices/pci0000:00`. */
  readonly hostBridge: Device;
  readonly bus: PciBus;
}

const roots = new WeakMap<Host, PciRootBus[]>();

/** pci_scan_slot(): function 0, then 1-7 when function 0 says multifunction. */
function pciScanSlot(host: Host, bus: PciBus, slot: number, found: PciDev[]): void {
  const fn0 = pciScanDevice(host, bus, pciDevfn(slot, 0));
  if (fn0 === null) return;
  found.push(fn0);
  if (!fn0.multifunction) return;
  for (let fn = 1; fn < 8; fn++) {
    const pdev = pciScanDevice(host, bus, pciDevfn(slot, fn));
    if (pdev !== null) found.push(pdev);
  }
}

/** pci_scan_child_bus(): returns the highest bus number found below `bus`. */
function pciScanChildBus(host: Host, bus: PciBus): number {
  const found: PciDev[] = [];
  for (let slot = 0; slot < 32; slot++) pciScanSlot(host, bus, slot, found);
  for (const pdev of found) {
    pciIovInit(pdev);
    pciDeviceAdd(pdev, [pciRemoveAttrs, ...pciIovAttrsFor(pdev)]);
    pciAssignResources(pdev, bus.root);
  }
  let max = bus.number;
  for (const pdev of found) {
    if (pdev.hdrType !== PCI_HEADER_TYPE_BRIDGE) continue;
    max = pciScanBridge(host, bus, pdev, max);
  }
  return max;
}

/** pci_scan_bridge(): the next bus number for the secondary side, everything below it, then subordinate. */
function pciScanBridge(host: Host, bus: PciBus, bridge: PciDev, max: number): number {
  const secondary = max + 1;
  if (secondary > 0xff) throw new VfioError('ENOSPC', `no bus number left for ${bridge.bdf}`);
  pciWriteConfig(bridge, PCI_PRIMARY_BUS, 1, bus.number);
  pciWriteConfig(bridge, PCI_SECONDARY_BUS, 1, secondary);
  // Open the window all the way while scanning below, then close it on what was found.
  pciWriteConfig(bridge, PCI_SUBORDINATE_BUS, 1, 0xff);
  const child = new PciBus(bus.root, secondary, bus, bridge, bridge);
  bus.children.push(child);
  bridge.subordinate = child;
  pciCreatePortSlot(host, bridge);
  const last = pciScanChildBus(host, child);
  pciWriteConfig(bridge, PCI_SUBORDINATE_BUS, 1, last);
  return last;
}

/** pci_bus_add_devices(): this bus's devices, then each child bus's. */
function pciBusAddDevices(bus: PciBus): void {
  for (const pdev of bus.devices) pciBusAddDevice(pdev);
  for (const child of bus.children) pciBusAddDevices(child);
}

/**
 * pci_scan_root_bus(): builds the hardware `spec` describes (or takes hardware already built), registers
 * the host bridge `pciDDDD:BB`, enumerates everything below and offers it to the registered drivers.
 */
export function pciScanRootBus(host: Host, spec: PciRootSpec | PciHwRoot): PciRootBus {
  const hw = spec instanceof PciHwRoot ? spec : pciBuildHardware(spec);
  pciHostState(host);
  const hostBridge = new Device();
  hostBridge.name = `pci${hw.domain.toString(16).padStart(4, '0')}:${hw.busNumber.toString(16).padStart(2, '0')}`;
  hostBridge.release = () => {};
  deviceRegister(hostBridge, host);
  const bus = new PciBus(hw, hw.busNumber, null, null, hostBridge);
  const root: PciRootBus = { host, hw, hostBridge, bus };
  try {
    pciScanChildBus(host, bus);
  } catch (err) {
    void pciRemoveRootBus(root);
    throw err;
  }
  const list = roots.get(host) ?? [];
  list.push(root);
  roots.set(host, list);
  pciBusAddDevices(bus);
  return root;
}

/** pci_remove_root_bus(): every function removed (each waiting for its driver), then the host bridge. */
export async function pciRemoveRootBus(root: PciRootBus): Promise<void> {
  for (const pdev of [...root.bus.devices].reverse()) await pciStopAndRemoveBusDevice(pdev);
  const list = roots.get(root.host);
  if (list !== undefined) list.splice(list.indexOf(root), 1);
  deviceUnregister(root.hostBridge);
}

/** Every PCI function on `host`, in enumeration order (for_each_pci_dev). */
/** The PCI domains whose root buses are scanned on `host`. */
export function pciDomains(host: Host): Set<number> {
  return new Set((roots.get(host) ?? []).map((r) => r.bus.domain));
}

/** The lowest PCI domain no root bus of `host` uses (a host bridge added later takes it, as with `pci=domains`). */
export function pciFreeDomain(host: Host): number {
  const used = pciDomains(host);
  let d = 0;
  while (used.has(d)) d++;
  return d;
}

export function pciDevices(host: Host): PciDev[] {
  const out: PciDev[] = [];
  const walk = (bus: PciBus): void => {
    for (const d of bus.devices) {
      out.push(d);
      if (d.subordinate !== null) walk(d.subordinate);
    }
  };
  for (const r of roots.get(host) ?? []) walk(r.bus);
  return out;
}

/** pci_get_domain_bus_and_slot() by name: the function called `0000:00:03.0`, if any. */
export function pciGetDevice(host: Host, bdf: string): PciDev | undefined {
  return pciDevices(host).find((d) => d.bdf === bdf.toLowerCase());
}
