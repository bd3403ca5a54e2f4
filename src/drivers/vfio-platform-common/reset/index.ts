// The reset modules this tree ships (drivers/vfio/platform/reset/): importing this file makes them loadable by
// compatible, as their module aliases make them for request_module.
export { CALXEDA_XGMAC_COMPAT, vfioPlatformCalxedaxgmacReset } from './calxedaxgmac.js';
export { AMD_XGBE_COMPAT, vfioPlatformAmdxgbeReset } from './amdxgbe.js';
