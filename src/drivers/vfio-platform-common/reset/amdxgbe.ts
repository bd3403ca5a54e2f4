// The AMD XGBE reset handler (drivers/vfio/platform/reset/vfio_platform_amdxgbe.c): the PHY reset through MDIO
// (PCS CTRL1.RESET, polled), auto-negotiation and its interrupt off and cleared, then the MAC software reset
// (DMA_MR.SWR, polled). Region 0 is the XGMAC, region 1 the XPCS with its indirect MMD access. The kernel sleeps
// between polls (20 ms, 500 us); the model completes at once, so the polls here do not sleep. Timeouts warn and
// the reset still succeeds, as in the kernel.
import { hostOf } from '../../../base/device.js';
import { VfioError } from '../../../uapi/errno.js';
import type { VfioPlatformDevice, VfioPlatformRegion } from '../private.js';
import { regionRead, regionWrite } from '../regions.js';
import { vfioPlatformRegisterReset, vfioPlatformResetModuleAlias } from '../reset-registry.js';

const DMA_MR = 0x3000;
const PCS_MMD_SELECT = 0xff;
const MDIO_AN_INT = 0x8002;
const MDIO_AN_INTMASK = 0x8001;
const MDIO_MMD_PCS = 3;
const MDIO_MMD_AN = 7;
const MDIO_CTRL1 = 0x00;
const MDIO_CTRL1_RESET = 0x8000;
const MDIO_AN_CTRL1_ENABLE = 0x1000;

export const AMD_XGBE_COMPAT = 'amd,xgbe-seattle-v1a';

function xmdioRead(xpcs: VfioPlatformRegion, mmd: number, reg: number): number {
  const mmdAddress = ((mmd << 16) | (reg & 0xffff)) >>> 0;
  regionWrite(xpcs, PCS_MMD_SELECT << 2, 4, mmdAddress >>> 8);
  return regionRead(xpcs, (mmdAddress & 0xff) << 2, 4);
}

function xmdioWrite(xpcs: VfioPlatformRegion, mmd: number, reg: number, value: number): void {
  const mmdAddress = ((mmd << 16) | (reg & 0xffff)) >>> 0;
  regionWrite(xpcs, PCS_MMD_SELECT << 2, 4, mmdAddress >>> 8);
  regionWrite(xpcs, (mmdAddress & 0xff) << 2, 4, value);
}

/** vfio_platform_amdxgbe_reset(). */
export function vfioPlatformAmdxgbeReset(vdev: VfioPlatformDevice): void {
  const xgmac = vdev.regions[0];
  const xpcs = vdev.regions[1];
  if (xgmac === undefined || xpcs === undefined) throw new VfioError('ENOMEM', 'xgbe: regions 0 and 1 are not mapped');
  const log = vdev.dev === null ? null : hostOf(vdev.dev).logger;
  // Reset the PHY through MDIO.
  xmdioWrite(xpcs, MDIO_MMD_PCS, MDIO_CTRL1, xmdioRead(xpcs, MDIO_MMD_PCS, MDIO_CTRL1) | MDIO_CTRL1_RESET);
  let count = 50;
  let pcs: number;
  do pcs = xmdioRead(xpcs, MDIO_MMD_PCS, MDIO_CTRL1);
  while ((pcs & MDIO_CTRL1_RESET) !== 0 && --count > 0);
  if ((pcs & MDIO_CTRL1_RESET) !== 0) log?.warn({ device: vdev.devName }, 'XGBE PHY reset timeout');
  // Disable auto-negotiation, its interrupt, and clear it.
  xmdioWrite(xpcs, MDIO_MMD_AN, MDIO_CTRL1, xmdioRead(xpcs, MDIO_MMD_AN, MDIO_CTRL1) & ~MDIO_AN_CTRL1_ENABLE);
  xmdioWrite(xpcs, MDIO_MMD_AN, MDIO_AN_INTMASK, 0);
  xmdioWrite(xpcs, MDIO_MMD_AN, MDIO_AN_INT, 0);
  // MAC software reset.
  regionWrite(xgmac, DMA_MR, 4, regionRead(xgmac, DMA_MR, 4) | 0x1);
  count = 2000;
  while (--count > 0 && (regionRead(xgmac, DMA_MR, 4) & 1) !== 0);
  if (count === 0) log?.warn({ device: vdev.devName }, 'MAC SW reset failed');
}

// module_vfio_reset_handler("amd,xgbe-seattle-v1a", ...): loaded on first lookup.
vfioPlatformResetModuleAlias(AMD_XGBE_COMPAT, () => vfioPlatformRegisterReset(AMD_XGBE_COMPAT, vfioPlatformAmdxgbeReset));
