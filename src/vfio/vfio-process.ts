// A userspace process as VFIO sees it: an fd table of VFIO files and the memory its pointers refer to. open()
// follows the char devices of drivers/vfio (container.c /dev/vfio/vfio, group.c /dev/vfio/N, device_cdev.c
// /dev/vfio/devices/vfioN) and drivers/iommu/iommufd/main.c (/dev/iommu); the fd calls follow fs/ioctl.c and
// fs/read_write.c, plus a region-addressed read/write of device fds that has no syscall of its own (device-region.ts).
import type { Host } from '../base/host.js';
import type { Logger } from '../base/log.js';
import { withSleepAllowed } from '../base/sleep.js';
import { VfioError } from '../uapi/errno.js';
import { UserAddressSpace } from './dma-space.js';
import type { VfioDeviceFile } from './device-file.js';
import { cdevOpen } from './cdev.js';
import type { IoctlArg, VfioFdTable } from './vfio-file.js';
import { VfioFile } from './vfio-file.js';
import { VfioContainerFile } from './container.js';
import { vfioGroupFopsOpen } from './group-file.js';
import { VfioDeviceFops } from './device-fops.js';
import { IommufdFile } from './iommufd-file.js';
import { deviceFileRegionRw } from './device-region.js';

export interface VfioProcessOptions {
  readonly logger?: Logger;
  /** The process's memory; a fresh, empty address space by default. */
  readonly mm?: UserAddressSpace;
}

/** The first fd a process gets: 0-2 are stdio. */
const FIRST_FD = 3;

/**
 * A userspace process using VFIO: an fd table of VFIO files and its user memory (`mm`, where MAP_DMA vaddrs,
 * IOAS user_va and the pointers inside ioctl structs point).
 *
 * Fds are this table's own numbers (lowest free first, from 3), not OS fds: pass them where the uAPI expects
 * a VFIO fd (SET_CONTAINER's container fd, BIND_IOMMUFD's iommufd, PCI_HOT_RESET's group fds). The eventfds
 * inside VFIO_DEVICE_SET_IRQS data are different: they are real OS fds, which the driver dups.
 *
 * `ioctl` passes `arg` exactly as the kernel sees it: the user's struct buffer, read and updated in place
 * (a copy past the buffer's end is EFAULT, like an unmapped page), or an integer (CHECK_EXTENSION, SET_IOMMU).
 * It returns the ioctl's non-negative result and throws VfioError with the kernel's errno.
 */
export class VfioProcess implements VfioFdTable {
  readonly mm: UserAddressSpace;
  readonly logger: Logger;
  /** fd -> file, in order of opening (a Map keeps insertion order). */
  private readonly files = new Map<number, VfioFile>();
  /** Freed fds below `nextFd`, for lowest-free allocation. */
  private readonly freeFds: number[] = [];
  private nextFd = FIRST_FD;

  constructor(
    readonly host: Host,
    opts: VfioProcessOptions = {},
  ) {
    this.logger = opts.logger ?? host.logger;
    this.mm = opts.mm ?? new UserAddressSpace();
  }

  /** open(2): '/dev/vfio/vfio', '/dev/vfio/<N>', '/dev/vfio/devices/vfioN' or '/dev/iommu'; ENOENT otherwise. */
  open(path: string): number {
    return this.fdInstall(this.openFile(path));
  }

  /** close(2): EBADF if `fd` is not open. The file is released when its last reference goes. */
  close(fd: number): void {
    const file = this.fget(fd);
    this.files.delete(fd);
    this.freeFds.push(fd);
    file.put();
  }

  /**
   * ioctl(2) from a caller that does not wait: an ioctl that sleeps (vfio_ap's RESET waits for its queues) is
   * refused before it starts (mightSleep); use ioctlAsync for those.
   */
  ioctl(fd: number, cmd: number, arg?: Uint8Array | number): number {
    const a: IoctlArg = arg;
    const ret = this.fget(fd).ioctl(this, cmd >>> 0, a);
    if (typeof ret !== 'number') {
      // A driver that sleeps without mightSleep(): a bug; its promise still runs to the end.
      ret.catch(() => {});
      throw new Error(`BUG: ioctl 0x${(cmd >>> 0).toString(16)} slept without might_sleep(); call it with ioctlAsync`);
    }
    return ret;
  }

  /**
   * ioctl(2) from a task that may sleep: the answer of an ioctl that waits (for hardware) comes when it is done,
   * and the event loop runs meanwhile. The file stays referenced for the whole call, as fdget holds it in the
   * kernel: closing the fd meanwhile releases the device only after the ioctl returns.
   */
  async ioctlAsync(fd: number, cmd: number, arg?: Uint8Array | number): Promise<number> {
    const a: IoctlArg = arg;
    const file = this.fget(fd).get();
    try {
      return await withSleepAllowed(() => file.ioctl(this, cmd >>> 0, a));
    } finally {
      file.put();
    }
  }

  /** pread(2): device files read region bytes at `pos` (region offset + offset within the region). */
  pread(fd: number, buf: Uint8Array, pos: number): number {
    checkPos(pos);
    return this.fget(fd).read(buf, pos);
  }

  pwrite(fd: number, buf: Uint8Array, pos: number): number {
    checkPos(pos);
    return this.fget(fd).write(buf, pos);
  }

  /**
   * Reads `buf.length` bytes at `offset` of region `index` of a device fd: pread without a file position that
   * encodes the region. The caller checks the range against GET_REGION_INFO (as libvfio-user checks before its
   * region callbacks) and the driver trusts it; pread, the uAPI's edge, checks for itself. EINVAL for a fd that
   * is not a device's.
   */
  regionRead(fd: number, index: number, offset: number, buf: Uint8Array): number {
    return deviceFileRegionRw(this.deviceFile(fd), index, offset, buf, false);
  }

  /** regionRead's write: `buf` to `offset` of region `index` of a device fd. */
  regionWrite(fd: number, index: number, offset: number, buf: Uint8Array): number {
    return deviceFileRegionRw(this.deviceFile(fd), index, offset, buf, true);
  }

  /** read(2) at the file position: migration data fds give the saving stream. */
  read(fd: number, buf: Uint8Array): number {
    return this.fget(fd).read(buf, null);
  }

  /** write(2) at the file position: migration data fds take the resuming stream. */
  write(fd: number, buf: Uint8Array): number {
    return this.fget(fd).write(buf, null);
  }

  /** mmap(2) of a device file: which fd and offset back [pos, pos + length). ENODEV for files without mmap. */
  mmap(fd: number, pos: number, length: number, writable: boolean): { fd: number; offset: number } {
    checkPos(pos);
    return this.fget(fd).mmap(pos, length, writable);
  }

  /** The device file behind a device fd, for in-process users that need the object (EINVAL for other fds). */
  deviceFile(fd: number): VfioDeviceFile {
    const file = this.fget(fd);
    if (!(file instanceof VfioDeviceFops)) throw new VfioError('EINVAL', `fd ${fd} is not a device fd`);
    return file.df;
  }

  /** Process exit: closes every fd, most recently opened first. */
  closeAll(): void {
    for (const fd of [...this.files.keys()].reverse()) {
      if (this.files.has(fd)) this.close(fd);
    }
  }

  /** The open fds, in order of opening. */
  fds(): number[] {
    return [...this.files.keys()];
  }

  fget(fd: number): VfioFile {
    const file = this.files.get(fd);
    if (file === undefined) throw new VfioError('EBADF', `fd ${fd} is not open`);
    return file;
  }

  fdInstall(file: VfioFile): number {
    let fd: number;
    if (this.freeFds.length > 0) {
      let min = 0;
      for (let i = 1; i < this.freeFds.length; i++) if ((this.freeFds[i] ?? 0) < (this.freeFds[min] ?? 0)) min = i;
      fd = this.freeFds.splice(min, 1)[0] ?? this.nextFd++;
    } else {
      fd = this.nextFd++;
    }
    this.files.set(fd, file);
    return fd;
  }

  private openFile(path: string): VfioFile {
    if (path === '/dev/vfio/vfio') return new VfioContainerFile();
    if (path === '/dev/iommu') return new IommufdFile(this.mm, this.logger);
    if (path.startsWith('/dev/vfio/devices/')) return new VfioDeviceFops(cdevOpen(this.host, path), null);
    if (path.startsWith('/dev/vfio/')) return vfioGroupFopsOpen(this.host, path);
    throw new VfioError('ENOENT', path);
  }
}

function checkPos(pos: number): void {
  if (!Number.isSafeInteger(pos) || pos < 0) throw new VfioError('EINVAL', `bad file position ${pos}`);
}
