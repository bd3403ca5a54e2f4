// struct vfio_platform_device and its regions and IRQs (drivers/vfio/platform/vfio_platform_private.h): the VFIO
// device of a platform or AMBA device, which the bus driver (vfio-platform, vfio-amba) fills in before
// vfio_platform_init_common: its name, device flags, whether a reset is required, and how to find resources and
// IRQs (get_resource, get_irq).
import type { IrqLine } from '../../hw/platform/irq-line.js';
import type { MmioHw, Resource } from '../../hw/platform/mmio-device.js';
import { VfioDevice } from '../../vfio/vfio-device.js';
import type { VfioPlatformResetRef } from './reset-registry.js';
import type { Virqfd } from './virqfd.js';

/** VFIO_PLATFORM_OFFSET_SHIFT: a region's index lives in the file offset's high bits, as for PCI. */
export const VFIO_PLATFORM_OFFSET_SHIFT = 40;
const SHIFT = 2 ** VFIO_PLATFORM_OFFSET_SHIFT;

/** VFIO_PLATFORM_INDEX_TO_OFFSET. */
export function vfioPlatformIndexToOffset(index: number): number {
  return index * SHIFT;
}

/** VFIO_PLATFORM_OFFSET_TO_INDEX and the offset inside the region (VFIO_PLATFORM_OFFSET_MASK). */
export function vfioPlatformSplitOffset(pos: number): { index: number; offset: number } {
  return { index: Math.floor(pos / SHIFT), offset: pos % SHIFT };
}

/** VFIO_PLATFORM_REGION_TYPE_MMIO (PIO is never created here: no resource is I/O space). */
export const VFIO_PLATFORM_REGION_TYPE_MMIO = 1;

/** struct vfio_platform_region: the window, its flags, and the model that answers it (the ioremap). */
export interface VfioPlatformRegion {
  readonly addr: number;
  readonly size: number;
  readonly flags: number;
  readonly type: number;
  readonly window: number;
  readonly hw: MmioHw;
}

/** struct vfio_platform_irq. */
export interface VfioPlatformIrq {
  readonly flags: number;
  readonly count: number;
  readonly line: IrqLine;
  /** The request_irq error (the kernel keeps it in `name`): SET_IRQS returns it; null when the line was taken. */
  requestError: Error | null;
  masked: boolean;
  /** The user's trigger eventfd (our dup), -1 when none. */
  trigger: number;
  mask: Virqfd | null;
  unmask: Virqfd | null;
}

/** vdev->reset: resets the device through its regions; throws a VfioError on failure. */
export type VfioPlatformResetFn = (vdev: VfioPlatformDevice) => void;

export class VfioPlatformDevice extends VfioDevice {
  /** vdev->name: the platform device's name, or `vfio-amba-<periphid>` (the core's `name` is `vfioN`). */
  devName = '';
  /** vdev->compat: the node's first compatible string. */
  compat = '';
  /** VFIO_DEVICE_FLAGS_PLATFORM or _AMBA (plus RESET once a reset is known). */
  flags = 0;
  resetRequired = true;
  /** The reset handler's module reference (vdev->of_reset with vdev->reset_module), null when none. */
  resetRef: VfioPlatformResetRef | null = null;
  regions: VfioPlatformRegion[] = [];
  irqs: VfioPlatformIrq[] = [];
  /** vdev->get_resource: the i-th MMIO resource of the device, null past the last. */
  getResource: ((vdev: VfioPlatformDevice, i: number) => Resource | null) | null = null;
  /** vdev->get_irq: the i-th interrupt line, null past the last. */
  getIrq: ((vdev: VfioPlatformDevice, i: number) => IrqLine | null) | null = null;
}
