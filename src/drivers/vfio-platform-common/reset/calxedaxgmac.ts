// The Calxeda XGMAC reset handler (drivers/vfio/platform/reset/vfio_platform_calxedaxgmac.c): interrupts off, then
// the MAC core off (TX/RX DMA stopped, transmitter and receiver disabled), through region 0.
import { VfioError } from '../../../uapi/errno.js';
import type { VfioPlatformDevice } from '../private.js';
import { regionRead, regionWrite } from '../regions.js';
import { vfioPlatformRegisterReset, vfioPlatformResetModuleAlias } from '../reset-registry.js';

const XGMAC_CONTROL = 0x00000000;
const XGMAC_DMA_CONTROL = 0x00000f18;
const XGMAC_DMA_INTR_ENA = 0x00000f1c;
const DMA_CONTROL_ST = 0x00002000;
const DMA_CONTROL_SR = 0x00000002;
const MAC_ENABLE_TX = 0x00000008;
const MAC_ENABLE_RX = 0x00000004;

export const CALXEDA_XGMAC_COMPAT = 'calxeda,hb-xgmac';

/** vfio_platform_calxedaxgmac_reset(). */
export function vfioPlatformCalxedaxgmacReset(vdev: VfioPlatformDevice): void {
  const reg = vdev.regions[0];
  if (reg === undefined) throw new VfioError('ENOMEM', 'xgmac: region 0 is not mapped');
  // Disable interrupts.
  regionWrite(reg, XGMAC_DMA_INTR_ENA, 4, 0);
  // Disable the MAC core (xgmac_mac_disable).
  regionWrite(reg, XGMAC_DMA_CONTROL, 4, regionRead(reg, XGMAC_DMA_CONTROL, 4) & ~(DMA_CONTROL_ST | DMA_CONTROL_SR));
  regionWrite(reg, XGMAC_CONTROL, 4, regionRead(reg, XGMAC_CONTROL, 4) & ~(MAC_ENABLE_TX | MAC_ENABLE_RX));
}

// module_vfio_reset_handler("calxeda,hb-xgmac", ...): loaded on first lookup.
vfioPlatformResetModuleAlias(CALXEDA_XGMAC_COMPAT, () => vfioPlatformRegisterReset(CALXEDA_XGMAC_COMPAT, vfioPlatformCalxedaxgmacReset));
