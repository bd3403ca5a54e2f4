// The simulated ConnectX device: a PF with SR-IOV, its VFs' work queues, and the firmware commands behind the PF.
export * from './mlx5-regs.js';
export { Mlx5Pf, MLX5_DEFAULT_TRACKER_CAPS } from './pf.js';
export type { Mlx5PfOptions } from './pf.js';
export { Mlx5Vf } from './vf.js';
export type { Mlx5VfOptions, Mlx5VfRunState } from './vf.js';
export { Mlx5Firmware } from './firmware.js';
export type { Mlx5FirmwareCaps, Mlx5HcaCaps, Mlx5MigrationStateSize, Mlx5SaveOut } from './firmware.js';
export { Mlx5PageTracker } from './page-tracker.js';
export type { Mlx5TrackRange, Mlx5TrackerCaps } from './page-tracker.js';
export { Mlx5WorkQueue } from './work-queue.js';
export * from './vhca-state.js';
