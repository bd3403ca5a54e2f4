// What a vfio-user connection needs from a simulated userspace process (src/vfio/vfio-process.ts VfioProcess):
// file descriptors for /dev nodes, ioctls and region access on them, and an address space to map DMA memory into.
import type { Host } from '../base/host.js';
import type { UserAddressSpace } from '../vfio/dma-space.js';

/**
 * The subset of VfioProcess the server uses. A connection is one process: it opens the device's cdev and
 * /dev/iommu, and closeAll() on disconnect drops everything the way process exit does.
 * Calls throw VfioError on failure, as the kernel returns -errno.
 */
export interface DeviceProcess {
  readonly mm: UserAddressSpace;
  open(path: string): number;
  close(fd: number): void;
  ioctl(fd: number, cmd: number, arg?: Uint8Array | number): number;
  /** A device fd's region `index` at `offset`; the caller checked the range against GET_REGION_INFO. */
  regionRead(fd: number, index: number, offset: number, buf: Uint8Array): number;
  regionWrite(fd: number, index: number, offset: number, buf: Uint8Array): number;
  read(fd: number, buf: Uint8Array): number;
  write(fd: number, buf: Uint8Array): number;
  /** mmap(2) of a device fd: the fd and offset backing [pos, pos+len) (the fd stays the process's/driver's). */
  mmap?(fd: number, pos: number, len: number, writable: boolean): { fd: number; offset: number };
  closeAll(): void;
}

/** Makes the process a new connection runs as. */
export type DeviceProcessFactory = (host: Host) => DeviceProcess;
