// How an open emulated-IOMMU device reaches user memory (vfio_dma_rw, vfio_pin_pages, vfio_unpin_pages in
// vfio_main.c): through its group's container (type1) or its iommufd access, whichever the open bound.
import { VfioError } from '../uapi/errno.js';
import type { VfioDevice } from './vfio-device.js';

/** Implemented by the type1 container binding and the iommufd access binding. */
export interface VfioDmaAccess {
  dmaRw(iova: bigint, buf: Uint8Array, write: boolean): void;
  pinPages(iova: bigint, npage: number, prot: number): void;
  unpinPages(iova: bigint, npage: number): void;
  /** Optional: DMA that may complete later (memory the user shares by messages, e.g. vfio-user without an fd). */
  dmaRwAsync?(iova: bigint, buf: Uint8Array, write: boolean): Promise<void>;
}

/** An asynchronous DMA path a device's user supplies from outside the core (the vfio-user server does). */
export type DmaRwAsync = (iova: bigint, buf: Uint8Array, write: boolean) => Promise<void>;

const asyncPaths = new WeakMap<VfioDevice, DmaRwAsync>();

/** Installs (or, with undefined, removes) the asynchronous DMA path of `device` while its user has it open. */
export function vfioSetDmaRwAsync(device: VfioDevice, fn: DmaRwAsync | undefined): void {
  if (fn === undefined) asyncPaths.delete(device);
  else asyncPaths.set(device, fn);
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
 * vfio_dma_rw() for memory that may not be reachable synchronously: uses the access's (or the installed)
 * asynchronous path when there is one, else the synchronous vfioDmaRw. On a range the user shares only by
 * messages, the synchronous path fails with EFAULT; this one reaches it.
 */
export async function vfioDmaRwAsync(device: VfioDevice, iova: bigint, buf: Uint8Array, write: boolean): Promise<void> {
  if (buf.length === 0) throw new VfioError('EINVAL', 'empty dma_rw');
  const a = accessOf(device);
  if (a.dmaRwAsync !== undefined) return a.dmaRwAsync(iova, buf, write);
  const fn = asyncPaths.get(device);
  if (fn !== undefined) return fn(iova, buf, write);
  a.dmaRw(iova, buf, write);
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
