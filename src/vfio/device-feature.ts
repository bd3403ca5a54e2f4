// VFIO_DEVICE_FEATURE in the core (drivers/vfio/vfio_main.c vfio_ioctl_device_feature): framing checks, then
// MIGRATION, MIG_DEVICE_STATE (the v2 FSM walked one arc per ops.migrationSetState call, the stream's file becoming
// a data fd), MIG_DATA_SIZE, the DMA logging features, and everything else to ops.deviceFeature.
import { VfioError } from '../uapi/errno.js';
import {
  VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT,
  VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
  VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP,
  VFIO_DEVICE_FEATURE_GET,
  VFIO_DEVICE_FEATURE_MIGRATION,
  VFIO_DEVICE_FEATURE_MIG_DATA_SIZE,
  VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
  VFIO_DEVICE_FEATURE_MINSZ,
  VFIO_DEVICE_FEATURE_SET,
  decodeVfioDeviceFeature,
  vfioCheckFeature,
  vfioDeviceFeatureId,
} from '../uapi/feature.js';
import {
  VFIO_DEVICE_FEATURE_MIGRATION_SIZEOF,
  VFIO_DEVICE_FEATURE_MIG_DATA_SIZE_SIZEOF,
  VFIO_DEVICE_FEATURE_MIG_STATE_MINSZ,
  VFIO_DEVICE_FEATURE_MIG_STATE_SIZEOF,
  encodeVfioDeviceFeatureMigDataSize,
  encodeVfioDeviceFeatureMigration,
} from '../uapi/feature-payloads.js';
import { isVfioDeviceMigState } from '../uapi/migration.js';
import type { VfioDeviceMigState } from '../uapi/migration.js';
import type { VfioDevice } from './vfio-device.js';
import { opsOf } from './vfio-device.js';
import type { VfioDeviceOps, VfioMigrationFile } from './vfio-ops.js';
import { migGetNextState } from './migration-fsm.js';
import type { IoctlArg, VfioFdTable } from './vfio-file.js';
import { copyToUser, userBuffer, userView } from './vfio-file.js';
import { VfioMigDataFile } from './mig-data-file.js';
import { vfioIoctlLoggingReport, vfioIoctlLoggingStart, vfioIoctlLoggingStop } from './dma-logging.js';

/** device->mig_ops: a device migrates if its driver has the migration ops (registration checks all three). */
export function hasMigOps(ops: VfioDeviceOps<VfioDevice>): boolean {
  return ops.migrationSetState !== undefined && ops.migrationGetState !== undefined;
}

/**
 * vfio_ioctl_device_feature(): `arg` is struct vfio_device_feature; each feature handler sees the payload after
 * the 8-byte header and its size argsz - 8.
 */
export function vfioIoctlDeviceFeature(device: VfioDevice, table: VfioFdTable, arg: IoctlArg): number {
  const buf = userBuffer(arg, VFIO_DEVICE_FEATURE_MINSZ, 'vfio_device_feature');
  const feature = decodeVfioDeviceFeature(buf);
  const flags = feature.flags;
  const argsz = feature.argsz - VFIO_DEVICE_FEATURE_MINSZ;
  const data = buf.subarray(VFIO_DEVICE_FEATURE_MINSZ);
  switch (vfioDeviceFeatureId(flags)) {
    case VFIO_DEVICE_FEATURE_MIGRATION:
      return featureMigration(device, flags, data, argsz);
    case VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE:
      return featureMigDeviceState(device, table, flags, data, argsz);
    case VFIO_DEVICE_FEATURE_DMA_LOGGING_START:
      return vfioIoctlLoggingStart(device, table, flags, data, argsz);
    case VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP:
      return vfioIoctlLoggingStop(device, flags, argsz);
    case VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT:
      return vfioIoctlLoggingReport(device, table, flags, data, argsz);
    case VFIO_DEVICE_FEATURE_MIG_DATA_SIZE:
      return featureMigDataSize(device, flags, data, argsz);
    default: {
      const ops = opsOf(device);
      if (ops.deviceFeature === undefined) throw new VfioError('EINVAL', 'device has no device_feature');
      return ops.deviceFeature(device, flags, data.subarray(0, Math.max(0, Math.min(argsz, data.byteLength))));
    }
  }
}

/** vfio_ioctl_device_feature_migration(): GET of the VFIO_MIGRATION_* flags. */
function featureMigration(device: VfioDevice, flags: number, data: Uint8Array, argsz: number): number {
  if (!hasMigOps(opsOf(device))) throw new VfioError('ENOTTY', 'device does not migrate');
  if (vfioCheckFeature(flags, argsz, VFIO_DEVICE_FEATURE_GET, VFIO_DEVICE_FEATURE_MIGRATION_SIZEOF) !== 1) return 0;
  copyToUser(data, 0, encodeVfioDeviceFeatureMigration({ flags: BigInt(device.migrationFlags >>> 0) }), 'vfio_device_feature_migration');
  return 0;
}

/** vfio_ioctl_device_feature_migration_data_size(). */
function featureMigDataSize(device: VfioDevice, flags: number, data: Uint8Array, argsz: number): number {
  const ops = opsOf(device);
  if (!hasMigOps(ops)) throw new VfioError('ENOTTY', 'device does not migrate');
  if (vfioCheckFeature(flags, argsz, VFIO_DEVICE_FEATURE_GET, VFIO_DEVICE_FEATURE_MIG_DATA_SIZE_SIZEOF) !== 1) return 0;
  if (ops.migrationGetDataSize === undefined) throw new VfioError('ENOTTY', 'device has no migration_get_data_size');
  const stopCopyLength = ops.migrationGetDataSize(device);
  copyToUser(data, 0, encodeVfioDeviceFeatureMigDataSize({ stopCopyLength }), 'vfio_device_feature_mig_data_size');
  return 0;
}

/** The device's current migration state (migration_get_state), checked to be one of the eight. */
export function vfioMigrationGetState(device: VfioDevice): VfioDeviceMigState {
  const get = opsOf(device).migrationGetState;
  if (get === undefined) throw new VfioError('ENOTTY', 'device does not migrate');
  const state = get(device);
  if (!isVfioDeviceMigState(state)) throw new Error(`driver reported migration state ${state}`);
  return state;
}

/**
 * vfio_ioctl_device_feature_mig_device_state(). SET walks vfio_mig_get_next_state() arcs from the current state,
 * calling ops.migrationSetState once per arc, as the drivers' set-state loops do. Only the last arc may return a
 * stream (a stream on an earlier arc is the drivers' WARN: released, EINVAL); it becomes a new fd in data_fd,
 * otherwise data_fd is -1. A failed arc leaves the device where the driver says (GET asks it): the state before
 * the arc, or ERROR when it could not restore one, which only VFIO_DEVICE_RESET leaves.
 */
function featureMigDeviceState(device: VfioDevice, table: VfioFdTable, flags: number, data: Uint8Array, argsz: number): number {
  const ops = opsOf(device);
  const set = ops.migrationSetState;
  if (set === undefined || !hasMigOps(ops)) throw new VfioError('ENOTTY', 'device does not migrate');
  const both = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_GET;
  if (vfioCheckFeature(flags, argsz, both, VFIO_DEVICE_FEATURE_MIG_STATE_SIZEOF) !== 1) return 0;
  const mig = userView(userBuffer(data, VFIO_DEVICE_FEATURE_MIG_STATE_MINSZ, 'vfio_device_feature_mig_state'));
  if (flags & VFIO_DEVICE_FEATURE_GET) {
    mig.setUint32(0, vfioMigrationGetState(device), true);
    mig.setInt32(4, -1, true);
    return 0;
  }
  const target = mig.getUint32(0, true);
  let file: VfioMigrationFile | null = null;
  try {
    let cur = vfioMigrationGetState(device);
    while (cur !== target) {
      const next = migGetNextState(device.migrationFlags, cur, target);
      const f = set(device, next);
      cur = next;
      if (f !== null) {
        if (cur !== target) {
          f.release();
          throw new VfioError('EINVAL', 'driver returned a data stream before the final arc');
        }
        file = f;
      }
    }
  } catch (err) {
    mig.setInt32(4, -1, true);
    throw err;
  }
  mig.setInt32(4, file === null ? -1 : table.fdInstall(new VfioMigDataFile(device, file)), true);
  return 0;
}
