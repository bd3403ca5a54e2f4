// The vfio-ap driver's public surface: its registry descriptor and module, the matrix mdev, its sysfs
// operations, and the guest's view of its queues.
export { driver, vfioApRegister } from './vfio-ap-driver.js';
export type { VfioApModule } from './vfio-ap-driver.js';
export { MatrixDev, VFIO_AP_MAX_INSTANCES } from './matrix-dev.js';
export { ApMatrixMdev, vfioApAssign, vfioApUnassign, vfioApSetConfig, vfioApShowConfig } from './matrix-mdev.js';
export { vfioApMatrixDevOps } from './matrix-ops.js';
export { vfioApMatrixShow } from './matrix.js';
export type { ApMatrix } from './matrix.js';
export { AP_RESET_INTERVAL, MAX_RESET_CHECK_WAIT, VfioApQueue } from './vfio-ap-queue.js';
export { vfioApGuestDqap, vfioApGuestNqap, vfioApGuestTapq, vfioApGuestZapq } from './guest.js';
export { vfioApModuleOptions, vfioApParamsSchema } from './vfio-ap-params.js';
export type { VfioApModuleOptions, VfioApParams } from './vfio-ap-params.js';
