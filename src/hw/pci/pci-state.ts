// Saving and restoring a function's config space around a reset (drivers/pci/pci.c pci_save_state,
// pci_restore_state, pci_dev_save_and_disable): header and capabilities written back in reverse dword order.
import { PCI_COMMAND, PCI_COMMAND_INTX_DISABLE } from '../../uapi/pci-regs.js';
import { pciReadConfig, pciWriteConfig } from './pci-dev.js';
import type { PciDev } from './pci-dev.js';

/** A function's config space as it was, one dword per entry. */
export interface PciSavedState {
  readonly dwords: Uint32Array;
}

/** pci_save_state(). */
export function pciSaveState(pdev: PciDev): PciSavedState {
  const dwords = new Uint32Array(pdev.cfgSize / 4);
  for (let i = 0; i < dwords.length; i++) dwords[i] = pciReadConfig(pdev, i * 4, 4);
  return { dwords };
}

function restoreDword(pdev: PciDev, saved: PciSavedState, i: number): void {
  const want = saved.dwords[i] ?? 0;
  if (pciReadConfig(pdev, i * 4, 4) !== want) pciWriteConfig(pdev, i * 4, 4, want);
}

/**
 * pci_restore_state(): header dwords 15..0 (so COMMAND, which enables decoding, comes last of the header),
 * then capabilities from the top down, which writes SR-IOV's NumVFs before its VF Enable as
 * sriov_restore_state does, then the MSI-X table from the driver's vectors.
 */
export function pciRestoreState(pdev: PciDev, saved: PciSavedState): void {
  for (let i = 15; i >= 0; i--) restoreDword(pdev, saved, i);
  for (let i = saved.dwords.length - 1; i >= 16; i--) restoreDword(pdev, saved, i);
  // pci_restore_msi_state(): the MSI-X table entries of the vectors the driver holds (a reset masked and cleared them).
  pdev.restoreMsiState?.();
}

/** pci_dev_save_and_disable(): save, then stop the function decoding and mastering (INTx disabled). */
export function pciDevSaveAndDisable(pdev: PciDev): PciSavedState {
  const saved = pciSaveState(pdev);
  pciWriteConfig(pdev, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
  return saved;
}

/** pci_dev_restore(). */
export function pciDevRestore(pdev: PciDev, saved: PciSavedState): void {
  pciRestoreState(pdev, saved);
}
