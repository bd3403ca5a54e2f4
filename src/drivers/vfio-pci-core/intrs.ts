// VFIO_DEVICE_SET_IRQS for vfio-pci devices and the interrupt sink on the function (drivers/vfio/pci/vfio_pci_intrs.c
// vfio_pci_set_irqs_ioctl and its handlers, vfio_msi_enable/disable; vfio_pci_core.c vfio_pci_get_irq_count): the
// host side allocates MSI/MSI-X vectors on the function itself, the function's messages become eventfd signals.
import { pciBarWrite, pciReadConfig, pciSetInterruptSink, pciWriteConfig } from '../../hw/pci/pci-dev.js';
import type { PciDev } from '../../hw/pci/pci-dev.js';
import type { PciInterruptSink } from '../../hw/pci/function-irq.js';
import { signalEventfd, takeEventfd } from '../../emu/irq-triggers.js';
import { pciSetCtxTriggerSingle } from '../../emu/set-irqs.js';
import { close } from '../../native/index.js';
import { VfioError, check } from '../../uapi/errno.js';
import {
  VFIO_IRQ_SET_ACTION_MASK,
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_ACTION_TYPE_MASK,
  VFIO_IRQ_SET_ACTION_UNMASK,
  VFIO_IRQ_SET_DATA_BOOL,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_DATA_NONE,
  decodeVfioIrqSet,
  vfioIrqSetBools,
  vfioIrqSetDataType,
  vfioIrqSetEventfds,
  vfioSetIrqsValidateAndPrepare,
} from '../../uapi/irq-set.js';
import type { VfioIrqSet } from '../../uapi/irq-set.js';
import { VFIO_PCI_ERR_IRQ_INDEX, VFIO_PCI_INTX_IRQ_INDEX, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX, VFIO_PCI_NUM_IRQS, VFIO_PCI_REQ_IRQ_INDEX } from '../../uapi/irq-info.js';
import {
  PCI_CAP_ID_MSI,
  PCI_CAP_ID_MSIX,
  PCI_COMMAND,
  PCI_COMMAND_MEMORY,
  PCI_INTERRUPT_PIN,
  PCI_MSIX_ENTRY_CTRL_MASKBIT,
  PCI_MSIX_ENTRY_SIZE,
  PCI_MSIX_FLAGS,
  PCI_MSIX_FLAGS_ENABLE,
  PCI_MSIX_FLAGS_MASKALL,
  PCI_MSIX_FLAGS_QSIZE,
  PCI_MSIX_TABLE,
  PCI_MSIX_TABLE_BIR,
  PCI_MSIX_TABLE_OFFSET,
  PCI_MSI_ADDRESS_HI,
  PCI_MSI_ADDRESS_LO,
  PCI_MSI_DATA_32,
  PCI_MSI_DATA_64,
  PCI_MSI_FLAGS,
  PCI_MSI_FLAGS_64BIT,
  PCI_MSI_FLAGS_ENABLE,
  PCI_MSI_FLAGS_QMASK,
  PCI_MSI_FLAGS_QSIZE,
} from '../../uapi/pci-regs.js';
import { pciFindCapability } from '../../hw/pci/pci-dev.js';
import { pdevOf } from './core-device.js';
import type { VfioPciCoreDevice } from './core-device.js';
import { vfioIntxDisable, vfioIntxEnable, vfioIntxHandler, vfioIntxSetSignal, vfioPciIntxMask, vfioPciIntxUnmask, vfioSendIntxEventfd, pciIntx } from './intrs-intx.js';

/** Where the host's interrupt controller takes MSI writes (x86's 0xfee00000 window); data is the vector. */
const MSI_HOST_ADDRESS = 0xfee00000;

/** vfio_pci_get_irq_count(). */
export function vfioPciGetIrqCount(vdev: VfioPciCoreDevice, index: number): number {
  const pdev = pdevOf(vdev);
  switch (index) {
    case VFIO_PCI_INTX_IRQ_INDEX:
      if (vdev.nointx || pdev.isVirtfn) return 0;
      return pciReadConfig(pdev, PCI_INTERRUPT_PIN, 1) !== 0 ? 1 : 0;
    case VFIO_PCI_MSI_IRQ_INDEX: {
      const pos = pciFindCapability(pdev, PCI_CAP_ID_MSI);
      return pos === 0 ? 0 : 1 << ((pciReadConfig(pdev, pos + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_QMASK) >> 1);
    }
    case VFIO_PCI_MSIX_IRQ_INDEX: {
      const pos = pciFindCapability(pdev, PCI_CAP_ID_MSIX);
      return pos === 0 ? 0 : (pciReadConfig(pdev, pos + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE) + 1;
    }
    case VFIO_PCI_ERR_IRQ_INDEX:
      return pdev.isPcie ? 1 : 0;
    case VFIO_PCI_REQ_IRQ_INDEX:
      return 1;
    default:
      return 0;
  }
}

/**
 * The handler the device installs on its function while open: the INTx pin's rising level runs the INTx handler,
 * a message on an enabled vector signals that vector's eventfd.
 */
export function vfioPciInterruptSink(vdev: VfioPciCoreDevice): PciInterruptSink {
  return {
    intx: (asserted) => {
      if (asserted) vfioIntxHandler(vdev);
    },
    msi: (kind, vector) => {
      if (vdev.irqType === kind) signalEventfd(vdev.triggers.vectors[vector] ?? -1);
    },
  };
}

/** vfio_pci_memory_lock_and_enable(): memory decoding on for a host access to the function's BARs; returns the old COMMAND. */
export function vfioPciMemoryLockAndEnable(pdev: PciDev): number {
  const cmd = pciReadConfig(pdev, PCI_COMMAND, 2);
  if ((cmd & PCI_COMMAND_MEMORY) === 0) pciWriteConfig(pdev, PCI_COMMAND, 2, cmd | PCI_COMMAND_MEMORY);
  return cmd;
}

/** vfio_pci_memory_unlock_and_restore(). */
export function vfioPciMemoryUnlockAndRestore(pdev: PciDev, cmd: number): void {
  pciWriteConfig(pdev, PCI_COMMAND, 2, cmd);
}

/** Writes one dword of MSI-X table entry `v` through the table's BAR (what the host's MSI code does). */
function msixEntryWrite(pdev: PciDev, bar: number, tableOffset: number, v: number, field: number, value: number): void {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, value >>> 0, true);
  pciBarWrite(pdev, bar, tableOffset + v * PCI_MSIX_ENTRY_SIZE + field, b);
}

/** pci_alloc_irq_vectors() with PCI_IRQ_MSIX: table entries programmed and unmasked, then MSI-X enabled. */
function pciEnableMsix(pdev: PciDev, nvec: number): void {
  const pos = pciFindCapability(pdev, PCI_CAP_ID_MSIX);
  const flags = pciReadConfig(pdev, pos + PCI_MSIX_FLAGS, 2);
  pciWriteConfig(pdev, pos + PCI_MSIX_FLAGS, 2, flags | PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
  msixProgramEntries(pdev, nvec);
  pciWriteConfig(pdev, pos + PCI_MSIX_FLAGS, 2, (flags | PCI_MSIX_FLAGS_ENABLE) & ~PCI_MSIX_FLAGS_MASKALL);
}

/** The MSI-X table entries of the host's vectors (address, data, unmasked), as allocation and pci_restore_msi_state write them. */
function msixProgramEntries(pdev: PciDev, nvec: number): void {
  const pos = pciFindCapability(pdev, PCI_CAP_ID_MSIX);
  const table = pciReadConfig(pdev, pos + PCI_MSIX_TABLE, 4);
  const bar = table & PCI_MSIX_TABLE_BIR;
  const off = (table & PCI_MSIX_TABLE_OFFSET) >>> 0;
  for (let v = 0; v < nvec; v++) {
    msixEntryWrite(pdev, bar, off, v, 0, MSI_HOST_ADDRESS);
    msixEntryWrite(pdev, bar, off, v, 4, 0);
    msixEntryWrite(pdev, bar, off, v, 8, v);
    msixEntryWrite(pdev, bar, off, v, 12, 0);
  }
}

/** pci_restore_msi_state() for MSI-X after a function reset masked every entry. */
export function vfioPciRestoreMsixState(vdev: VfioPciCoreDevice): void {
  if (vdev.irqType !== 'msix') return;
  const pdev = pdevOf(vdev);
  const cmd = vfioPciMemoryLockAndEnable(pdev);
  try {
    msixProgramEntries(pdev, vdev.triggers.vectors.length);
  } finally {
    vfioPciMemoryUnlockAndRestore(pdev, cmd);
  }
}

/** pci_free_irq_vectors() for MSI-X: every entry masked, MSI-X off. */
function pciDisableMsix(pdev: PciDev): void {
  const pos = pciFindCapability(pdev, PCI_CAP_ID_MSIX);
  const flags = pciReadConfig(pdev, pos + PCI_MSIX_FLAGS, 2);
  const table = pciReadConfig(pdev, pos + PCI_MSIX_TABLE, 4);
  const n = (flags & PCI_MSIX_FLAGS_QSIZE) + 1;
  for (let v = 0; v < n; v++) msixEntryWrite(pdev, table & PCI_MSIX_TABLE_BIR, (table & PCI_MSIX_TABLE_OFFSET) >>> 0, v, 12, PCI_MSIX_ENTRY_CTRL_MASKBIT);
  pciWriteConfig(pdev, pos + PCI_MSIX_FLAGS, 2, flags & ~(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL));
}

/** pci_alloc_irq_vectors() with PCI_IRQ_MSI: address, data and Multiple Message Enable programmed, MSI enabled. */
function pciEnableMsi(pdev: PciDev, nvec: number): void {
  const pos = pciFindCapability(pdev, PCI_CAP_ID_MSI);
  const flags = pciReadConfig(pdev, pos + PCI_MSI_FLAGS, 2);
  const is64 = (flags & PCI_MSI_FLAGS_64BIT) !== 0;
  pciWriteConfig(pdev, pos + PCI_MSI_ADDRESS_LO, 4, MSI_HOST_ADDRESS);
  if (is64) pciWriteConfig(pdev, pos + PCI_MSI_ADDRESS_HI, 4, 0);
  pciWriteConfig(pdev, pos + (is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32), 2, 0);
  const qsize = Math.ceil(Math.log2(nvec));
  pciWriteConfig(pdev, pos + PCI_MSI_FLAGS, 2, (flags & ~PCI_MSI_FLAGS_QSIZE) | (qsize << 4) | PCI_MSI_FLAGS_ENABLE);
}

function pciDisableMsi(pdev: PciDev): void {
  const pos = pciFindCapability(pdev, PCI_CAP_ID_MSI);
  pciWriteConfig(pdev, pos + PCI_MSI_FLAGS, 2, pciReadConfig(pdev, pos + PCI_MSI_FLAGS, 2) & ~PCI_MSI_FLAGS_ENABLE);
}

/** vfio_msi_enable(): `nvec` vectors allocated on the function (memory decoding on for the MSI-X table writes). */
function vfioMsiEnable(vdev: VfioPciCoreDevice, nvec: number, msix: boolean): void {
  if (vdev.irqType !== 'none') throw new VfioError('EINVAL', `${msix ? 'MSI-X' : 'MSI'} enable while ${vdev.irqType} is enabled`);
  const pdev = pdevOf(vdev);
  const cmd = vfioPciMemoryLockAndEnable(pdev);
  try {
    if (msix) pciEnableMsix(pdev, nvec);
    else pciEnableMsi(pdev, nvec);
  } finally {
    vfioPciMemoryUnlockAndRestore(pdev, cmd);
  }
  vdev.triggers.vectors = new Array<number>(nvec).fill(-1);
  vdev.triggers.type = msix ? 'msix' : 'msi';
  // The PCI core now knows the vectors (msi descs): pci_restore_state rewrites them after any reset.
  if (msix) pdev.restoreMsiState = () => vfioPciRestoreMsixState(vdev);
  // msi_qmax = fls(nvec * 2 - 1) - 1: what the virtual Multiple Message Capable shows.
  if (!msix) vdev.msiQmax = Math.ceil(Math.log2(nvec));
}

/** vfio_msi_disable(). */
export function vfioMsiDisable(vdev: VfioPciCoreDevice, msix: boolean): void {
  const pdev = pdevOf(vdev);
  // Balances the restore hook installed with the vectors.
  pdev.restoreMsiState = null;
  vdev.triggers.clearVectors();
  const cmd = vfioPciMemoryLockAndEnable(pdev);
  try {
    if (msix) pciDisableMsix(pdev);
    else pciDisableMsi(pdev);
  } finally {
    vfioPciMemoryUnlockAndRestore(pdev, cmd);
  }
  if (vdev.nointx) pciIntx(pdev, false);
  vdev.triggers.type = 'none';
}

/** NONE, or BOOL with the first value true: "do it". */
function firstTrue(hdr: VfioIrqSet): boolean {
  return vfioIrqSetDataType(hdr) === VFIO_IRQ_SET_DATA_NONE || (vfioIrqSetDataType(hdr) === VFIO_IRQ_SET_DATA_BOOL && vfioIrqSetBools(hdr)[0] === true);
}

/** vfio_pci_set_intx_mask(). */
function setIntxMask(vdev: VfioPciCoreDevice, hdr: VfioIrqSet): void {
  check(vdev.irqType === 'intx' && hdr.start === 0 && hdr.count === 1, 'EINVAL', 'INTx mask needs INTx enabled, start 0, count 1');
  if (vfioIrqSetDataType(hdr) === VFIO_IRQ_SET_DATA_EVENTFD) throw new VfioError('ENOTTY', 'INTx mask eventfd is not supported');
  if (firstTrue(hdr)) vfioPciIntxMask(vdev);
}

/** vfio_pci_set_intx_unmask(): EVENTFD installs an irqfd that unmasks when signalled (-1 removes it). */
function setIntxUnmask(vdev: VfioPciCoreDevice, hdr: VfioIrqSet): void {
  check(vdev.irqType === 'intx' && hdr.start === 0 && hdr.count === 1, 'EINVAL', 'INTx unmask needs INTx enabled, start 0, count 1');
  if (vfioIrqSetDataType(hdr) === VFIO_IRQ_SET_DATA_EVENTFD) {
    const fd = vfioIrqSetEventfds(hdr)[0] ?? -1;
    if (fd >= 0) {
      check(!vdev.triggers.hasUnmaskFd, 'EBUSY', 'an INTx unmask eventfd is already set');
      vdev.triggers.setUnmaskFd(takeEventfd(fd));
    } else {
      vdev.triggers.clearUnmaskFd();
    }
    return;
  }
  if (firstTrue(hdr)) vfioPciIntxUnmask(vdev);
}

/** vfio_pci_set_intx_trigger(). */
function setIntxTrigger(vdev: VfioPciCoreDevice, hdr: VfioIrqSet): void {
  const type = vfioIrqSetDataType(hdr);
  if (vdev.irqType === 'intx' && hdr.count === 0 && type === VFIO_IRQ_SET_DATA_NONE) {
    vfioIntxDisable(vdev);
    return;
  }
  check((vdev.irqType === 'intx' || vdev.irqType === 'none') && hdr.start === 0 && hdr.count === 1, 'EINVAL', 'INTx trigger needs start 0, count 1 and no MSI/MSI-X');
  if (type === VFIO_IRQ_SET_DATA_EVENTFD) {
    const fd = vfioIrqSetEventfds(hdr)[0] ?? -1;
    const taken = fd >= 0 ? takeEventfd(fd) : -1;
    if (vdev.irqType !== 'intx') {
      try {
        vfioIntxEnable(vdev);
      } catch (err) {
        // Balances the takeEventfd above: nothing holds the dup yet.
        if (taken >= 0) close(taken);
        throw err;
      }
    }
    vfioIntxSetSignal(vdev, taken);
    return;
  }
  check(vdev.irqType === 'intx', 'EINVAL', 'INTx loopback with INTx disabled');
  if (firstTrue(hdr)) vfioSendIntxEventfd(vdev);
}

/** vfio_pci_set_msi_trigger(). */
function setMsiTrigger(vdev: VfioPciCoreDevice, hdr: VfioIrqSet): void {
  const msix = hdr.index === VFIO_PCI_MSIX_IRQ_INDEX;
  const kind = msix ? 'msix' : 'msi';
  const type = vfioIrqSetDataType(hdr);
  if (vdev.irqType === kind && hdr.count === 0 && type === VFIO_IRQ_SET_DATA_NONE) {
    vfioMsiDisable(vdev, msix);
    return;
  }
  check(vdev.irqType === kind || vdev.irqType === 'none', 'EINVAL', `${kind} trigger while ${vdev.irqType} is enabled`);
  if (type === VFIO_IRQ_SET_DATA_EVENTFD) {
    const fds = vfioIrqSetEventfds(hdr);
    if (vdev.irqType === kind) {
      vdev.triggers.setVectorBlock(hdr.start, fds);
      return;
    }
    vfioMsiEnable(vdev, hdr.start + hdr.count, msix);
    try {
      vdev.triggers.setVectorBlock(hdr.start, fds);
    } catch (err) {
      vfioMsiDisable(vdev, msix);
      throw err;
    }
    return;
  }
  check(vdev.irqType === kind, 'EINVAL', `${kind} loopback with ${kind} disabled`);
  const bools = type === VFIO_IRQ_SET_DATA_BOOL ? vfioIrqSetBools(hdr) : null;
  for (let i = hdr.start; i < hdr.start + hdr.count; i++) {
    if (bools === null || bools[i - hdr.start] === true) signalEventfd(vdev.triggers.vectors[i] ?? -1);
  }
}

/** vfio_pci_set_err_trigger / vfio_pci_set_req_trigger (vfio_pci_set_ctx_trigger_single, shared with emu). */
function setSingleTrigger(vdev: VfioPciCoreDevice, hdr: VfioIrqSet): void {
  pciSetCtxTriggerSingle(vdev.triggers, hdr);
}

type Handler = (vdev: VfioPciCoreDevice, hdr: VfioIrqSet) => void;

function pickHandler(index: number, action: number): Handler | undefined {
  switch (index) {
    case VFIO_PCI_INTX_IRQ_INDEX:
      if (action === VFIO_IRQ_SET_ACTION_MASK) return setIntxMask;
      if (action === VFIO_IRQ_SET_ACTION_UNMASK) return setIntxUnmask;
      return action === VFIO_IRQ_SET_ACTION_TRIGGER ? setIntxTrigger : undefined;
    case VFIO_PCI_MSI_IRQ_INDEX:
    case VFIO_PCI_MSIX_IRQ_INDEX:
      // MSI/MSI-X masking through SET_IRQS: the kernel's "XXX Need masking support exported".
      return action === VFIO_IRQ_SET_ACTION_TRIGGER ? setMsiTrigger : undefined;
    case VFIO_PCI_ERR_IRQ_INDEX:
    case VFIO_PCI_REQ_IRQ_INDEX:
      return action === VFIO_IRQ_SET_ACTION_TRIGGER ? setSingleTrigger : undefined;
    default:
      return undefined;
  }
}

/** vfio_pci_ioctl_set_irqs(): validated against the function's counts, then the index's handler; ENOTTY for none. */
export function vfioPciIoctlSetIrqs(vdev: VfioPciCoreDevice, arg: Uint8Array): number {
  const hdr = decodeVfioIrqSet(arg);
  vfioSetIrqsValidateAndPrepare(hdr, hdr.index < VFIO_PCI_NUM_IRQS ? vfioPciGetIrqCount(vdev, hdr.index) : 0, VFIO_PCI_NUM_IRQS);
  const handler = pickHandler(hdr.index, hdr.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK);
  if (handler === undefined) throw new VfioError('ENOTTY', `SET_IRQS action 0x${(hdr.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK).toString(16)} on index ${hdr.index}`);
  handler(vdev, hdr);
  return 0;
}

/** vfio_pci_set_irqs_ioctl(DATA_NONE | TRIGGER, irq_type, 0, 0) as the disable path uses it: the index off. */
export function vfioPciDisableIrqs(vdev: VfioPciCoreDevice): void {
  const type = vdev.irqType;
  if (type === 'intx') vfioIntxDisable(vdev);
  else if (type === 'msi' || type === 'msix') vfioMsiDisable(vdev, type === 'msix');
}

/** Installs the device's interrupt handling on its function (request_irq), or removes it. */
export function vfioPciSetInterruptSink(vdev: VfioPciCoreDevice, on: boolean): void {
  pciSetInterruptSink(pdevOf(vdev), on ? vfioPciInterruptSink(vdev) : null);
}
