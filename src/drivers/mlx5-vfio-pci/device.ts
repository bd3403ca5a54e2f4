// struct mlx5vf_pci_core_device (drivers/vfio/pci/mlx5/cmd.h): a vfio-pci-core device plus what migration and
// dirty tracking keep: the PF's firmware and the VF's vhca_id, the migration state, the open data files, the tracker.
import type { Mlx5Firmware } from '../../hw/mlx5/firmware.js';
import { VfioDeviceMigState } from '../../uapi/migration.js';
import { VfioPciCoreDevice } from '../vfio-pci-core/core-device.js';
import type { Mlx5ResumeFile, Mlx5SaveFile } from './mig-file.js';

/** MAX_CHUNK_SIZE of main.c: the largest buffer one chunked SAVE fills. */
export const MLX5VF_MAX_CHUNK_SIZE = 8 << 20;

export class Mlx5VfPciCoreDevice extends VfioPciCoreDevice {
  /** mvdev->migrate_cap: the PF said the VF can migrate. */
  migrateCap = false;
  /** mvdev->chunk_mode: the firmware saves in chunks (migration_in_chunks). */
  chunkMode = false;
  /** The buffer one chunked SAVE gets at most (MAX_CHUNK_SIZE; a module option here). */
  maxChunkSize = MLX5VF_MAX_CHUNK_SIZE;
  /** mvdev->mdev: the PF's command interface, while migratable. */
  fw: Mlx5Firmware | null = null;
  vhcaId = 0;
  migState: VfioDeviceMigState = VfioDeviceMigState.RUNNING;
  savingMigf: Mlx5SaveFile | null = null;
  resumingMigf: Mlx5ResumeFile | null = null;
  /** mvdev->log_active and the PAGE_TRACK object. */
  logActive = false;
  trackerId = 0;
  trackedPageSize = 0n;
}

/** The firmware of a migratable device (a bug otherwise: migration ops run only on migratable devices). */
export function fwOf(mvdev: Mlx5VfPciCoreDevice): Mlx5Firmware {
  const fw = mvdev.fw;
  if (fw === null) throw new Error('mlx5-vfio-pci: migration op on a device that is not migratable');
  return fw;
}
