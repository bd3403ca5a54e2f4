// How an open emulated-IOMMU device reaches user memory (vfio_dma_rw, vfio_pin_pages, vfio_unpin_pages in
// vfio_main.c): through its group's container (type1) or its iommufd access, whichever the open bound.
import { VfioError } from '../uapi/errno.js';
import type { VfioDevice } from './vfio-device.js';

/** Implemented by the type1 container binding and the iommufd access binding. */
export interface VfioDmaAccess {
  dmaRw(iova: bigint, buf: Uint8Array, write: boolean): void;
  pinPages(iova: bigint, npage: number, prot: number): void;
  unpinPages(iova: bigint, npage: number): void;
}

function accessOf(device: VfioDevice): VfioDmaAccess {
  if (device.openCount === 0) throw new VfioError('EINVAL', 'device is not open');
  const a = device.dmaAccess;
  if (a === null) throw new VfioError('EINVAL', 'device has no container or iommufd access');
  return a;
}

/** vfio_dma_rw(): the CPU reads or writes user memory at `iova` on the device's behalf. */
export function vfioDmaRw(device: VfioDevice, iova: bigint, buf: Uint8Array, write: boolean): void {
  if (buf.length === 0) throw new VfioError('EINVAL', 'empty dma_rw');
  accessOf(device).dmaRw(iova, buf, write);
}

/** vfio_pin_pages(): pins `npage` pages from `iova`; the device must unpin them (at the latest in dmaUnmap). */
export function vfioPinPages(device: VfioDevice, iova: bigint, npage: number, prot: number): void {
  if (npage <= 0) throw new VfioError('EINVAL', 'npage must be positive');
  accessOf(device).pinPages(iova, npage, prot);
}

/** vfio_unpin_pages(). */
export function vfioUnpinPages(device: VfioDevice, iova: bigint, npage: number): void {
  accessOf(device).unpinPages(iova, npage);
}
