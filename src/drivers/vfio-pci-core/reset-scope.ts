// Which functions a slot or bus reset of a function touches (drivers/vfio/pci/vfio_pci_core.c
// vfio_pci_for_each_slot_or_bus, vfio_pci_dev_below_slot): the slot's functions (and everything below them) when
// the slot resets as a whole, else everything on the function's bus and below.
import type { PciDev, PciSlot } from '../../hw/pci/pci-dev.js';
import { pciBusDevices, pciProbeResetBus, pciProbeResetSlot } from '../../hw/pci/reset.js';

/** vfio_pci_dev_below_slot(). */
function belowSlot(pdev: PciDev, slot: PciSlot): boolean {
  for (let p: PciDev | null = pdev; p !== null; p = p.pciBus.self) {
    if (p.pciBus === slot.bus) return p.slot === slot;
  }
  return false;
}

/** pci_probe_reset_slot() as a boolean. */
export function slotResets(pdev: PciDev): boolean {
  try {
    pciProbeResetSlot(pdev.slot);
    return true;
  } catch {
    return false;
  }
}

/** pci_probe_reset_bus() as a boolean. */
export function busResets(pdev: PciDev): boolean {
  try {
    pciProbeResetBus(pdev.pciBus);
    return true;
  } catch {
    return false;
  }
}

/** The functions a hot reset of `pdev` affects, itself included; null when neither its slot nor its bus can reset. */
export function vfioPciResetScope(pdev: PciDev): PciDev[] | null {
  const slot = slotResets(pdev);
  if (!slot && !busResets(pdev)) return null;
  const all = pciBusDevices(pdev.pciBus);
  const s = pdev.slot;
  return slot && s !== null ? all.filter((d) => belowSlot(d, s)) : all;
}
