// How an open emulated-IOMMU device reaches user memory (vfio_dma_rw, vfio_pin_pages, vfio_unpin_pages in
// vfio_main.c): through its group's container (type1) or its iommufd access, whichever the open bound.
import { VfioError } from '../uapi/errno.js';
import { dmaSegmentsRwAsync, type DmaSegment } from './dma-space.js';
import type { VfioDevice } from './vfio-device.js';

/** Implemented by the type1 container binding and the iommufd access binding. */
export interface VfioDmaAccess {
  dmaRw(iova: bigint, buf: Uint8Array, write: boolean): void;
  pinPages(iova: bigint, npage: number, prot: number): void;
  unpinPages(iova: bigint, npage: number): void;
  /**
   * The process memory behind [iova, iova + length), in order, checked (and, for a write, dirty-logged) as
   * dmaRw would, without copying: vfioDmaRwAsync copies through it. Absent: vfioDmaRwAsync takes dmaRw.
   */
  dmaSegments?(iova: bigint, length: number, write: boolean): DmaSegment[];
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

/**
 * vfio_dma_rw() for memory that may not be reachable synchronously: the access translates `iova` to the
 * process's memory, and each piece is copied with its backing's asynchronous accessors when it has them (memory
 * a vfio-user client shares by messages), else synchronously. On such memory the synchronous vfioDmaRw fails
 * with EFAULT; this one reaches it. `buf` must stay untouched until the promise settles.
 */
export async function vfioDmaRwAsync(device: VfioDevice, iova: bigint, buf: Uint8Array, write: boolean): Promise<void> {
  if (buf.length === 0) throw new VfioError('EINVAL', 'empty dma_rw');
  const a = accessOf(device);
  if (a.dmaSegments === undefined) {
    a.dmaRw(iova, buf, write);
    return;
  }
  await dmaSegmentsRwAsync(a.dmaSegments(iova, buf.length, write), buf, write);
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
