// Opening and closing a vfio-pci device (drivers/vfio/pci/vfio_pci_core.c vfio_pci_core_enable,
// vfio_pci_core_finish_enable, vfio_pci_core_disable, vfio_pci_core_close_device, vfio_pci_dev_set_try_reset):
// the first open resets the function if it can and builds the virtual config space; the last close puts the
// function back as the host left it, reset if possible, and resets the whole slot or bus when nobody else uses it.
import { pciFindCapability, pciReadConfig, pciSetDmaPort, pciWriteConfig } from '../../hw/pci/pci-dev.js';
import type { PciDev } from '../../hw/pci/pci-dev.js';
import type { PciDmaPort } from '../../hw/pci/pci-function.js';
import { pciResetBus, pciResetFunction, pciResetFunctionLocked } from '../../hw/pci/reset.js';
import { pciRestoreState, pciSaveState } from '../../hw/pci/pci-state.js';
import { IORESOURCE_IO, IORESOURCE_MEM } from '../../hw/pci/resources.js';
import { VfioError } from '../../uapi/errno.js';
import {
  PCI_CAP_ID_MSIX,
  PCI_COMMAND,
  PCI_COMMAND_INTX_DISABLE,
  PCI_COMMAND_IO,
  PCI_COMMAND_MASTER,
  PCI_COMMAND_MEMORY,
  PCI_MSIX_FLAGS,
  PCI_MSIX_FLAGS_QSIZE,
  PCI_MSIX_TABLE,
  PCI_MSIX_TABLE_BIR,
  PCI_MSIX_TABLE_OFFSET,
} from '../../uapi/pci-regs.js';
import { deviceSetOpenCount } from '../../vfio/device-set.js';
import { vfioDmaRw } from '../../vfio/dma-access.js';
import { vfioConfigFree, vfioConfigInit } from './config-init.js';
import { VfioPciCoreDevice, pdevOf } from './core-device.js';
import { vfioPciProbeMmaps } from './mmap.js';
import { vfioPciRuntimePmExitAndResume } from './low-power.js';
import { vfioPciIsVga } from './rdwr-rom-vga.js';
import { pciIntxMaskSupported } from './intrs-intx.js';
import { vfioPciDisableIrqs, vfioPciSetInterruptSink } from './intrs.js';
import { PCI_D0, vfioPciSetPowerState } from './power.js';
import { vfioPciIoeventfdsRelease } from './rdwr.js';
import { vfioPciResetScope } from './reset-scope.js';
import { vfioPciVfTokenUserAdd } from './sriov.js';

/** pci_clear_master(). */
function pciClearMaster(pdev: PciDev): void {
  const cmd = pciReadConfig(pdev, PCI_COMMAND, 2);
  if ((cmd & PCI_COMMAND_MASTER) !== 0) pciWriteConfig(pdev, PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MASTER);
}

/** pci_enable_device(): decoding on for the kinds of BARs the function has. */
function pciEnableDevice(pdev: PciDev): void {
  let want = 0;
  for (const r of pdev.resource.slice(0, 6)) {
    if ((r.flags & IORESOURCE_IO) !== 0) want |= PCI_COMMAND_IO;
    if ((r.flags & IORESOURCE_MEM) !== 0) want |= PCI_COMMAND_MEMORY;
  }
  const cmd = pciReadConfig(pdev, PCI_COMMAND, 2);
  if ((cmd & want) !== want) pciWriteConfig(pdev, PCI_COMMAND, 2, cmd | want);
}

/** The function's DMA as the device's IOMMU access sees it: user memory the container or IOAS maps. */
function dmaPortOf(vdev: VfioPciCoreDevice): PciDmaPort {
  return {
    read: (addr, buf) => vfioDmaRw(vdev, addr, buf, false),
    write: (addr, buf) => vfioDmaRw(vdev, addr, buf, true),
  };
}

/**
 * vfio_pci_core_enable() and vfio_pci_core_finish_enable(): bus mastering off, the function enabled and reset (a
 * failed reset only clears reset_works), its state saved for the close, INTx masking probed and unmasked, the
 * virtual config space built, the MSI-X table located. Then its interrupts and DMA come to this device.
 */
export function vfioPciCoreEnable(vdev: VfioPciCoreDevice): void {
  const pdev = pdevOf(vdev);
  pciClearMaster(pdev);
  pciEnableDevice(pdev);
  try {
    pciResetFunction(pdev);
    vdev.resetWorks = true;
  } catch (err) {
    if (!(err instanceof VfioError)) throw err;
    vdev.resetWorks = false;
  }
  vdev.pciSavedState = pciSaveState(pdev);
  vdev.nointx = false;
  vdev.pci23 = pciIntxMaskSupported(pdev);
  const cmd = pciReadConfig(pdev, PCI_COMMAND, 2);
  if (vdev.pci23 && (cmd & PCI_COMMAND_INTX_DISABLE) !== 0) pciWriteConfig(pdev, PCI_COMMAND, 2, cmd & ~PCI_COMMAND_INTX_DISABLE);
  try {
    vfioConfigInit(vdev);
  } catch (err) {
    vdev.pciSavedState = null;
    throw err;
  }
  const msixPos = pciFindCapability(pdev, PCI_CAP_ID_MSIX);
  if (msixPos !== 0) {
    const flags = pciReadConfig(pdev, msixPos + PCI_MSIX_FLAGS, 2);
    const table = pciReadConfig(pdev, msixPos + PCI_MSIX_TABLE, 4);
    vdev.msixBar = table & PCI_MSIX_TABLE_BIR;
    vdev.msixOffset = (table & PCI_MSIX_TABLE_OFFSET) >>> 0;
    vdev.msixSize = ((flags & PCI_MSIX_FLAGS_QSIZE) + 1) * 16;
  } else {
    vdev.msixBar = -1;
  }
  vdev.hasVga = !vdev.disableVga && vfioPciIsVga(pdev);
  // vfio_pci_core_finish_enable().
  vfioPciProbeMmaps(vdev);
  vfioPciSetInterruptSink(vdev, true);
  pciSetDmaPort(pdev, dmaPortOf(vdev));
  vfioPciVfTokenUserAdd(vdev, 1);
}

/** The vfio-pci members of the device's set (a set only ever holds devices of one kind of driver). */
function setMembers(vdev: VfioPciCoreDevice): VfioPciCoreDevice[] {
  return (vdev.devSet?.devices ?? []).filter((d): d is VfioPciCoreDevice => d instanceof VfioPciCoreDevice);
}

/** vfio_pci_dev_set_resettable(): a member whose slot or bus reset hits only members of the set. */
export function vfioPciDevSetResettable(vdev: VfioPciCoreDevice): PciDev | null {
  const members = setMembers(vdev);
  const first = members[0];
  if (first === undefined) return null;
  const pdev = pdevOf(first);
  const scope = vfioPciResetScope(pdev);
  if (scope === null) return null;
  for (const d of scope) if (!members.some((m) => m.pdev === d)) return null;
  return pdev;
}

/**
 * vfio_pci_dev_set_try_reset(): when no other member is open and one needs a reset (its function reset did not
 * work), reset the slot or bus; every member is clean after.
 */
function devSetTryReset(vdev: VfioPciCoreDevice): void {
  const set = vdev.devSet;
  if (set === null || deviceSetOpenCount(set) > 1) return;
  const members = setMembers(vdev);
  if (!members.some((m) => m.needsReset)) return;
  const pdev = vfioPciDevSetResettable(vdev);
  if (pdev === null) return;
  try {
    pciResetBus(pdev);
  } catch (err) {
    if (!(err instanceof VfioError)) throw err;
    return;
  }
  for (const m of members) m.needsReset = false;
}

/**
 * vfio_pci_core_disable() with vfio_pci_core_close_device(): D0, no bus mastering, every interrupt and ioeventfd
 * dropped, the saved state restored around a function reset (needs_reset stays set when none works), then the set
 * reset if that is what it takes. Called under the device set's lock.
 */
export function vfioPciCoreDisable(vdev: VfioPciCoreDevice): void {
  const pdev = pdevOf(vdev);
  // Balances the user added by the enable.
  vfioPciVfTokenUserAdd(vdev, -1);
  vfioPciRuntimePmExitAndResume(vdev);
  vfioPciSetPowerState(vdev, PCI_D0);
  pciClearMaster(pdev);
  vfioPciDisableIrqs(vdev);
  vfioPciIoeventfdsRelease(vdev);
  // Balances the sink and port installed by the enable.
  vfioPciSetInterruptSink(vdev, false);
  pciSetDmaPort(pdev, null);
  vdev.virqDisabled = false;
  vfioConfigFree(vdev);
  vdev.needsReset = true;
  const saved = vdev.pciSavedState ?? (vdev.resetWorks ? pciSaveState(pdev) : null);
  vdev.pciSavedState = null;
  if (saved !== null) {
    pciWriteConfig(pdev, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
    if (vdev.resetWorks) {
      try {
        pciResetFunctionLocked(pdev);
        vdev.needsReset = false;
      } catch (err) {
        if (!(err instanceof VfioError)) throw err;
      }
    }
    pciRestoreState(pdev, saved);
  }
  pciClearMaster(pdev);
  // close_device: the ERR and REQ triggers go with the last user.
  vdev.triggers.disableAll();
  devSetTryReset(vdev);
}
