// Setting up and adding one PCI function (drivers/pci/probe.c pci_setup_device, pci_device_add,
// drivers/pci/bus.c pci_bus_add_device): read what the function is from its config space, give it a
// sysfs node and an IOMMU group, then offer it to drivers.
import { deviceAdd, deviceDel, deviceInitialize, getDevice, hostOf, putDevice } from '../../base/device.js';
import type { Device } from '../../base/device.js';
import { busAddDevice } from '../../base/bus.js';
import { deviceAttach } from '../../base/dd.js';
import type { Host } from '../../base/host.js';
import type { SysfsAttrTable } from '../../base/sysfs.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import {
  PCI_CAP_ID_AF,
  PCI_CAP_ID_EXP,
  PCI_CAP_ID_PM,
  PCI_CFG_SPACE_EXP_SIZE,
  PCI_CFG_SPACE_SIZE,
  PCI_CLASS_REVISION,
  PCI_EXP_DEVCAP,
  PCI_EXP_FLAGS,
  PCI_HEADER_TYPE,
  PCI_HEADER_TYPE_MFD,
  PCI_HEADER_TYPE_NORMAL,
  PCI_INTERRUPT_PIN,
  PCI_SUBSYSTEM_ID,
  PCI_SUBSYSTEM_VENDOR_ID,
  PCI_VENDOR_ID,
} from '../../uapi/pci-regs.js';
import { PCI_EXT_CAP_ID_ACS } from '../../uapi/pci-regs-ext.js';
import { pciBusType } from './pci-bus-type.js';
import { PciDev, pciFindCapability, pciFindExtCapability, pciReadConfig, pciSlot } from './pci-dev.js';
import type { PciBus } from './pci-dev.js';
import type { PciFunction } from './pci-function.js';
import { pciDevAttrs } from './pci-sysfs.js';
import { pciEnableAcs, pciIommuProbeDevice } from './iommu.js';
import { pciInitResetMethods, pciResetAttrs } from './reset.js';

/** pci_release_dev(): the last put of a pci_dev. */
function pciReleaseDev(dev: Device): void {
  const physfn = dev instanceof PciDev ? dev.physfn : null;
  sanitizer.free(dev);
  if (physfn !== null) putDevice(physfn);
}

/**
 * pci_scan_device() + pci_setup_device(): a pci_dev for whatever answers at `devfn` on `bus`, or null when
 * nothing does (vendor id all ones). Not yet in sysfs or on the bus.
 */
export function pciScanDevice(host: Host, bus: PciBus, devfn: number, physfn: PciDev | null = null): PciDev | null {
  const id = bus.readConfig(devfn, PCI_VENDOR_ID, 4);
  if (id === 0xffffffff || id === 0 || (id & 0xffff) === 0xffff) return null;
  const hw: PciFunction | undefined = bus.root.configTarget(bus.number, devfn);
  if (hw === undefined) return null;
  const pdev = new PciDev(bus, devfn, hw);
  sanitizer.track(pdev, 'pci_dev', pdev.bdf);
  deviceInitialize(pdev, host);
  if (physfn !== null) {
    pdev.isVirtfn = true;
    // Balanced in pciReleaseDev: the VF holds its PF for as long as it exists.
    pdev.physfn = getDevice(physfn);
  }
  pdev.name = pdev.bdf;
  pdev.release = pciReleaseDev;
  pciSetupDevice(pdev);
  return pdev;
}

/** pci_setup_device(): ids, class, header type, capabilities and config space size, read by config cycles. */
export function pciSetupDevice(pdev: PciDev): void {
  const id = pciReadConfig(pdev, PCI_VENDOR_ID, 4);
  pdev.vendor = id & 0xffff;
  pdev.device = id >>> 16;
  const cr = pciReadConfig(pdev, PCI_CLASS_REVISION, 4);
  pdev.revision = cr & 0xff;
  pdev.classCode = cr >>> 8;
  const hdr = pciReadConfig(pdev, PCI_HEADER_TYPE, 1);
  pdev.hdrType = hdr & 0x7f;
  // VFs are never multifunction, whatever the PF says.
  pdev.multifunction = !pdev.isVirtfn && (hdr & PCI_HEADER_TYPE_MFD) !== 0;
  if (pdev.hdrType === PCI_HEADER_TYPE_NORMAL) {
    pdev.subsystemVendor = pciReadConfig(pdev, PCI_SUBSYSTEM_VENDOR_ID, 2);
    pdev.subsystemDevice = pciReadConfig(pdev, PCI_SUBSYSTEM_ID, 2);
  }
  pdev.pcieCap = pciFindCapability(pdev, PCI_CAP_ID_EXP);
  if (pdev.pcieCap !== 0) {
    pdev.pcieFlags = pciReadConfig(pdev, pdev.pcieCap + PCI_EXP_FLAGS, 2);
    pdev.devcap = pciReadConfig(pdev, pdev.pcieCap + PCI_EXP_DEVCAP, 4);
  }
  // pci_cfg_space_size(): PCIe functions whose extended space answers have 4096 bytes.
  pdev.cfgSize = PCI_CFG_SPACE_SIZE;
  if (pdev.pcieCap !== 0 && pciReadConfig(pdev, PCI_CFG_SPACE_SIZE, 4) !== 0xffffffff) pdev.cfgSize = PCI_CFG_SPACE_EXP_SIZE;
  pdev.pmCap = pciFindCapability(pdev, PCI_CAP_ID_PM);
  pdev.afCap = pciFindCapability(pdev, PCI_CAP_ID_AF);
  pdev.acsCap = pciFindExtCapability(pdev, PCI_EXT_CAP_ID_ACS);
  const pin = pciReadConfig(pdev, PCI_INTERRUPT_PIN, 1);
  // A fixed swizzle stands in for the platform's interrupt routing (GSIs 16-23).
  pdev.irq = pin === 0 ? 0 : 16 + ((pciSlot(pdev.devfn) + pin - 1) % 8);
}

/**
 * pci_device_add(): the function gets its sysfs node under its bus's bridge (with `extra` attribute
 * groups), joins its bus's list, takes its slot, has ACS enabled and its reset methods probed, and joins
 * its IOMMU group. No driver sees it until pciBusAddDevice. Unwinds on failure.
 */
export function pciDeviceAdd(pdev: PciDev, extra: readonly SysfsAttrTable<Device>[] = []): void {
  const bus = pdev.pciBus;
  pdev.parent = bus.bridge;
  pciEnableAcs(pdev);
  pciInitResetMethods(pdev);
  pdev.groups = [pciDevAttrs, ...(pdev.resetMethods.length > 0 ? [pciResetAttrs] : []), ...extra];
  pdev.slot = bus.slots.get(pciSlot(pdev.devfn)) ?? null;
  deviceAdd(pdev);
  try {
    pciIommuProbeDevice(pdev);
  } catch (err) {
    // Balances deviceAdd (the device is not on the bus yet); the caller still holds the initial reference.
    deviceDel(pdev);
    throw err;
  }
  bus.devices.push(pdev);
}

/** pci_bus_add_device(): the function joins the `pci` bus, where drivers may bind it. */
export function pciBusAddDevice(pdev: PciDev): void {
  pdev.bus = pciBusType(hostOf(pdev));
  // bus_add_device(), then bus_probe_device(): a matching driver may bind.
  if (busAddDevice(pdev)) deviceAttach(pdev);
}
