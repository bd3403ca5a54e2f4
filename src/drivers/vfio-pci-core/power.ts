// Power states of the function a vfio-pci device drives (drivers/vfio/pci/vfio_pci_core.c vfio_pci_set_power_state,
// vfio_pci_probe_power_state): a function that resets on D3hot -> D0 has its state saved on the way down and
// restored on the way up, so the user's PM writes do not lose the host's config.
import { pciReadConfig, pciWriteConfig } from '../../hw/pci/pci-dev.js';
import { pciRestoreState, pciSaveState } from '../../hw/pci/pci-state.js';
import { VfioError } from '../../uapi/errno.js';
import { PCI_PM_CTRL, PCI_PM_CTRL_NO_SOFT_RESET, PCI_PM_CTRL_STATE_MASK } from '../../uapi/pci-regs.js';
import { pdevOf } from './core-device.js';
import type { VfioPciCoreDevice } from './core-device.js';

export const PCI_D0 = 0;
export const PCI_D3HOT = 3;

/** vfio_pci_probe_power_state(). */
export function vfioPciProbePowerState(vdev: VfioPciCoreDevice): void {
  const pdev = pdevOf(vdev);
  if (pdev.pmCap === 0) return;
  vdev.needsPmRestore = (pciReadConfig(pdev, pdev.pmCap + PCI_PM_CTRL, 2) & PCI_PM_CTRL_NO_SOFT_RESET) === 0;
}

/** The function's current PowerState (D0 when it has no PM capability). */
export function vfioPciPowerState(vdev: VfioPciCoreDevice): number {
  const pdev = pdevOf(vdev);
  return pdev.pmCap === 0 ? PCI_D0 : pciReadConfig(pdev, pdev.pmCap + PCI_PM_CTRL, 2) & PCI_PM_CTRL_STATE_MASK;
}

/** vfio_pci_set_power_state(): EBUSY for a PF with VFs enabled going below D0. */
export function vfioPciSetPowerState(vdev: VfioPciCoreDevice, state: number): void {
  const pdev = pdevOf(vdev);
  if ((pdev.sriov?.numVfs ?? 0) > 0 && state > PCI_D0) throw new VfioError('EBUSY', `${pdev.bdf} has VFs enabled`);
  if (pdev.pmCap === 0) return;
  const cur = vfioPciPowerState(vdev);
  if (cur === state) return;
  const needsSave = vdev.needsPmRestore && cur < PCI_D3HOT && state >= PCI_D3HOT;
  const needsRestore = vdev.needsPmRestore && cur >= PCI_D3HOT && state <= PCI_D0;
  const saved = needsSave ? pciSaveState(pdev) : null;
  // pci_set_power_state(): the PowerState field of PMCSR.
  const ctrl = pciReadConfig(pdev, pdev.pmCap + PCI_PM_CTRL, 2);
  pciWriteConfig(pdev, pdev.pmCap + PCI_PM_CTRL, 2, (ctrl & ~PCI_PM_CTRL_STATE_MASK) | (state & PCI_PM_CTRL_STATE_MASK));
  if (saved !== null) vdev.pmSave = saved;
  else if (needsRestore && vdev.pmSave !== null) {
    pciRestoreState(pdev, vdev.pmSave);
    vdev.pmSave = null;
  }
}
