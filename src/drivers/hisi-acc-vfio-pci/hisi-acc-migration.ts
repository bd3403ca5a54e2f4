// The migration ops of hisi-acc-vfio-pci (drivers/vfio/pci/hisilicon/hisi_acc_vfio_pci.c
// hisi_acc_vf_set_device_state, hisi_acc_vfio_pci_get_device_state, hisi_acc_vfio_pci_get_data_size,
// hisi_acc_vf_disable_fds, hisi_acc_vf_reset): one FSM arc per call, the core walking the path.
import { QM_NOT_READY } from '../../hw/hisi-qm/qm-regs.js';
import { VfioError } from '../../uapi/errno.js';
import { VfioDeviceMigState, isVfioDeviceMigState, vfioDeviceMigStateName } from '../../uapi/migration.js';
import type { VfioMigrationFile } from '../../vfio/vfio-ops.js';
import { QM_MATCH_SIZE, VF_DATA } from './hisi-acc-device.js';
import type { HisiAccVfCoreDevice } from './hisi-acc-device.js';
import { HisiAccVfResumeFile, HisiAccVfSaveFile } from './hisi-acc-mig-file.js';
import { hisiAccVfStartDevice, hisiAccVfStopDevice, vfQmGetMatchData, vfQmLoadData, vfQmStateSave } from './vf-qm.js';

const { STOP, RUNNING, STOP_COPY, RESUMING, PRE_COPY } = VfioDeviceMigState;

/** hisi_acc_vf_disable_fds(): the driver lets go of both streams (the user's fds then see ENODEV). */
export function hisiAccVfDisableFds(v: HisiAccVfCoreDevice): void {
  v.resumingMigf?.disable();
  v.resumingMigf = null;
  v.savingMigf?.disable();
  v.savingMigf = null;
}

/** hisi_acc_vf_reset(): what a reset of the VF (reset_done) leaves: RUNNING, QM not ready, no streams. */
export function hisiAccVfReset(v: HisiAccVfCoreDevice): void {
  v.vfQmState = QM_NOT_READY;
  v.migState = RUNNING;
  hisiAccVfDisableFds(v);
}

/** hisi_acc_open_saving_migf(): a saving stream holding the match data. */
function openSavingMigf(v: HisiAccVfCoreDevice): HisiAccVfSaveFile {
  const migf = new HisiAccVfSaveFile(v);
  vfQmGetMatchData(v, migf.vfData);
  return migf;
}

/** hisi_acc_vf_stop_copy(): the whole state into the stream (a new one unless PRE_COPY opened it). */
function stopCopy(v: HisiAccVfCoreDevice, migf: HisiAccVfSaveFile): void {
  migf.totalLength = vfQmStateSave(v, migf.vfData);
}

/**
 * hisi_acc_vf_load_state(): the stream must have matched (vf_qm_check_match ran on the writes; a stream whose match
 * data did not match is EINVAL here, as the driver's first version checked at this arc), then vf_qm_load_data.
 */
function loadState(v: HisiAccVfCoreDevice, migf: HisiAccVfResumeFile): void {
  if (migf.totalLength >= QM_MATCH_SIZE && !v.matchDone) throw new VfioError('EINVAL', 'failed to match the VF');
  vfQmLoadData(v, migf.vfData, migf.totalLength);
}

/** One arc (hisi_acc_vf_set_device_state); mig_state moves only when the arc succeeded. */
export function hisiAccVfioPciSetDeviceState(v: HisiAccVfCoreDevice, next: number): VfioMigrationFile | null {
  if (!isVfioDeviceMigState(next)) throw new VfioError('EINVAL', `migration state ${next}`);
  const cur = v.migState;
  const arc = (a: VfioDeviceMigState, b: VfioDeviceMigState): boolean => cur === a && next === b;
  let res: VfioMigrationFile | null = null;
  if (arc(RUNNING, PRE_COPY)) {
    const migf = openSavingMigf(v);
    // PRE_COPY sends the match data early, so the resuming side can refuse before the source stops.
    migf.totalLength = QM_MATCH_SIZE;
    v.savingMigf = migf;
    res = migf;
  } else if (arc(PRE_COPY, STOP_COPY)) {
    const migf = v.savingMigf;
    if (migf === null) throw new VfioError('EINVAL', 'no saving stream');
    hisiAccVfStopDevice(v);
    stopCopy(v, migf);
  } else if (arc(RUNNING, STOP)) {
    hisiAccVfStopDevice(v);
  } else if (arc(STOP, STOP_COPY)) {
    const migf = openSavingMigf(v);
    stopCopy(v, migf);
    v.savingMigf = migf;
    res = migf;
  } else if (arc(STOP_COPY, STOP) || arc(PRE_COPY, RUNNING)) {
    hisiAccVfDisableFds(v);
  } else if (arc(STOP, RESUMING)) {
    const migf = new HisiAccVfResumeFile(v);
    v.resumingMigf = migf;
    res = migf;
  } else if (arc(RESUMING, STOP)) {
    const migf = v.resumingMigf;
    if (migf === null) throw new VfioError('EINVAL', 'no resuming stream');
    loadState(v, migf);
    hisiAccVfDisableFds(v);
  } else if (arc(STOP, RUNNING)) {
    hisiAccVfStartDevice(v);
  } else {
    // vfio_mig_get_next_state() uses no other arc for STOP_COPY | PRE_COPY.
    throw new VfioError('EINVAL', `unexpected arc ${vfioDeviceMigStateName(cur)} -> ${vfioDeviceMigStateName(next)}`);
  }
  v.migState = next;
  return res;
}

/** The migration ops of hisi_acc_vfio_pci_migrn_state_ops. */
export const hisiAccMigrationOps = Object.freeze({
  migrationSetState: hisiAccVfioPciSetDeviceState,
  migrationGetState: (v: HisiAccVfCoreDevice) => v.migState,
  /** hisi_acc_vfio_pci_get_data_size(): sizeof(struct acc_vf_data). */
  migrationGetDataSize: (_v: HisiAccVfCoreDevice) => BigInt(VF_DATA.size),
});
