// The migration arcs of mlx5-vfio-pci (drivers/vfio/pci/mlx5/main.c mlx5vf_pci_step_device_state_locked and the
// save/resume files it opens): RUNNING <-> RUNNING_P2P <-> STOP by SUSPEND/RESUME_VHCA (initiator, then responder),
// STOP -> STOP_COPY and RUNNING(_P2P) -> PRE_COPY(_P2P) open a saving file, PRE_COPY_P2P -> STOP_COPY suspends and
// saves what changed, STOP -> RESUMING opens a resuming file, the way back closes them. The core walks the arcs.
import {
  MLX5_RESUME_VHCA_IN_OP_MOD_RESUME_INITIATOR,
  MLX5_RESUME_VHCA_IN_OP_MOD_RESUME_RESPONDER,
  MLX5_SUSPEND_VHCA_IN_OP_MOD_SUSPEND_INITIATOR,
  MLX5_SUSPEND_VHCA_IN_OP_MOD_SUSPEND_RESPONDER,
} from '../../hw/mlx5/mlx5-regs.js';
import { VfioError } from '../../uapi/errno.js';
import { VfioDeviceMigState, isVfioDeviceMigState, vfioDeviceMigStateName } from '../../uapi/migration.js';
import type { VfioMigrationFile } from '../../vfio/vfio-ops.js';
import { mlx5vfFreePageTracker } from './cmd.js';
import type { Mlx5VfPciCoreDevice } from './device.js';
import { fwOf } from './device.js';
import {
  MLX5_MIGF_HEADER_FLAGS_TAG_MANDATORY,
  MLX5_MIGF_HEADER_FLAGS_TAG_OPTIONAL,
  MLX5_MIGF_HEADER_SIZE,
  MLX5_MIGF_HEADER_TAG_FW_DATA,
  MLX5_MIGF_HEADER_TAG_STOP_COPY_SIZE,
  Mlx5ResumeFile,
  Mlx5SaveFile,
  mlx5MigRecord,
} from './mig-file.js';

const { STOP, RUNNING, STOP_COPY, RESUMING, RUNNING_P2P, PRE_COPY, PRE_COPY_P2P } = VfioDeviceMigState;

/** mlx5vf_cmd_save_vhca_state() and its callback: the image becomes a FW_DATA record; chunk mode may leave more. */
function saveVhcaState(mvdev: Mlx5VfPciCoreDevice, migf: Mlx5SaveFile, size: number, inc: boolean, track: boolean): void {
  const out = fwOf(mvdev).saveVhcaState(mvdev.vhcaId, size, inc, track);
  migf.append(mlx5MigRecord(MLX5_MIGF_HEADER_TAG_FW_DATA, MLX5_MIGF_HEADER_FLAGS_TAG_MANDATORY, out.image));
  migf.nextRequiredUmemSize = mvdev.chunkMode ? out.nextRequiredUmemSize : 0;
  if (migf.nextRequiredUmemSize > 0) migf.state = 'save-stop-copy-chunk';
  else migf.state = track ? 'pre-copy' : 'complete';
}

/** The buffer a chunked save gets: what is left, at most the chunk size, at least what the firmware needs. */
function chunkBuffer(mvdev: Mlx5VfPciCoreDevice, required: number, remaining: number): number {
  return Math.max(required, Math.min(mvdev.maxChunkSize, remaining));
}

/** The saving file's hooks: next chunks and PRE_COPY info (mlx5vf_mig_file_save_work, mlx5vf_precopy_ioctl). */
function saveHooks(mvdev: Mlx5VfPciCoreDevice) {
  return {
    nextChunk(migf: Mlx5SaveFile): void {
      try {
        saveVhcaState(mvdev, migf, chunkBuffer(mvdev, 0, migf.nextRequiredUmemSize), true, false);
      } catch (err) {
        if (!(err instanceof VfioError)) throw err;
        migf.disable();
      }
    },
    precopyInfo(migf: Mlx5SaveFile): { initialBytes: bigint; dirtyBytes: bigint } {
      let incLength = 0;
      // In PRE_COPY_P2P the device is suspended: no SAVE can run, so nothing new is asked for.
      if (mvdev.migState === PRE_COPY) incLength = fwOf(mvdev).queryVhcaMigrationState(mvdev.vhcaId, true, false).requiredUmemSize;
      let initialBytes = 0;
      let dirtyBytes = 0;
      let endOfData = false;
      if (migf.preCopyInitialBytes > migf.pos) {
        initialBytes = migf.preCopyInitialBytes - migf.pos;
      } else {
        dirtyBytes = migf.maxPos - migf.pos;
        endOfData = dirtyBytes === 0;
        dirtyBytes += incLength;
      }
      // The current state was read whole and the device has dirty state: save it now, ready for the next read.
      if (endOfData && incLength > 0) {
        try {
          saveVhcaState(mvdev, migf, incLength, true, true);
        } catch (err) {
          migf.disable();
          throw err;
        }
      }
      return { initialBytes: BigInt(initialBytes), dirtyBytes: BigInt(dirtyBytes) };
    },
  };
}

/**
 * mlx5vf_pci_save_device_data(): a STOP_COPY_SIZE record (the buffer the resuming side should be ready for), then
 * the whole state, tracked when `track` (PRE_COPY: those bytes are the initial bytes). In chunk mode the save may
 * leave chunks that follow as the user reads.
 */
function saveDeviceData(mvdev: Mlx5VfPciCoreDevice, track: boolean): Mlx5SaveFile {
  const fw = fwOf(mvdev);
  const migf = new Mlx5SaveFile(saveHooks(mvdev));
  const q = fw.queryVhcaMigrationState(mvdev.vhcaId, false, mvdev.chunkMode);
  const size = mvdev.chunkMode ? chunkBuffer(mvdev, q.requiredUmemSize, q.remainingTotalSize) : track ? q.requiredUmemSize + Math.floor(q.requiredUmemSize / 10) : q.requiredUmemSize;
  const sizeData = new Uint8Array(8);
  new DataView(sizeData.buffer).setBigUint64(0, BigInt(size), true);
  migf.append(mlx5MigRecord(MLX5_MIGF_HEADER_TAG_STOP_COPY_SIZE, MLX5_MIGF_HEADER_FLAGS_TAG_OPTIONAL, sizeData));
  // PRE_COPY saves the initial state in one buffer; STOP_COPY in chunks when the firmware can.
  saveVhcaState(mvdev, migf, track ? q.remainingTotalSize : size, false, track);
  if (track) migf.preCopyInitialBytes = migf.maxPos;
  return migf;
}

/** mlx5vf_pci_save_device_inc_data(): PRE_COPY_P2P -> STOP_COPY, what changed since the last tracked save. */
function saveDeviceIncData(mvdev: Mlx5VfPciCoreDevice): void {
  const migf = mvdev.savingMigf;
  if (migf === null || migf.failed()) throw new VfioError('ENODEV', 'no saving file');
  try {
    const q = fwOf(mvdev).queryVhcaMigrationState(mvdev.vhcaId, true, mvdev.chunkMode);
    // Nothing changed since the last PRE_COPY save: the stream is complete as it is.
    if (q.remainingTotalSize === 0) {
      migf.state = 'complete';
      return;
    }
    saveVhcaState(mvdev, migf, mvdev.chunkMode ? chunkBuffer(mvdev, q.requiredUmemSize, q.remainingTotalSize) : q.requiredUmemSize, true, false);
  } catch (err) {
    migf.disable();
    throw err;
  }
}

/** mlx5vf_disable_fds(): the open files stop working; returns whether the saving one had failed. */
export function mlx5vfDisableFds(mvdev: Mlx5VfPciCoreDevice): boolean {
  const failed = mvdev.savingMigf?.failed() ?? false;
  mvdev.resumingMigf?.disable();
  mvdev.savingMigf?.disable();
  mvdev.resumingMigf = null;
  mvdev.savingMigf = null;
  return failed;
}

/** mlx5vf_cmd_close_migratable(): on the last close, files and tracker go. */
export function mlx5vfCmdCloseMigratable(mvdev: Mlx5VfPciCoreDevice): void {
  if (!mvdev.migrateCap) return;
  mlx5vfDisableFds(mvdev);
  try {
    mlx5vfFreePageTracker(mvdev);
  } catch (err) {
    // The PF was reset under the tracker: nothing is left to destroy.
    if (!(err instanceof VfioError)) throw err;
    mvdev.logActive = false;
  }
}

/** mlx5vf_pci_aer_reset_done(): after a function reset the device is RUNNING again with no files. */
export function mlx5vfResetDone(mvdev: Mlx5VfPciCoreDevice): void {
  if (!mvdev.migrateCap) return;
  mvdev.migState = RUNNING;
  mlx5vfDisableFds(mvdev);
}

/** mlx5vf_pci_step_device_state_locked(): one arc; the state moves only when the arc succeeds. */
export function mlx5vfPciStepDeviceState(mvdev: Mlx5VfPciCoreDevice, next: number): VfioMigrationFile | null {
  const cur = mvdev.migState;
  const fw = fwOf(mvdev);
  if (!isVfioDeviceMigState(next)) throw new VfioError('EINVAL', `migration state ${next}`);
  const arc = (a: number, b: number): boolean => cur === a && next === b;
  let file: VfioMigrationFile | null = null;
  if (arc(RUNNING_P2P, STOP)) fw.suspendVhca(mvdev.vhcaId, MLX5_SUSPEND_VHCA_IN_OP_MOD_SUSPEND_RESPONDER);
  else if (arc(STOP, RUNNING_P2P)) fw.resumeVhca(mvdev.vhcaId, MLX5_RESUME_VHCA_IN_OP_MOD_RESUME_RESPONDER);
  else if (arc(RUNNING, RUNNING_P2P) || arc(PRE_COPY, PRE_COPY_P2P)) fw.suspendVhca(mvdev.vhcaId, MLX5_SUSPEND_VHCA_IN_OP_MOD_SUSPEND_INITIATOR);
  else if (arc(RUNNING_P2P, RUNNING) || arc(PRE_COPY_P2P, PRE_COPY)) fw.resumeVhca(mvdev.vhcaId, MLX5_RESUME_VHCA_IN_OP_MOD_RESUME_INITIATOR);
  else if (arc(STOP, STOP_COPY)) {
    mvdev.savingMigf = saveDeviceData(mvdev, false);
    file = mvdev.savingMigf;
  } else if (arc(STOP_COPY, STOP) || arc(RESUMING, STOP)) {
    mlx5vfDisableFds(mvdev);
  } else if (arc(PRE_COPY, RUNNING) || arc(PRE_COPY_P2P, RUNNING_P2P)) {
    // The pre-copy cleanup: a last untracked save ends the firmware's tracking.
    const q = fw.queryVhcaMigrationState(mvdev.vhcaId, true, false);
    const migf = mvdev.savingMigf;
    if (migf !== null && q.requiredUmemSize > 0) saveVhcaState(mvdev, migf, q.requiredUmemSize, true, false);
    if (mlx5vfDisableFds(mvdev)) throw new VfioError('EIO', 'the saving file had failed');
  } else if (arc(STOP, RESUMING)) {
    const migf = new Mlx5ResumeFile((image) => fw.loadVhcaState(mvdev.vhcaId, image));
    mvdev.resumingMigf = migf;
    file = migf;
  } else if (arc(RUNNING, PRE_COPY) || arc(RUNNING_P2P, PRE_COPY_P2P)) {
    mvdev.savingMigf = saveDeviceData(mvdev, true);
    file = mvdev.savingMigf;
  } else if (arc(PRE_COPY_P2P, STOP_COPY)) {
    fw.suspendVhca(mvdev.vhcaId, MLX5_SUSPEND_VHCA_IN_OP_MOD_SUSPEND_RESPONDER);
    saveDeviceIncData(mvdev);
  } else {
    throw new VfioError('EINVAL', `unexpected arc ${vfioDeviceMigStateName(cur)} -> ${vfioDeviceMigStateName(next)}`);
  }
  mvdev.migState = next;
  return file;
}

/** mlx5vf_pci_get_data_size(): the whole state's size as the firmware counts it. */
export function mlx5vfPciGetDataSize(mvdev: Mlx5VfPciCoreDevice): bigint {
  const q = fwOf(mvdev).queryVhcaMigrationState(mvdev.vhcaId, false, mvdev.chunkMode);
  return BigInt(q.remainingTotalSize + MLX5_MIGF_HEADER_SIZE);
}
