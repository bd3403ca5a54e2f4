// struct hisi_acc_vf_core_device and struct acc_vf_data (drivers/vfio/pci/hisilicon/hisi_acc_vfio_pci.h): the
// variant driver's device, which is a vfio-pci-core device, and the bytes a migration carries.
import type { PciDev } from '../../hw/pci/pci-dev.js';
import type { HisiQm } from '../../hw/hisi-qm/pf-driver.js';
import { QM_NOT_READY } from '../../hw/hisi-qm/qm-regs.js';
import { VfioDeviceMigState } from '../../uapi/migration.js';
import { VfioPciCoreDevice } from '../vfio-pci-core/core-device.js';
import type { HisiAccVfResumeFile, HisiAccVfSaveFile } from './hisi-acc-mig-file.js';

/** ACC_DEV_MAGIC: the first u64 of every stream. */
export const ACC_DEV_MAGIC = 0xcdcdcdcdfeedaaccn;

/** Byte offsets of struct acc_vf_data (naturally aligned, little-endian). */
export const VF_DATA = Object.freeze({
  accMagic: 0,
  qpNum: 8,
  devId: 12,
  queIsoCfg: 16,
  qpBase: 20,
  vfQmState: 24,
  /** QM_MATCH_SIZE: offsetofend(struct acc_vf_data, qm_rsv_state). */
  matchSize: 40,
  aeqIntMask: 40,
  eqIntMask: 44,
  ifcIntSource: 48,
  ifcIntMask: 52,
  ifcIntSet: 56,
  pageSize: 60,
  qmEqcDw: 64,
  qmAeqcDw: 92,
  eqeDma: 144,
  aeqeDma: 152,
  sqcDma: 160,
  cqcDma: 168,
  /** sizeof(struct acc_vf_data). */
  size: 176,
});

/** QM_MATCH_SIZE. */
export const QM_MATCH_SIZE = VF_DATA.matchSize;

/** A view of an acc_vf_data buffer. */
export function vfDataView(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

export class HisiAccVfCoreDevice extends VfioPciCoreDevice {
  /** mig_state. */
  migState: VfioDeviceMigState = VfioDeviceMigState.RUNNING;
  /** The QM of the VF's PF, from its PF driver (pf_qm); null without one. */
  pfQm: HisiQm | null = null;
  /** The VF (vf_dev). */
  vfDev: PciDev | null = null;
  /** The VF's function number in the PF's VFT: its VF id + 1 (vf_id). */
  vfId = 0;
  /** enum qm_vf_state the migration last saw (vf_qm_state). */
  vfQmState = QM_NOT_READY;
  /** The resuming stream's match data was checked (match_done). */
  matchDone = false;
  /** vf_qm.qp_num / qp_base: the VF's queues as the resuming side learnt them. */
  vfQmQpNum = 0;
  vfQmQpBase = 0;
  resumingMigf: HisiAccVfResumeFile | null = null;
  savingMigf: HisiAccVfSaveFile | null = null;
}
