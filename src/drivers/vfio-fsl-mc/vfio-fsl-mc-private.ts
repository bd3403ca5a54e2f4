// The vfio-fsl-mc driver's state (drivers/vfio/fsl-mc/vfio_fsl_mc_private.h): the VFIO device of one fsl-mc object,
// its regions (built at open) and its interrupts, and the region index <-> file offset encoding.
import type { FslMcBusNotifier } from '../../hw/fsl-mc/fsl-mc-bus.js';
import type { FslMcDevice } from '../../hw/fsl-mc/fsl-mc-device.js';
import type { McRegionHw } from '../../hw/fsl-mc/mc-objects.js';
import { VfioDevice } from '../../vfio/vfio-device.js';

/** VFIO_FSL_MC_OFFSET_SHIFT: a region's index sits in the file offset's bits 40 and up. */
export const VFIO_FSL_MC_OFFSET_SHIFT = 40;
const SPAN = 2 ** VFIO_FSL_MC_OFFSET_SHIFT;

/** VFIO_FSL_MC_INDEX_TO_OFFSET(). */
export function vfioFslMcIndexToOffset(index: number): bigint {
  return BigInt(index) << BigInt(VFIO_FSL_MC_OFFSET_SHIFT);
}

/** VFIO_FSL_MC_OFFSET_TO_INDEX() and the offset inside the region (VFIO_FSL_MC_OFFSET_MASK). */
export function vfioFslMcSplitOffset(pos: number): { index: number; off: number } {
  return { index: Math.floor(pos / SPAN), off: pos % SPAN };
}

/** struct vfio_fsl_mc_region. */
export interface VfioFslMcRegion {
  readonly flags: number;
  /** The resource's FSL_MC_REGION_* bits (cacheable, shareable). */
  readonly type: number;
  readonly addr: bigint;
  readonly size: number;
  /** The window once ioremapped (on the first read or write). */
  ioaddr: McRegionHw | null;
}

/** struct vfio_fsl_mc_irq: one object irq, with the user's eventfd (a dup the device owns) or -1. */
export interface VfioFslMcIrq {
  readonly flags: number;
  readonly count: number;
  trigger: number;
  name: string;
}

/** struct vfio_fsl_mc_device: the driver state IS the vfio device. */
export class VfioFslMcDevice extends VfioDevice {
  mcDev: FslMcDevice | null = null;
  /** A DPRC's bus notifier (children get driver_override); null for other objects. */
  nb: FslMcBusNotifier | null = null;
  regions: VfioFslMcRegion[] | null = null;
  mcIrqs: VfioFslMcIrq[] | null = null;
}

/** The fsl-mc object a vfio-fsl-mc device drives; a device without one was never initialized (a bug). */
export function mcDevOf(vdev: VfioFslMcDevice): FslMcDevice {
  if (vdev.mcDev === null) throw new Error('vfio-fsl-mc device without its fsl-mc object');
  return vdev.mcDev;
}
