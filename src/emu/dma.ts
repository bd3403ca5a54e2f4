// DMA for emulated devices: the CPU copies to and from user memory on the device's behalf (vfio_dma_rw in vfio_main.c).
import { vfioDmaRw } from '../vfio/dma-access.js';
import type { VfioDevice } from '../vfio/vfio-device.js';

/** Reads `buf.length` bytes of user memory at `iova` into `buf` (EINVAL if the device is not open or has no IOMMU access). */
export function dmaRead(dev: VfioDevice, iova: bigint, buf: Uint8Array): void {
  vfioDmaRw(dev, iova, buf, false);
}

/** Writes `buf` into user memory at `iova`. */
export function dmaWrite(dev: VfioDevice, iova: bigint, buf: Uint8Array): void {
  vfioDmaRw(dev, iova, buf, true);
}
