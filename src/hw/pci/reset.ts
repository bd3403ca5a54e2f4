// Function, slot and bus resets (drivers/pci/pci.c pci_reset_fn_methods, pcie_reset_flr, pci_af_flr,
// pci_pm_reset, pci_reset_bus_function, pci_probe_reset_slot/bus, pci_reset_function, pci_reset_bus) and
// the `reset` and `reset_method` files. A reset reaches the hardware through the registers that cause it.
import type { Device } from '../../base/device.js';
import type { SysfsAttrTable } from '../../base/sysfs.js';
import { VfioError } from '../../uapi/errno.js';
import { PCI_EXP_DEVCAP_FLR, PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_BCR_FLR, PCI_PM_CTRL, PCI_PM_CTRL_NO_SOFT_RESET, PCI_PM_CTRL_STATE_MASK } from '../../uapi/pci-regs.js';
import { PCI_AF_CAP, PCI_AF_CAP_FLR, PCI_AF_CAP_TP, PCI_AF_CTRL, PCI_AF_CTRL_FLR, PCI_BRIDGE_CONTROL, PCI_BRIDGE_CTL_BUS_RESET } from '../../uapi/pci-regs-ext.js';
import { pciReadConfig, pciWriteConfig } from './pci-dev.js';
import type { PciBus, PciDev, PciSlot } from './pci-dev.js';
import { pciDevRestore, pciDevSaveAndDisable } from './pci-state.js';
import type { PciSavedState } from './pci-state.js';
import { kstrtoulMax } from '../../base/kstrtox.js';
import { pciAttr, pciWriteOnlyAttr } from './pci-sysfs.js';

/** A reset method: with `probe`, only says whether it would work; throws ENOTTY when it cannot. */
type ResetFn = (pdev: PciDev, probe: boolean) => void;

function notty(pdev: PciDev, why: string): never {
  throw new VfioError('ENOTTY', `${pdev.bdf}: ${why}`);
}

/** pcie_reset_flr(): DEVCAP advertises FLR; Initiate Function Level Reset in DEVCTL. */
function pcieResetFlr(pdev: PciDev, probe: boolean): void {
  if ((pdev.devcap & PCI_EXP_DEVCAP_FLR) === 0) notty(pdev, 'no FLR');
  if (probe) return;
  const ctl = pciReadConfig(pdev, pdev.pcieCap + PCI_EXP_DEVCTL, 2);
  pciWriteConfig(pdev, pdev.pcieCap + PCI_EXP_DEVCTL, 2, ctl | PCI_EXP_DEVCTL_BCR_FLR);
}

/** pci_af_flr(): the Advanced Features capability with Transactions Pending and FLR. */
function pciAfFlr(pdev: PciDev, probe: boolean): void {
  if (pdev.afCap === 0) notty(pdev, 'no AF capability');
  const cap = pciReadConfig(pdev, pdev.afCap + PCI_AF_CAP, 1);
  if ((cap & PCI_AF_CAP_TP) === 0 || (cap & PCI_AF_CAP_FLR) === 0) notty(pdev, 'AF without FLR');
  if (probe) return;
  pciWriteConfig(pdev, pdev.afCap + PCI_AF_CTRL, 1, PCI_AF_CTRL_FLR);
}

/** pci_pm_reset(): D0 -> D3hot -> D0 resets a function that does not set No_Soft_Reset. */
function pciPmReset(pdev: PciDev, probe: boolean): void {
  if (pdev.pmCap === 0) notty(pdev, 'no PM capability');
  const csr = pciReadConfig(pdev, pdev.pmCap + PCI_PM_CTRL, 2);
  if ((csr & PCI_PM_CTRL_NO_SOFT_RESET) !== 0) notty(pdev, 'No_Soft_Reset');
  if (probe) return;
  if ((csr & PCI_PM_CTRL_STATE_MASK) !== 0) throw new VfioError('EINVAL', `${pdev.bdf} is not in D0`);
  pciWriteConfig(pdev, pdev.pmCap + PCI_PM_CTRL, 2, (csr & ~PCI_PM_CTRL_STATE_MASK) | 3);
  pciWriteConfig(pdev, pdev.pmCap + PCI_PM_CTRL, 2, csr & ~PCI_PM_CTRL_STATE_MASK);
}

/** pci_reset_secondary_bus(): pulse Secondary Bus Reset in the bridge's control register. */
function pciBridgeSecondaryBusReset(bridge: PciDev): void {
  const ctrl = pciReadConfig(bridge, PCI_BRIDGE_CONTROL, 2);
  pciWriteConfig(bridge, PCI_BRIDGE_CONTROL, 2, ctrl | PCI_BRIDGE_CTL_BUS_RESET);
  pciWriteConfig(bridge, PCI_BRIDGE_CONTROL, 2, ctrl & ~PCI_BRIDGE_CTL_BUS_RESET);
}

/** pci_reset_hotplug_slot(): the hot-plug controller's reset_slot (pciehp: a secondary bus reset of the port). */
function pciResetHotplugSlot(slot: PciSlot, probe: boolean): void {
  const port = slot.bus.self;
  if (!slot.hotplug || port === null) throw new VfioError('ENOTTY', `slot ${slot.number} has no hot-plug controller`);
  if (probe) return;
  pciBridgeSecondaryBusReset(port);
}

/** pci_dev_reset_slot_function(). */
function pciDevResetSlotFunction(pdev: PciDev, probe: boolean): void {
  if (pdev.multifunction || pdev.subordinate !== null || pdev.slot === null || pdev.noBusReset) notty(pdev, 'no slot reset');
  pciResetHotplugSlot(pdev.slot, probe);
}

/** pci_parent_bus_reset(): a secondary bus reset of the bridge above, when the function is alone on its bus. */
function pciParentBusReset(pdev: PciDev, probe: boolean): void {
  const self = pdev.pciBus.self;
  if (pdev.pciBus.isRoot || pdev.subordinate !== null || self === null || self.noBusReset) notty(pdev, 'no parent bus reset');
  if (pdev.pciBus.devices.some((d) => d !== pdev)) notty(pdev, 'not alone on its bus');
  if (probe) return;
  pciBridgeSecondaryBusReset(self);
}

/** pci_reset_bus_function(): the slot if it has a hot-plug reset, else the parent bus. */
function pciResetBusFunction(pdev: PciDev, probe: boolean): void {
  try {
    pciDevResetSlotFunction(pdev, probe);
  } catch (err) {
    if (!VfioError.is(err, 'ENOTTY')) throw err;
    pciParentBusReset(pdev, probe);
  }
}

/** pci_reset_fn_methods[] in priority order (device_specific and acpi have nothing to model here). */
export const PCI_RESET_FN_METHODS: readonly { readonly name: string; readonly fn: ResetFn }[] = Object.freeze([
  { name: 'flr', fn: pcieResetFlr },
  { name: 'af_flr', fn: pciAfFlr },
  { name: 'pm', fn: pciPmReset },
  { name: 'bus', fn: pciResetBusFunction },
]);

function methodNamed(name: string): ResetFn | undefined {
  return PCI_RESET_FN_METHODS.find((m) => m.name === name)?.fn;
}

/** pci_init_reset_methods(): every method whose probe succeeds, in priority order. */
export function pciInitResetMethods(pdev: PciDev): void {
  const names: string[] = [];
  for (const m of PCI_RESET_FN_METHODS) {
    try {
      m.fn(pdev, true);
      names.push(m.name);
    } catch (err) {
      if (!VfioError.is(err, 'ENOTTY')) break;
    }
  }
  pdev.resetMethods = names;
}

/** __pci_reset_function_locked(): the first enabled method that applies; ENOTTY when none does. */
export function pciResetFunctionLocked(pdev: PciDev): void {
  for (const name of pdev.resetMethods) {
    const fn = methodNamed(name);
    if (fn === undefined) continue;
    try {
      fn(pdev, false);
      return;
    } catch (err) {
      if (!VfioError.is(err, 'ENOTTY')) throw err;
    }
  }
  throw new VfioError('ENOTTY', `${pdev.bdf} has no usable reset method`);
}

/** pci_reset_function(): save the config space, reset with the first usable method, restore. */
export function pciResetFunction(pdev: PciDev): void {
  if (pdev.resetMethods.length === 0) throw new VfioError('ENOTTY', `${pdev.bdf} has no reset method`);
  const saved = pciDevSaveAndDisable(pdev);
  try {
    pciResetFunctionLocked(pdev);
  } finally {
    pciDevRestore(pdev, saved);
  }
}

/** pci_bus_resettable(): nothing on the bus or below forbids a bus reset. */
function pciBusResettable(bus: PciBus): boolean {
  if (bus.self?.noBusReset === true) return false;
  return bus.devices.every((d) => !d.noBusReset && (d.subordinate === null || pciBusResettable(d.subordinate)));
}

/** pci_slot_resettable(). */
function pciSlotResettable(slot: PciSlot): boolean {
  if (slot.bus.self?.noBusReset === true) return false;
  return slot.bus.devices.every((d) => d.slot !== slot || (!d.noBusReset && (d.subordinate === null || pciBusResettable(d.subordinate))));
}

/** pci_probe_reset_slot(): ENOTTY unless the slot can be reset as a whole (a hot-plug slot). */
export function pciProbeResetSlot(slot: PciSlot | null): void {
  if (slot === null || !pciSlotResettable(slot)) throw new VfioError('ENOTTY', 'slot cannot be reset');
  pciResetHotplugSlot(slot, true);
}

/** pci_probe_reset_bus(): ENOTTY unless a bridge above the bus can reset it. */
export function pciProbeResetBus(bus: PciBus): void {
  if (bus.self === null || !pciBusResettable(bus)) throw new VfioError('ENOTTY', `bus ${bus.name} cannot be reset`);
}

/** Every device on `bus` and below, parents before children (the order state is restored in). */
export function pciBusDevices(bus: PciBus): PciDev[] {
  const out: PciDev[] = [];
  for (const d of bus.devices) {
    out.push(d);
    if (d.subordinate !== null) out.push(...pciBusDevices(d.subordinate));
  }
  return out;
}

function saveAll(devs: readonly PciDev[]): PciSavedState[] {
  return devs.map((d) => pciDevSaveAndDisable(d));
}

function restoreAll(devs: readonly PciDev[], saved: readonly PciSavedState[]): void {
  devs.forEach((d, i) => {
    const s = saved[i];
    if (s !== undefined) pciDevRestore(d, s);
  });
}

/**
 * pci_reset_bus(): the slot of `pdev` if it resets as a whole, else its bus; every function affected has
 * its state saved first and restored after (so bridges below get their bus numbers back before their children).
 */
export function pciResetBus(pdev: PciDev): void {
  let slotOk = true;
  try {
    pciProbeResetSlot(pdev.slot);
  } catch {
    slotOk = false;
  }
  const slot = pdev.slot;
  if (slotOk && slot !== null) {
    const devs = pciBusDevices(slot.bus).filter((d) => d.slot === slot || d.pciBus !== slot.bus);
    const saved = saveAll(devs);
    try {
      pciResetHotplugSlot(slot, false);
    } finally {
      restoreAll(devs, saved);
    }
    return;
  }
  const bus = pdev.pciBus;
  pciProbeResetBus(bus);
  const self = bus.self;
  if (self === null) throw new VfioError('ENOTTY', `bus ${bus.name} has no bridge`);
  const devs = pciBusDevices(bus);
  const saved = saveAll(devs);
  try {
    pciBridgeSecondaryBusReset(self);
  } finally {
    restoreAll(devs, saved);
  }
}

/** reset_method_store(): "" disables every method, "default" re-probes, else a list of supported names. */
function resetMethodStore(pdev: PciDev, value: string): void {
  const v = value.trim();
  if (v === '') {
    pdev.resetMethods = [];
    return;
  }
  if (v === 'default') {
    pciInitResetMethods(pdev);
    return;
  }
  const names: string[] = [];
  for (const name of v.split(/\s+/)) {
    const fn = methodNamed(name);
    if (fn === undefined) throw new VfioError('EINVAL', `invalid reset method '${name.slice(0, 32)}'`);
    try {
      fn(pdev, true);
    } catch {
      throw new VfioError('EINVAL', `unsupported reset method '${name}'`);
    }
    names.push(name);
  }
  pdev.resetMethods = names;
}

/** `reset` and `reset_method`: present only on functions with a reset method at enumeration. */
export const pciResetAttrs: SysfsAttrTable<Device> = Object.freeze({
  reset: pciWriteOnlyAttr((pdev, value) => {
    if (kstrtoulMax(value) !== 1) throw new VfioError('EINVAL', 'write 1 to reset');
    pciResetFunction(pdev);
  }),
  reset_method: pciAttr((pdev) => `${pdev.resetMethods.join(' ')}\n`, resetMethodStore),
});
