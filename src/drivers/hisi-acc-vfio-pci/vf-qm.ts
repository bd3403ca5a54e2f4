// The VF QM work of the migration driver (drivers/vfio/pci/hisilicon/hisi_acc_vfio_pci.c: vf_qm_get_match_data,
// vf_qm_check_match, vf_qm_state_save, vf_qm_load_data, hisi_acc_vf_stop_device, hisi_acc_check_int_state,
// hisi_acc_vf_start_device): registers of the VF's whole BAR2 and of its PF, and the VF's mailbox.
import { qmDecodeVft } from '../../hw/hisi-qm/qm-regs.js';
import * as R from '../../hw/hisi-qm/qm-regs.js';
import { hisiQmMb, hisiQmWaitMbReady, qmGetVft, qmReadl, qmWriteq, qmWritel } from '../../hw/hisi-qm/qm-io.js';
import type { PciDev } from '../../hw/pci/pci-dev.js';
import { VfioError } from '../../uapi/errno.js';
import { vfioPciMemoryLockAndEnable, vfioPciMemoryUnlockAndRestore } from '../vfio-pci-core/intrs.js';
import { ACC_DEV_MAGIC, QM_MATCH_SIZE, VF_DATA, vfDataView } from './hisi-acc-device.js';
import type { HisiAccVfCoreDevice } from './hisi-acc-device.js';

function vfOf(v: HisiAccVfCoreDevice): PciDev {
  if (v.vfDev === null) throw new Error('hisi-acc migration device without its VF: init did not run');
  return v.vfDev;
}

function pfOf(v: HisiAccVfCoreDevice): PciDev {
  if (v.pfQm === null) throw new VfioError('ENODEV', 'no PF QM');
  return v.pfQm.pdev;
}

/** Runs `fn` with the VF's memory decoding on (the driver's own accesses do not depend on the user's COMMAND). */
export function withVfQm<T>(v: HisiAccVfCoreDevice, fn: (vf: PciDev) => T): T {
  const vf = vfOf(v);
  const cmd = vfioPciMemoryLockAndEnable(vf);
  try {
    return fn(vf);
  } finally {
    vfioPciMemoryUnlockAndRestore(vf, cmd);
  }
}

/** vf_qm_get_match_data(): magic, device id, the VF's queues from the PF's VFT, the PF's isolation state. */
export function vfQmGetMatchData(v: HisiAccVfCoreDevice, data: Uint8Array): void {
  const pf = pfOf(v);
  const d = vfDataView(data);
  d.setBigUint64(VF_DATA.accMagic, ACC_DEV_MAGIC, true);
  d.setUint32(VF_DATA.devId, vfOf(v).device, true);
  const { base, num } = qmDecodeVft(qmGetVft(pf, v.vfId));
  if (num <= 0) throw new VfioError('EINVAL', 'failed to get vft qp nums');
  d.setUint32(VF_DATA.qpBase, base, true);
  d.setUint32(VF_DATA.qpNum, num, true);
  d.setUint32(VF_DATA.queIsoCfg, qmReadl(pf, R.QM_QUE_ISO_CFG_V), true);
}

/**
 * vf_qm_check_match(): once the match data is in (and not yet checked), it must name this kind of VF with as many
 * queues as this VF has and the PF's isolation state; EINVAL otherwise. The VF's queue count is read through its
 * own mailbox (qm_get_vft).
 */
export function vfQmCheckMatch(v: HisiAccVfCoreDevice, data: Uint8Array, totalLength: number): void {
  if (totalLength < QM_MATCH_SIZE || v.matchDone) return;
  const d = vfDataView(data);
  if (d.getBigUint64(VF_DATA.accMagic, true) !== ACC_DEV_MAGIC) throw new VfioError('EINVAL', 'failed to match ACC_DEV_MAGIC');
  if (d.getUint32(VF_DATA.devId, true) !== vfOf(v).device) throw new VfioError('EINVAL', 'failed to match VF devices');
  const { base, num } = withVfQm(v, (vf) => qmDecodeVft(hisiQmMb(vf, R.QM_MB_CMD_SQC_VFT_V2, 0n, 0, true)));
  if (num <= 0) throw new VfioError('EINVAL', 'failed to get vft qp nums');
  if (num !== d.getUint32(VF_DATA.qpNum, true)) throw new VfioError('EINVAL', 'failed to match VF qp num');
  v.vfQmQpNum = num;
  v.vfQmQpBase = base;
  if (d.getUint32(VF_DATA.queIsoCfg, true) !== qmReadl(pfOf(v), R.QM_QUE_ISO_CFG_V)) throw new VfioError('EINVAL', 'failed to match isolation state');
  v.matchDone = true;
}

/** The registers acc_vf_data carries, in its order (qm_get_regs / qm_set_regs). */
const RW_REGS: readonly [number, number][] = [
  [R.QM_VF_AEQ_INT_MASK, VF_DATA.aeqIntMask],
  [R.QM_VF_EQ_INT_MASK, VF_DATA.eqIntMask],
  [R.QM_IFC_INT_SOURCE_V, VF_DATA.ifcIntSource],
  [R.QM_IFC_INT_MASK, VF_DATA.ifcIntMask],
  [R.QM_IFC_INT_SET_V, VF_DATA.ifcIntSet],
  [R.QM_PAGE_SIZE, VF_DATA.pageSize],
];

/**
 * vf_qm_state_save(): the match data and, when the guest's QM is READY, its registers, the EQC/AEQC shadows of the
 * migration area and the context tables' bases (after writing the QM's context cache back to them). Returns the
 * stream's length: QM_MATCH_SIZE for a QM that is not ready, else the whole struct.
 */
export function vfQmStateSave(v: HisiAccVfCoreDevice, data: Uint8Array): number {
  const d = vfDataView(data);
  return withVfQm(v, (vf) => {
    if ((qmReadl(vf, R.QM_VF_STATE) & 1) !== 0) {
      d.setUint32(VF_DATA.vfQmState, R.QM_NOT_READY, true);
      v.vfQmState = R.QM_NOT_READY;
      return QM_MATCH_SIZE;
    }
    d.setUint32(VF_DATA.vfQmState, R.QM_READY, true);
    v.vfQmState = R.QM_READY;
    // vf_qm_cache_wb()
    qmWritel(vf, R.QM_CACHE_WB_START, 1);
    if ((qmReadl(vf, R.QM_CACHE_WB_DONE) & 1) === 0) throw new VfioError('EINVAL', 'vf QM writeback sqc cache fail');
    for (const [reg, at] of RW_REGS) d.setUint32(at, qmReadl(vf, reg), true);
    for (let i = 0; i < R.QM_XQC_DWORDS; i++) {
      d.setUint32(VF_DATA.qmEqcDw + 4 * i, qmReadl(vf, R.QM_EQC_DW0 + 4 * i), true);
      d.setUint32(VF_DATA.qmAeqcDw + 4 * i, qmReadl(vf, R.QM_AEQC_DW0 + 4 * i), true);
    }
    const dw = (at: number, i: number): bigint => BigInt(d.getUint32(at + 4 * i, true));
    d.setBigUint64(VF_DATA.eqeDma, (dw(VF_DATA.qmEqcDw, 1) << 32n) | dw(VF_DATA.qmEqcDw, 0), true);
    d.setBigUint64(VF_DATA.aeqeDma, (dw(VF_DATA.qmAeqcDw, 1) << 32n) | dw(VF_DATA.qmAeqcDw, 0), true);
    const bt = (cmd: number, what: string): bigint => {
      try {
        return hisiQmMb(vf, cmd, 0n, 0, true);
      } catch (err) {
        if (err instanceof VfioError) throw new VfioError('EINVAL', `failed to read ${what} addr: ${err.message}`);
        throw err;
      }
    };
    d.setBigUint64(VF_DATA.sqcDma, bt(R.QM_MB_CMD_SQC_BT, 'SQC'), true);
    d.setBigUint64(VF_DATA.cqcDma, bt(R.QM_MB_CMD_CQC_BT, 'CQC'), true);
    return VF_DATA.size;
  });
}

/** qm_dev_cmd_init(): clears the VF's PF communication source and unmasks it. */
function qmDevCmdInit(vf: PciDev): void {
  qmWritel(vf, R.QM_IFC_INT_SOURCE_V, 1);
  qmWritel(vf, R.QM_IFC_INT_MASK, 0);
}

/**
 * vf_qm_load_data(): nothing for a stream of match data only; EINVAL for one shorter than the struct; else the VF
 * state, the registers (EBUSY while the mailbox is busy), the EQC/AEQC shadows and the context tables' bases.
 */
export function vfQmLoadData(v: HisiAccVfCoreDevice, data: Uint8Array, totalLength: number): void {
  if (totalLength === QM_MATCH_SIZE) return;
  if (totalLength < VF_DATA.size) throw new VfioError('EINVAL', `${totalLength} bytes of migration data, ${VF_DATA.size} needed`);
  const d = vfDataView(data);
  withVfQm(v, (vf) => {
    const state = d.getUint32(VF_DATA.vfQmState, true);
    qmWritel(vf, R.QM_VF_STATE, state);
    v.vfQmState = state;
    v.vfQmQpBase = d.getUint32(VF_DATA.qpBase, true);
    v.vfQmQpNum = d.getUint32(VF_DATA.qpNum, true);
    hisiQmWaitMbReady(vf);
    for (const [reg, at] of RW_REGS) qmWritel(vf, reg, d.getUint32(at, true));
    qmWritel(vf, R.QM_QUE_ISO_CFG_V, d.getUint32(VF_DATA.queIsoCfg, true));
    for (let i = 0; i < R.QM_XQC_DWORDS; i++) {
      qmWritel(vf, R.QM_EQC_DW0 + 4 * i, d.getUint32(VF_DATA.qmEqcDw + 4 * i, true));
      qmWritel(vf, R.QM_AEQC_DW0 + 4 * i, d.getUint32(VF_DATA.qmAeqcDw + 4 * i, true));
    }
    hisiQmMb(vf, R.QM_MB_CMD_SQC_BT, d.getBigUint64(VF_DATA.sqcDma, true), 0, false);
    hisiQmMb(vf, R.QM_MB_CMD_CQC_BT, d.getBigUint64(VF_DATA.cqcDma, true), 0, false);
    qmDevCmdInit(vf);
  });
}

/** hisi_acc_check_int_state(): EBUSY while the PF reports RAS or engine errors, or PF-VF messages are pending. */
function hisiAccCheckIntState(v: HisiAccVfCoreDevice, vf: PciDev): void {
  const pf = pfOf(v);
  if (qmReadl(pf, R.QM_ABNORMAL_INT_STATUS) !== 0) throw new VfioError('EBUSY', 'failed to check QM RAS state');
  if (qmReadl(vf, R.QM_IFC_INT_STATUS) !== 0) throw new VfioError('EBUSY', 'failed to check QM IFC INT state');
  if (qmReadl(vf, R.QM_IFC_INT_SET_V) !== 0) throw new VfioError('EBUSY', 'failed to check QM IFC INT SET state');
  const kind = v.pfQm?.kind;
  if (kind === undefined) throw new VfioError('EINVAL', 'failed to detect acc module type');
  if (qmReadl(pf, R.HISI_ACC_KINDS[kind].coreIntStatus) !== 0) throw new VfioError('EBUSY', `failed to check QM ${kind} core INT state`);
}

/** hisi_acc_vf_stop_device(): QM_MB_CMD_PAUSE_QM, then the interrupt state check. */
export function hisiAccVfStopDevice(v: HisiAccVfCoreDevice): void {
  withVfQm(v, (vf) => {
    hisiQmMb(vf, R.QM_MB_CMD_PAUSE_QM, 0n, 0, false);
    hisiAccCheckIntState(v, vf);
  });
}

/** hisi_acc_vf_start_device(): for a READY QM, PF communication on again and every queue restarted (vf_qm_fun_reset). */
export function hisiAccVfStartDevice(v: HisiAccVfCoreDevice): void {
  if (v.vfQmState !== R.QM_READY) return;
  withVfQm(v, (vf) => {
    qmDevCmdInit(vf);
    for (let qn = 0; qn < v.vfQmQpNum; qn++) {
      qmWriteq(vf, R.QM_DOORBELL_SQ_CQ_BASE_V2, BigInt(qn | (R.QM_DOORBELL_CMD_SQ << R.QM_DB_CMD_SHIFT_V2)) | (1n << BigInt(R.QM_DB_PRIORITY_SHIFT_V2)));
    }
  });
}
