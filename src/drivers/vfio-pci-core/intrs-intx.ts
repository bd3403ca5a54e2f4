// INTx of a vfio-pci device (drivers/vfio/pci/vfio_pci_intrs.c vfio_intx_handler, vfio_pci_intx_mask,
// vfio_pci_intx_unmask, vfio_intx_enable/disable, vfio_send_intx_eventfd): the level interrupt is masked at the
// function with PCI_COMMAND's INTx Disable (PCI 2.3 masking) when it fires, and the user unmasks it once serviced.
import { pciReadConfig, pciWriteConfig } from '../../hw/pci/pci-dev.js';
import type { PciDev } from '../../hw/pci/pci-dev.js';
import { signalEventfd } from '../../emu/irq-triggers.js';
import { VfioError } from '../../uapi/errno.js';
import { PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, PCI_STATUS, PCI_STATUS_INTERRUPT } from '../../uapi/pci-regs.js';
import { pdevOf } from './core-device.js';
import type { VfioPciCoreDevice } from './core-device.js';

/** pci_intx(): INTx Disable cleared (`enable`) or set in the function's COMMAND. */
export function pciIntx(pdev: PciDev, enable: boolean): void {
  const cmd = pciReadConfig(pdev, PCI_COMMAND, 2);
  const next = enable ? cmd & ~PCI_COMMAND_INTX_DISABLE : cmd | PCI_COMMAND_INTX_DISABLE;
  if (next !== cmd) pciWriteConfig(pdev, PCI_COMMAND, 2, next);
}

/**
 * pci_intx_mask_supported(): INTx Disable can be toggled (and so masks the pin). Probed on a closed device, as
 * vfio_pci_core_enable does, leaving COMMAND as it found it.
 */
export function pciIntxMaskSupported(pdev: PciDev): boolean {
  const orig = pciReadConfig(pdev, PCI_COMMAND, 2);
  pciWriteConfig(pdev, PCI_COMMAND, 2, orig ^ PCI_COMMAND_INTX_DISABLE);
  const toggled = pciReadConfig(pdev, PCI_COMMAND, 2);
  pciWriteConfig(pdev, PCI_COMMAND, 2, orig);
  return ((toggled ^ orig) & PCI_COMMAND_INTX_DISABLE) !== 0;
}

/**
 * __pci_check_and_mask_intx(): masks (or unmasks) only when the function's interrupt status agrees: masking when it
 * is asserting, unmasking when it is not. Returns whether COMMAND changed hands that way.
 */
function pciCheckAndMaskIntx(pdev: PciDev, mask: boolean): boolean {
  const pending = (pciReadConfig(pdev, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT) !== 0;
  if (mask !== pending) return false;
  pciIntx(pdev, !mask);
  return true;
}

/** vfio_send_intx_eventfd(): nothing while the user has INTx disabled in the virtual COMMAND. */
export function vfioSendIntxEventfd(vdev: VfioPciCoreDevice): void {
  if (vdev.irqType === 'intx' && !vdev.virqDisabled) signalEventfd(vdev.triggers.intxTrigger);
}

/** vfio_intx_handler(): the pin rose; mask it at the function and tell the user. */
export function vfioIntxHandler(vdev: VfioPciCoreDevice): void {
  if (vdev.irqType !== 'intx') return;
  const pdev = pdevOf(vdev);
  if (!vdev.pci23) {
    vdev.intxMasked = true;
  } else if (vdev.intxMasked || !pciCheckAndMaskIntx(pdev, true)) {
    return;
  }
  vdev.intxMasked = true;
  vfioSendIntxEventfd(vdev);
}

/**
 * vfio_pci_intx_mask(): from SET_IRQS MASK or the virtual INTx Disable. Outside INTx the physical bit just follows
 * the virtual one. Returns whether the mask changed.
 */
export function vfioPciIntxMask(vdev: VfioPciCoreDevice): boolean {
  const pdev = pdevOf(vdev);
  if (vdev.irqType !== 'intx') {
    if (vdev.pci23) pciIntx(pdev, false);
    return false;
  }
  if (vdev.intxMasked) return false;
  if (vdev.pci23) pciIntx(pdev, false);
  vdev.intxMasked = true;
  return true;
}

/** vfio_pci_intx_unmask_handler(): 1 when the function still asserts (it stays masked and the user hears again). */
function intxUnmaskHandler(vdev: VfioPciCoreDevice): number {
  const pdev = pdevOf(vdev);
  if (vdev.irqType !== 'intx') {
    if (vdev.pci23) pciIntx(pdev, true);
    return 0;
  }
  let ret = 0;
  if (vdev.intxMasked && !vdev.virqDisabled) {
    if (vdev.pci23 && !pciCheckAndMaskIntx(pdev, false)) ret = 1;
    vdev.intxMasked = ret > 0;
  }
  return ret;
}

/** vfio_pci_intx_unmask(): from SET_IRQS UNMASK, the unmask eventfd or the virtual INTx Disable cleared. */
export function vfioPciIntxUnmask(vdev: VfioPciCoreDevice): void {
  if (intxUnmaskHandler(vdev) > 0) vfioSendIntxEventfd(vdev);
}

/** vfio_intx_enable(): INTx becomes the interrupt index, masked if the user has INTx disabled. ENODEV without a pin. */
export function vfioIntxEnable(vdev: VfioPciCoreDevice): void {
  if (vdev.irqType !== 'none') throw new VfioError('EINVAL', `INTx enable while ${vdev.irqType} is enabled`);
  const pdev = pdevOf(vdev);
  if (pdev.irq === 0) throw new VfioError('ENODEV', `${pdev.bdf} has no INTx line`);
  vdev.intxMasked = vdev.virqDisabled;
  if (vdev.pci23) pciIntx(pdev, !vdev.intxMasked);
  vdev.triggers.type = 'intx';
}

/**
 * vfio_intx_set_signal(): the trigger becomes `fd` (already taken; -1 none). Installing a trigger while the pin is
 * already asserted delivers it, as request_irq on a level interrupt would.
 */
export function vfioIntxSetSignal(vdev: VfioPciCoreDevice, fd: number): void {
  vdev.triggers.setIntxTrigger(fd);
  if (fd < 0) return;
  const pdev = pdevOf(vdev);
  const cmd = pciReadConfig(pdev, PCI_COMMAND, 2);
  const asserting = (pciReadConfig(pdev, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT) !== 0 && (cmd & PCI_COMMAND_INTX_DISABLE) === 0;
  if (asserting) vfioIntxHandler(vdev);
}

/** vfio_intx_disable(): the unmask irqfd and the trigger dropped, no index enabled. */
export function vfioIntxDisable(vdev: VfioPciCoreDevice): void {
  vdev.triggers.clearUnmaskFd();
  vdev.triggers.setIntxTrigger(-1);
  vdev.intxMasked = false;
  vdev.triggers.type = 'none';
}
