// Physical slots (drivers/pci/slot.c pci_create_slot, pci_destroy_slot): `/sys/bus/pci/slots/<N>/address`,
// created for a PCIe port whose capability says a slot is implemented, hot-plug capable or not.
import type { Host } from '../../base/host.js';
import type { SysfsAttrTable } from '../../base/sysfs.js';
import { PCI_EXP_FLAGS_SLOT, PCI_EXP_SLTCAP, PCI_EXP_SLTCAP_HPC, PCI_EXP_TYPE_DOWNSTREAM, PCI_EXP_TYPE_ROOT_PORT } from '../../uapi/pci-regs-ext.js';
import { pciHostState } from './pci-bus-type.js';
import { PciSlot, pciReadConfig, pciSlot } from './pci-dev.js';
import type { PciDev } from './pci-dev.js';

const slotAttrs: SysfsAttrTable<PciSlot> = Object.freeze({
  address: { show: (slot: PciSlot) => `${slot.address}\n` },
});

/** For a root or downstream port with a slot: the slot on its secondary bus (device 0), in sysfs. */
export function pciCreatePortSlot(host: Host, port: PciDev): PciSlot | null {
  const bus = port.subordinate;
  if (bus === null || !port.isPcie || (port.pcieFlags & PCI_EXP_FLAGS_SLOT) === 0) return null;
  if (port.pcieType !== PCI_EXP_TYPE_ROOT_PORT && port.pcieType !== PCI_EXP_TYPE_DOWNSTREAM) return null;
  const sltcap = pciReadConfig(port, port.pcieCap + PCI_EXP_SLTCAP, 4);
  const slot = new PciSlot(bus, sltcap >>> 19, 0, (sltcap & PCI_EXP_SLTCAP_HPC) !== 0);
  host.sysfs.mkdir(pciHostState(host).slotsDir, String(slot.number), slot, slotAttrs);
  bus.slots.set(slot.device, slot);
  for (const d of bus.devices) if (pciSlot(d.devfn) === slot.device) d.slot = slot;
  return slot;
}

/** pci_destroy_slot(): the slot leaves sysfs and its devices. */
export function pciDestroySlot(host: Host, slot: PciSlot): void {
  host.sysfs.removeChild(pciHostState(host).slotsDir, String(slot.number));
  slot.bus.slots.delete(slot.device);
  for (const d of slot.bus.devices) if (d.slot === slot) d.slot = null;
}
