// IOMMU groups of PCI functions (drivers/iommu/iommu.c pci_device_group, drivers/pci/pci.c pci_acs_enabled,
// pci_acs_path_enabled, drivers/pci/search.c pci_for_each_dma_alias): the smallest set of functions the
// topology cannot keep from reaching each other's DMA.
import { iommuGroupAddDevice, iommuGroupAlloc, iommuGroupGet, iommuGroupPut } from '../../base/iommu-group.js';
import type { IommuGroup } from '../../base/iommu-group.js';
import { hostOf } from '../../base/device.js';
import {
  PCI_ACS_CAP,
  PCI_ACS_CR,
  PCI_ACS_CTRL,
  PCI_ACS_EC,
  PCI_ACS_RR,
  PCI_ACS_SV,
  PCI_ACS_UF,
  PCI_EXP_TYPE_DOWNSTREAM,
  PCI_EXP_TYPE_PCIE_BRIDGE,
  PCI_EXP_TYPE_PCI_BRIDGE,
  PCI_EXP_TYPE_RC_EC,
  PCI_EXP_TYPE_ROOT_PORT,
  PCI_EXP_TYPE_UPSTREAM,
} from '../../uapi/pci-regs-ext.js';
import { PCI_EXP_TYPE_ENDPOINT, PCI_EXP_TYPE_LEG_END, PCI_EXP_TYPE_RC_END } from '../../uapi/pci-regs.js';
import { pciReadConfig, pciSlot, pciWriteConfig } from './pci-dev.js';
import type { PciBus, PciDev } from './pci-dev.js';

/** REQ_ACS_FLAGS: what isolation needs from each bridge on the way up. */
export const REQ_ACS_FLAGS = PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF;

/** pci_enable_acs(): turns on the ACS controls a port offers (the kernel does it at enumeration). */
export function pciEnableAcs(pdev: PciDev): void {
  if (pdev.acsCap === 0) return;
  const cap = pciReadConfig(pdev, pdev.acsCap + PCI_ACS_CAP, 2);
  const ctrl = pciReadConfig(pdev, pdev.acsCap + PCI_ACS_CTRL, 2);
  pciWriteConfig(pdev, pdev.acsCap + PCI_ACS_CTRL, 2, ctrl | (cap & (PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF)));
}

/** pci_acs_flags_enabled(): flags the capability lacks are not required. */
function pciAcsFlagsEnabled(pdev: PciDev, flags: number): boolean {
  if (pdev.acsCap === 0) return false;
  const cap = pciReadConfig(pdev, pdev.acsCap + PCI_ACS_CAP, 2);
  const want = flags & (cap | PCI_ACS_EC);
  return (pciReadConfig(pdev, pdev.acsCap + PCI_ACS_CTRL, 2) & want) === want;
}

/** pci_acs_enabled(). */
export function pciAcsEnabled(pdev: PciDev, flags: number): boolean {
  if (!pdev.isPcie) return false;
  switch (pdev.pcieType) {
    case PCI_EXP_TYPE_PCIE_BRIDGE:
    case PCI_EXP_TYPE_PCI_BRIDGE:
    case PCI_EXP_TYPE_RC_EC:
      return false;
    case PCI_EXP_TYPE_DOWNSTREAM:
    case PCI_EXP_TYPE_ROOT_PORT:
      return pciAcsFlagsEnabled(pdev, flags);
    case PCI_EXP_TYPE_ENDPOINT:
    case PCI_EXP_TYPE_UPSTREAM:
    case PCI_EXP_TYPE_LEG_END:
    case PCI_EXP_TYPE_RC_END:
      // ACS applies to these only as part of a multifunction device.
      if (pdev.multifunction) return pciAcsFlagsEnabled(pdev, flags);
      return true;
    default:
      return true;
  }
}

/** pci_acs_path_enabled(start, NULL, flags): every device from `start` up to the root bus has ACS. */
export function pciAcsPathEnabled(start: PciDev, flags: number): boolean {
  let pdev: PciDev | null = start;
  while (pdev !== null) {
    if (!pciAcsEnabled(pdev, flags)) return false;
    if (pdev.pciBus.isRoot) return true;
    pdev = pdev.pciBus.self;
  }
  return true;
}

/**
 * pci_for_each_dma_alias() with get_pci_alias_or_group: the last device whose requester ID DMA from `pdev`
 * can carry on its way up (a PCIe-to-PCI bridge takes over the IDs of everything below it), stopping early
 * at one that is already in a group.
 */
function dmaAliasOrGroup(pdev: PciDev): { pdev: PciDev; group: IommuGroup | null } {
  let last = pdev;
  if (pdev.iommuGroup !== null) return { pdev, group: pdev.iommuGroup };
  for (let bus: PciBus | null = pdev.pciBus; bus !== null && !bus.isRoot; bus = bus.parent) {
    const tmp = bus.self;
    if (tmp === null) continue;
    if (tmp.isPcie) {
      const t = tmp.pcieType;
      if (t === PCI_EXP_TYPE_ROOT_PORT || t === PCI_EXP_TYPE_UPSTREAM || t === PCI_EXP_TYPE_DOWNSTREAM) continue;
      if (t !== PCI_EXP_TYPE_PCI_BRIDGE && t !== PCI_EXP_TYPE_PCIE_BRIDGE) continue;
    }
    // A conventional PCI bridge, or a PCIe-to-PCI(-X) bridge: transactions from below carry its ID.
    last = tmp;
    if (tmp.iommuGroup !== null) return { pdev: tmp, group: tmp.iommuGroup };
  }
  return { pdev: last, group: null };
}

/** get_pci_function_alias_group(): functions of the same slot without ACS share a group. */
function functionAliasGroup(pdev: PciDev): IommuGroup | null {
  if (!pdev.multifunction || pciAcsEnabled(pdev, REQ_ACS_FLAGS)) return null;
  for (const tmp of pdev.pciBus.devices) {
    if (tmp === pdev || pciSlot(tmp.devfn) !== pciSlot(pdev.devfn) || tmp.isVirtfn) continue;
    if (pciAcsEnabled(tmp, REQ_ACS_FLAGS)) continue;
    if (tmp.iommuGroup !== null) return tmp.iommuGroup;
  }
  return null;
}

/** pci_device_group(): the group `pdev` belongs in, with a reference for the caller. */
export function pciDeviceGroup(start: PciDev): IommuGroup {
  const alias = dmaAliasOrGroup(start);
  if (alias.group !== null) return iommuGroupGet(alias.group);
  let pdev = alias.pdev;
  // Up from the alias to where ACS keeps peers from reaching each other.
  for (let bus: PciBus | null = pdev.pciBus; bus !== null && !bus.isRoot; bus = bus.parent) {
    const self = bus.self;
    if (self === null) continue;
    if (pciAcsPathEnabled(self, REQ_ACS_FLAGS)) break;
    pdev = self;
    if (pdev.iommuGroup !== null) return iommuGroupGet(pdev.iommuGroup);
  }
  if (pdev.iommuGroup !== null) return iommuGroupGet(pdev.iommuGroup);
  const shared = functionAliasGroup(pdev);
  if (shared !== null) return iommuGroupGet(shared);
  return iommuGroupAlloc(hostOf(pdev));
}

/** iommu_probe_device() for a PCI function: joins the group pci_device_group picks. */
export function pciIommuProbeDevice(pdev: PciDev): void {
  const group = pciDeviceGroup(pdev);
  try {
    iommuGroupAddDevice(group, pdev);
  } finally {
    // The device holds its own reference now; drop the one pciDeviceGroup gave us.
    iommuGroupPut(group);
  }
}
