// What a host driver uses to talk to a QM through its BAR2 (drivers/crypto/hisilicon/qm.c hisi_qm_mb,
// hisi_qm_wait_mb_ready, qm_set_vft_common; the readl/writel of an ioremapped BAR). The PF drivers here and the
// hisi-acc-vfio-pci variant driver both use it, as the kernel's hisi_acc_vfio_pci calls qm.c's exports.
import { VfioError } from '../../uapi/errno.js';
import { pciBarRead, pciBarWrite } from '../pci/pci-dev.js';
import type { PciDev } from '../pci/pci-dev.js';
import * as R from './qm-regs.js';

/** readl() of the QM BAR. */
export function qmReadl(pdev: PciDev, off: number): number {
  const b = new Uint8Array(4);
  pciBarRead(pdev, R.QM_BAR, off, b);
  return new DataView(b.buffer).getUint32(0, true);
}

/** writel() of the QM BAR. */
export function qmWritel(pdev: PciDev, off: number, v: number): void {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  pciBarWrite(pdev, R.QM_BAR, off, b);
}

/** writeq() of the QM BAR: the low dword, then the high one (a doorbell acts on the second). */
export function qmWriteq(pdev: PciDev, off: number, v: bigint): void {
  qmWritel(pdev, off, Number(v & 0xffffffffn));
  qmWritel(pdev, off + 4, Number((v >> 32n) & 0xffffffffn));
}

/** hisi_qm_wait_mb_ready(): EBUSY while the mailbox still runs a command. */
export function hisiQmWaitMbReady(pdev: PciDev): void {
  if ((qmReadl(pdev, R.QM_MB_CMD_SEND_BASE) & (1 << R.QM_MB_BUSY_SHIFT)) !== 0) throw new VfioError('EBUSY', `${pdev.bdf}: QM mailbox busy`);
}

/**
 * hisi_qm_mb(): one mailbox command on the QM of `pdev` (`read` is the op bit). EBUSY when the mailbox is busy,
 * EIO when the QM refuses the command. A read's result is in QM_MB_CMD_DATA_ADDR_L/H, returned here.
 */
export function hisiQmMb(pdev: PciDev, cmd: number, dmaAddr: bigint, queue: number, read: boolean): bigint {
  hisiQmWaitMbReady(pdev);
  qmWritel(pdev, R.QM_MB_CMD_DATA_ADDR_L, Number(dmaAddr & 0xffffffffn));
  qmWritel(pdev, R.QM_MB_CMD_DATA_ADDR_H, Number((dmaAddr >> 32n) & 0xffffffffn));
  qmWritel(pdev, R.QM_MB_CMD_SEND_BASE + 12, 0);
  const w0 = cmd | ((read ? 1 : 0) << R.QM_MB_OP_SHIFT) | (1 << R.QM_MB_BUSY_SHIFT);
  qmWritel(pdev, R.QM_MB_CMD_SEND_BASE, (w0 | ((queue & 0xffff) << 16)) >>> 0);
  const done = qmReadl(pdev, R.QM_MB_CMD_SEND_BASE);
  if ((done & (1 << R.QM_MB_BUSY_SHIFT)) !== 0) throw new VfioError('ETIMEDOUT', `${pdev.bdf}: QM mailbox command ${cmd} did not finish`);
  if ((done & R.QM_MB_STATUS_MASK) !== 0) throw new VfioError('EIO', `${pdev.bdf}: QM refused mailbox command ${cmd}`);
  return read ? (BigInt(qmReadl(pdev, R.QM_MB_CMD_DATA_ADDR_H)) << 32n) | BigInt(qmReadl(pdev, R.QM_MB_CMD_DATA_ADDR_L)) : 0n;
}

/** Polls QM_VFT_CFG_RDY (the readl_relaxed_poll_timeout of qm_set_vft_common): ETIMEDOUT if never ready. */
function vftWaitReady(pf: PciDev): void {
  if ((qmReadl(pf, R.QM_VFT_CFG_RDY) & 1) === 0) throw new VfioError('ETIMEDOUT', `${pf.bdf}: QM VFT not ready`);
}

/** qm_set_vft_common(): writes the `type` VFT word of function `fun` through the PF's QM_VFT_CFG registers. */
export function qmSetVft(pf: PciDev, type: number, fun: number, data: bigint): void {
  vftWaitReady(pf);
  qmWritel(pf, R.QM_VFT_CFG_OP_WR, 0);
  qmWritel(pf, R.QM_VFT_CFG_TYPE, type);
  qmWritel(pf, R.QM_VFT_CFG, fun);
  qmWritel(pf, R.QM_VFT_CFG_DATA_L, Number(data & 0xffffffffn));
  qmWritel(pf, R.QM_VFT_CFG_DATA_H, Number(data >> 32n));
  qmWritel(pf, R.QM_VFT_CFG_RDY, 0);
  qmWritel(pf, R.QM_VFT_CFG_OP_ENABLE, 1);
  vftWaitReady(pf);
}

/** The read half of qm_set_vft_common (pf_qm_get_qp_num's register dance): function `fun`'s SQC VFT word. */
export function qmGetVft(pf: PciDev, fun: number): bigint {
  vftWaitReady(pf);
  qmWritel(pf, R.QM_VFT_CFG_OP_WR, 1);
  qmWritel(pf, R.QM_VFT_CFG_TYPE, R.SQC_VFT);
  qmWritel(pf, R.QM_VFT_CFG, fun);
  qmWritel(pf, R.QM_VFT_CFG_RDY, 0);
  qmWritel(pf, R.QM_VFT_CFG_OP_ENABLE, 1);
  vftWaitReady(pf);
  return (BigInt(qmReadl(pf, R.QM_VFT_CFG_DATA_H)) << 32n) | BigInt(qmReadl(pf, R.QM_VFT_CFG_DATA_L));
}
