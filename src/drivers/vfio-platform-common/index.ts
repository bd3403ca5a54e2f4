// vfio-platform-common: the library vfio-platform and vfio-amba share (drivers/vfio/platform/vfio_platform_common.c,
// vfio_platform_irq.c, reset/). No descriptor: the registry skips this folder.
export { VfioPlatformDevice, VFIO_PLATFORM_OFFSET_SHIFT, vfioPlatformIndexToOffset, vfioPlatformSplitOffset } from './private.js';
export type { VfioPlatformIrq, VfioPlatformRegion, VfioPlatformResetFn } from './private.js';
export {
  vfioPlatformCloseDevice,
  vfioPlatformCommonOps,
  vfioPlatformInitCommon,
  vfioPlatformIoctl,
  vfioPlatformMmap,
  vfioPlatformOpenDevice,
  vfioPlatformRead,
  vfioPlatformReleaseCommon,
  vfioPlatformWrite,
} from './common.js';
export { vfioPlatformGetReset, vfioPlatformHasResetFor, vfioPlatformPutReset, vfioPlatformRegisterReset, vfioPlatformUnregisterReset } from './reset-registry.js';
export type { VfioPlatformResetRef } from './reset-registry.js';
export { AMD_XGBE_COMPAT, CALXEDA_XGMAC_COMPAT, vfioPlatformAmdxgbeReset, vfioPlatformCalxedaxgmacReset } from './reset/index.js';
