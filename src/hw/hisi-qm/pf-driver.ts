// The host's PF drivers of the accelerators (drivers/crypto/hisilicon/zip/zip_main.c, sec2/sec_main.c,
// hpre/hpre_main.c over qm.c): probe makes the PF's struct hisi_qm (its drvdata) and gives the PF its queue pairs;
// sriov_configure shares the rest among the VFs (qm_vf_q_assign, hisi_qm_set_vft) before enabling them
// (hisi_qm_sriov_enable / _disable). hisi_{zip,sec,hpre}_get_pf_driver() and pci_iov_get_pf_drvdata() are how the
// vfio variant driver finds a VF's PF QM. The drivers' crypto algorithms and the PF's own queues are not here.
import type { Host } from '../../base/host.js';
import { VfioError } from '../../uapi/errno.js';
import { PCI_COMMAND, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY } from '../../uapi/pci-regs.js';
import type { PciDriver } from '../pci/pci-bus-type.js';
import { pciReadConfig, pciWriteConfig } from '../pci/pci-dev.js';
import type { PciDev } from '../pci/pci-dev.js';
import { pciDriverOf, pciRegisterDriver, pciUnregisterDriver } from '../pci/pci-driver.js';
import { pciDisableSriov, pciEnableSriov } from '../pci/iov.js';
import { qmReadl, qmSetVft } from './qm-io.js';
import * as R from './qm-regs.js';
import type { HisiAccKind } from './qm-regs.js';

/** pf_q_num: the queue pairs a PF keeps for itself (the kernel's module parameter, scaled to this model's QMs). */
export const HISI_QM_PF_Q_NUM = 16;

/** struct hisi_qm of a PF driver: its version, its function, and how its queues are shared. */
export class HisiQm {
  /** VFs enabled (qm->vfs_num). */
  vfsNum = 0;

  constructor(
    readonly pdev: PciDev,
    readonly kind: R.HisiAccKind,
    /** enum qm_hw_ver (the PF's revision). */
    readonly ver: number,
    /** Queue pairs of the whole QM (qm->ctrl_qp_num). */
    readonly ctrlQpNum: number,
    /** The PF's own queue pairs (qm->qp_num, from 0). */
    readonly qpNum: number,
  ) {}
}

/** hisi_qm_set_vft(): the SQC and CQC VFTs of function `fun`: `num` queues from `base` (num 0 clears them). */
function hisiQmSetVft(qm: HisiQm, fun: number, base: number, num: number): void {
  const word = num === 0 ? 0n : R.qmSqcVft(base, num);
  qmSetVft(qm.pdev, R.SQC_VFT, fun, word);
  qmSetVft(qm.pdev, R.CQC_VFT, fun, word);
}

/** The probe of hisi_zip / hisi_sec2 / hisi_hpre: memory decoding and bus mastering on, the PF's own queues set. */
function hisiQmPfProbe(pdev: PciDev, kind: HisiAccKind): void {
  pciWriteConfig(pdev, PCI_COMMAND, 2, pciReadConfig(pdev, PCI_COMMAND, 2) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
  const ctrlQpNum = qmReadl(pdev, R.QM_CTRL_QP_NUM_CAP);
  if (ctrlQpNum < HISI_QM_PF_Q_NUM) throw new VfioError('EINVAL', `${pdev.bdf}: QM has ${ctrlQpNum} queues, pf_q_num is ${HISI_QM_PF_Q_NUM}`);
  const qm = new HisiQm(pdev, kind, pdev.revision, ctrlQpNum, HISI_QM_PF_Q_NUM);
  hisiQmSetVft(qm, 0, 0, qm.qpNum);
  pdev.driverData = qm;
}

function qmOf(pdev: PciDev): HisiQm {
  const qm = pdev.driverData;
  if (!(qm instanceof HisiQm)) throw new VfioError('ENODEV', `${pdev.bdf} has no QM`);
  return qm;
}

/** hisi_qm_sriov_disable(): VFs removed (waiting for their drivers), then their VFTs cleared. */
async function hisiQmSriovDisable(pdev: PciDev): Promise<void> {
  const qm = qmOf(pdev);
  await pciDisableSriov(pdev);
  for (let fun = 1; fun <= qm.vfsNum; fun++) hisiQmSetVft(qm, fun, 0, 0);
  qm.vfsNum = 0;
}

/** hisi_qm_sriov_configure(): `n` VFs share the queues the PF does not keep (the last takes the remainder). */
async function hisiQmSriovConfigure(pdev: PciDev, n: number): Promise<number> {
  if (n === 0) {
    await hisiQmSriovDisable(pdev);
    return 0;
  }
  const qm = qmOf(pdev);
  const remain = qm.ctrlQpNum - qm.qpNum;
  if (n > remain) throw new VfioError('EINVAL', `${remain} queues cannot serve ${n} VFs`);
  const each = Math.floor(remain / n);
  let base = qm.qpNum;
  for (let fun = 1; fun <= n; fun++) {
    const num = fun === n ? each + (remain % n) : each;
    hisiQmSetVft(qm, fun, base, num);
    base += num;
  }
  qm.vfsNum = n;
  try {
    await pciEnableSriov(pdev, n);
  } catch (err) {
    for (let fun = 1; fun <= n; fun++) hisiQmSetVft(qm, fun, 0, 0);
    qm.vfsNum = 0;
    throw err;
  }
  return n;
}

function pfDriver(name: string, kind: HisiAccKind): PciDriver {
  return Object.freeze({
    name,
    idTable: [{ vendor: R.PCI_VENDOR_ID_HUAWEI, device: R.HISI_ACC_KINDS[kind].pfDevice }],
    probe: (pdev: PciDev) => hisiQmPfProbe(pdev, kind),
    remove: async (pdev: PciDev) => {
      if ((pdev.sriov?.numVfs ?? 0) > 0) await hisiQmSriovDisable(pdev);
      pdev.driverData = null;
    },
    sriovConfigure: hisiQmSriovConfigure,
  });
}

/** The PF drivers, one per kind (the kernel's static struct pci_driver of each module). */
const PF_DRIVERS: Readonly<Record<HisiAccKind, PciDriver>> = Object.freeze({
  zip: pfDriver('hisi_zip', 'zip'),
  sec: pfDriver('hisi_sec2', 'sec'),
  hpre: pfDriver('hisi_hpre', 'hpre'),
});

/** hisi_{zip,sec,hpre}_get_pf_driver(). */
export function hisiQmGetPfDriver(kind: HisiAccKind): PciDriver {
  return PF_DRIVERS[kind];
}

/** pci_iov_get_pf_drvdata(): the drvdata of `vf`'s PF when `pdrv` is the PF's driver; null otherwise. */
export function pciIovGetPfDrvdata(vf: PciDev, pdrv: PciDriver): unknown {
  const pf = vf.physfn;
  if (!vf.isVirtfn || pf === null || pciDriverOf(pf) !== pdrv) return null;
  return pf.driverData;
}

/** The three PF drivers loaded on `host` (module init); `unregister` unloads them (unbinding their PFs). */
export function hisiQmPfDriversRegister(host: Host): { unregister(): Promise<void> } {
  const loaded = Object.values(PF_DRIVERS);
  for (const d of loaded) pciRegisterDriver(host, d);
  let gone: Promise<void> | null = null;
  return {
    unregister: () => (gone ??= Promise.all(loaded.map((d) => pciUnregisterDriver(host, d))).then(() => {})),
  };
}
