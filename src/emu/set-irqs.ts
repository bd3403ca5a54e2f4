// VFIO_DEVICE_SET_IRQS for emulated PCI devices: vfio_pci_ioctl_set_irqs and vfio_pci_set_irqs_ioctl with the
// INTx/MSI/ERR/REQ handlers of drivers/vfio/pci/vfio_pci_intrs.c, returning EINVAL/ENOTTY where they do.
import { VfioError, check } from '../uapi/errno.js';
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
} from '../uapi/irq-set.js';
import type { VfioIrqSet } from '../uapi/irq-set.js';
import {
  VFIO_PCI_ERR_IRQ_INDEX,
  VFIO_PCI_INTX_IRQ_INDEX,
  VFIO_PCI_MSIX_IRQ_INDEX,
  VFIO_PCI_MSI_IRQ_INDEX,
  VFIO_PCI_NUM_IRQS,
  VFIO_PCI_REQ_IRQ_INDEX,
} from '../uapi/irq-info.js';
import {
  PCI_MSIX_FLAGS,
  PCI_MSIX_FLAGS_ENABLE,
  PCI_MSI_FLAGS,
  PCI_MSI_FLAGS_ENABLE,
  PCI_MSI_FLAGS_QSIZE,
} from '../uapi/pci-regs.js';
import type { PciIrqKind } from '../pci/irq.js';
import { signalEventfd, takeEventfd } from './irq-triggers.js';
import type { PciEmuIrqTriggers } from './irq-triggers.js';
import type { VfioPciEmuDevice } from './pci-emu-device.js';

type SetIrqsHandler = (dev: VfioPciEmuDevice, hdr: VfioIrqSet) => void;

/** VFIO_DEVICE_SET_IRQS on `arg` (the user's struct vfio_irq_set with its data). */
export function pciEmuSetIrqs(dev: VfioPciEmuDevice, arg: Uint8Array): number {
  const hdr = decodeVfioIrqSet(arg);
  vfioSetIrqsValidateAndPrepare(hdr, hdr.index < VFIO_PCI_NUM_IRQS ? dev.irqCount(hdr.index) : 0, VFIO_PCI_NUM_IRQS);
  const handler = pickHandler(hdr.index, hdr.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK);
  if (handler === undefined) throw new VfioError('ENOTTY', `SET_IRQS: no action 0x${(hdr.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK).toString(16)} on index ${hdr.index}`);
  handler(dev, hdr);
  return 0;
}

/** vfio_pci_set_irqs_ioctl's table; MSI/MSI-X masking is not supported (the kernel's "XXX Need masking support"). */
function pickHandler(index: number, action: number): SetIrqsHandler | undefined {
  switch (index) {
    case VFIO_PCI_INTX_IRQ_INDEX:
      if (action === VFIO_IRQ_SET_ACTION_MASK) return setIntxMask;
      if (action === VFIO_IRQ_SET_ACTION_UNMASK) return setIntxUnmask;
      if (action === VFIO_IRQ_SET_ACTION_TRIGGER) return setIntxTrigger;
      return undefined;
    case VFIO_PCI_MSI_IRQ_INDEX:
    case VFIO_PCI_MSIX_IRQ_INDEX:
      return action === VFIO_IRQ_SET_ACTION_TRIGGER ? setMsiTrigger : undefined;
    case VFIO_PCI_ERR_IRQ_INDEX:
    case VFIO_PCI_REQ_IRQ_INDEX:
      return action === VFIO_IRQ_SET_ACTION_TRIGGER ? setSingleTrigger : undefined;
    default:
      return undefined;
  }
}

function firstBool(hdr: VfioIrqSet): boolean {
  return vfioIrqSetBools(hdr)[0] ?? false;
}

function firstFd(hdr: VfioIrqSet): number {
  return vfioIrqSetEventfds(hdr)[0] ?? -1;
}

function checkIntxSingle(dev: VfioPciEmuDevice, hdr: VfioIrqSet): void {
  check(dev.triggers.type === 'intx' && hdr.start === 0 && hdr.count === 1, 'EINVAL', 'INTx mask/unmask needs INTx enabled, start 0, count 1');
}

/** vfio_pci_set_intx_mask. */
function setIntxMask(dev: VfioPciEmuDevice, hdr: VfioIrqSet): void {
  checkIntxSingle(dev, hdr);
  const type = vfioIrqSetDataType(hdr);
  if (type === VFIO_IRQ_SET_DATA_EVENTFD) throw new VfioError('ENOTTY', 'INTx mask eventfd is not supported');
  if (type === VFIO_IRQ_SET_DATA_NONE || firstBool(hdr)) dev.irqOf().maskIntx();
}

/** vfio_pci_set_intx_unmask: NONE/BOOL unmask now; EVENTFD installs an irqfd that unmasks when signalled (-1 removes it). */
function setIntxUnmask(dev: VfioPciEmuDevice, hdr: VfioIrqSet): void {
  checkIntxSingle(dev, hdr);
  const type = vfioIrqSetDataType(hdr);
  if (type === VFIO_IRQ_SET_DATA_EVENTFD) {
    const fd = firstFd(hdr);
    if (fd >= 0) {
      // vfio_virqfd_enable refuses a second irqfd on the same slot.
      check(!dev.triggers.hasUnmaskFd, 'EBUSY', 'an INTx unmask eventfd is already set');
      dev.triggers.setUnmaskFd(takeEventfd(fd));
    } else {
      dev.triggers.clearUnmaskFd();
    }
    return;
  }
  if (type === VFIO_IRQ_SET_DATA_NONE || firstBool(hdr)) dev.irqOf().unmaskIntx();
}

/** vfio_intx_disable: drops the irqfd and the trigger. */
function intxDisable(dev: VfioPciEmuDevice): void {
  dev.triggers.clearUnmaskFd();
  dev.triggers.setIntxTrigger(-1);
  dev.triggers.type = 'none';
}

/** vfio_pci_set_intx_trigger. */
function setIntxTrigger(dev: VfioPciEmuDevice, hdr: VfioIrqSet): void {
  const t = dev.triggers;
  const type = vfioIrqSetDataType(hdr);
  if (t.type === 'intx' && hdr.count === 0 && type === VFIO_IRQ_SET_DATA_NONE) {
    intxDisable(dev);
    return;
  }
  check((t.type === 'intx' || t.type === 'none') && hdr.start === 0 && hdr.count === 1, 'EINVAL', 'INTx trigger needs start 0, count 1 and no MSI/MSI-X enabled');
  if (type === VFIO_IRQ_SET_DATA_EVENTFD) {
    const fd = firstFd(hdr);
    const trigger = fd >= 0 ? takeEventfd(fd) : -1;
    if (t.type === 'intx') {
      t.setIntxTrigger(trigger);
      return;
    }
    // vfio_intx_enable: INTx on, unmasked; a line already asserted fires at once.
    t.setIntxTrigger(trigger);
    t.type = 'intx';
    const irq = dev.irqOf();
    irq.setIrqIndex('intx');
    irq.unmaskIntx();
    return;
  }
  check(t.type === 'intx', 'EINVAL', 'INTx loopback trigger with INTx disabled');
  // Loopback: signals without touching the mask (vfio_send_intx_eventfd).
  if (type === VFIO_IRQ_SET_DATA_NONE || firstBool(hdr)) signalEventfd(t.intxTrigger);
}

function kindOf(index: number): PciIrqKind {
  return index === VFIO_PCI_MSIX_IRQ_INDEX ? 'msix' : 'msi';
}

/** vfio_msi_enable: the function's MSI/MSI-X goes on with `nvec` vectors (as pci_alloc_irq_vectors does to hardware). */
function msiEnable(dev: VfioPciEmuDevice, kind: PciIrqKind, nvec: number): void {
  const t = dev.triggers;
  t.type = kind;
  t.vectors = new Array<number>(nvec).fill(-1);
  const c = dev.config;
  if (kind === 'msi' && dev.msiCap !== null) {
    const at = dev.msiCap.offset + PCI_MSI_FLAGS;
    // msi_qmax = fls(nvec * 2 - 1) - 1: the power of two covering nvec.
    const qmax = Math.ceil(Math.log2(nvec));
    c.setWord(at, (c.getWord(at) & ~PCI_MSI_FLAGS_QSIZE) | (qmax << 4) | PCI_MSI_FLAGS_ENABLE);
  } else if (kind === 'msix' && dev.msixCap !== null) {
    c.setBits(dev.msixCap.offset + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE, true);
  }
  dev.irqOf().setIrqIndex(kind);
}

/** vfio_msi_disable: every vector trigger dropped, the function's MSI/MSI-X off. */
function msiDisable(dev: VfioPciEmuDevice, kind: PciIrqKind): void {
  const t = dev.triggers;
  t.clearVectors();
  t.type = 'none';
  if (kind === 'msi' && dev.msiCap !== null) dev.config.setBits(dev.msiCap.offset + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE, false);
  else if (kind === 'msix' && dev.msixCap !== null) dev.config.setBits(dev.msixCap.offset + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE, false);
  dev.irqOf().setIrqIndex('intx');
}

/** vfio_pci_set_msi_trigger. */
function setMsiTrigger(dev: VfioPciEmuDevice, hdr: VfioIrqSet): void {
  const t = dev.triggers;
  const kind = kindOf(hdr.index);
  const type = vfioIrqSetDataType(hdr);
  if (t.type === kind && hdr.count === 0 && type === VFIO_IRQ_SET_DATA_NONE) {
    msiDisable(dev, kind);
    return;
  }
  check(t.type === kind || t.type === 'none', 'EINVAL', `${kind} trigger while ${t.type} is enabled`);
  if (type === VFIO_IRQ_SET_DATA_EVENTFD) {
    const fds = vfioIrqSetEventfds(hdr);
    if (t.type === kind) {
      dev.triggers.setVectorBlock(hdr.start, fds);
      return;
    }
    msiEnable(dev, kind, hdr.start + hdr.count);
    try {
      dev.triggers.setVectorBlock(hdr.start, fds);
    } catch (err) {
      msiDisable(dev, kind);
      throw err;
    }
    return;
  }
  check(t.type === kind, 'EINVAL', `${kind} loopback trigger with ${kind} disabled`);
  const bools = type === VFIO_IRQ_SET_DATA_BOOL ? vfioIrqSetBools(hdr) : null;
  for (let i = hdr.start; i < hdr.start + hdr.count; i++) {
    const fd = t.vectors[i] ?? -1;
    if (fd < 0) continue;
    if (bools === null || bools[i - hdr.start] === true) signalEventfd(fd);
  }
}

/** vfio_pci_set_err_trigger / vfio_pci_set_req_trigger over vfio_pci_set_ctx_trigger_single. */
function setSingleTrigger(dev: VfioPciEmuDevice, hdr: VfioIrqSet): void {
  pciSetCtxTriggerSingle(dev.triggers, hdr);
}

/**
 * vfio_pci_set_ctx_trigger_single() for the ERR or REQ index of `t` (the emulated devices' and vfio-pci-core's):
 * DATA_NONE signals (count 1) or releases (count 0), DATA_BOOL signals when true, DATA_EVENTFD sets (-1 releases).
 */
export function pciSetCtxTriggerSingle(t: PciEmuIrqTriggers, hdr: VfioIrqSet): void {
  check(hdr.start === 0 && hdr.count <= 1, 'EINVAL', 'ERR/REQ trigger needs start 0 and count <= 1');
  const isErr = hdr.index === VFIO_PCI_ERR_IRQ_INDEX;
  const cur = isErr ? t.errTrigger : t.reqTrigger;
  const set = (fd: number): void => (isErr ? t.setErrTrigger(fd) : t.setReqTrigger(fd));
  const type = vfioIrqSetDataType(hdr);
  if (type === VFIO_IRQ_SET_DATA_NONE) {
    // DATA_NONE/DATA_BOOL allow loopback testing; NONE with count 0 releases the trigger.
    check(cur >= 0, 'EINVAL', 'no trigger to signal or release');
    if (hdr.count !== 0) signalEventfd(cur);
    else set(-1);
    return;
  }
  check(hdr.count !== 0, 'EINVAL', 'ERR/REQ BOOL/EVENTFD needs count 1');
  if (type === VFIO_IRQ_SET_DATA_BOOL) {
    if (firstBool(hdr) && cur >= 0) signalEventfd(cur);
    return;
  }
  const fd = firstFd(hdr);
  if (fd === -1) set(-1);
  else if (fd >= 0) set(takeEventfd(fd));
}

/** Closes every trigger dup (vfio_pci_core_disable on the last close); the INTx line state is kept. */
export function pciEmuDisableIrqs(dev: VfioPciEmuDevice): void {
  const kind = dev.triggers.type;
  if (kind === 'msi' || kind === 'msix') msiDisable(dev, kind);
  dev.triggers.disableAll();
  dev.pciIrq?.setIrqIndex('intx');
}

