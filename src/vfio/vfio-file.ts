// A file in a VfioProcess's fd table (struct file + its file_operations, include/linux/fs.h): refcounted like
// get_file/fput, and answering the calls it has no operation for as the VFS does (fs/ioctl.c, fs/read_write.c).
import type { Logger } from '../base/log.js';
import { sanitizer } from '../sanitizer/sanitizer.js';
import { VfioError } from '../uapi/errno.js';
import type { VfioFdKind } from '../uapi/ioctl.js';
import type { UserAddressSpace } from './dma-space.js';
import type { VfioDevice } from './vfio-device.js';

/** An ioctl's argument: the user's struct buffer (updated in place), an integer, or nothing. */
export type IoctlArg = Uint8Array | number | undefined;

/** What a file's ioctl may use of the calling process: its fds and its memory. */
export interface VfioFdTable {
  /** The process's memory: user pointers inside ioctl structs (bitmaps, range arrays) point into it. */
  readonly mm: UserAddressSpace;
  readonly logger: Logger;
  /** fdget(): the file behind `fd`, borrowed for the duration of the call; EBADF if none. */
  fget(fd: number): VfioFile;
  /** fd_install(): a new fd (the lowest free) for `file`, which takes over the caller's reference. */
  fdInstall(file: VfioFile): number;
}

/** The fd table of the process whose device ioctl is running (the kernel's current->files), null between calls. */
let currentTable: VfioFdTable | null = null;

/**
 * Runs a device's ioctl with `table` as the calling process's fd table, so that a driver handing out a new file
 * (dma_buf_fd() for VFIO_DEVICE_GET_GFX_DMABUF) installs it where the kernel would: in current->files.
 */
export function withCurrentFdTable<T>(table: VfioFdTable, fn: () => T): T {
  const prev = currentTable;
  currentTable = table;
  try {
    return fn();
  } finally {
    currentTable = prev;
  }
}

/** fd_install() into the calling process's table (current->files); EBADF outside a device ioctl. */
export function fdInstallCurrent(file: VfioFile): number {
  if (currentTable === null) throw new VfioError('EBADF', 'no calling process to install an fd in');
  return currentTable.fdInstall(file);
}

export abstract class VfioFile {
  abstract readonly kind: VfioFdKind;
  private refs = 1;

  constructor(label: string) {
    sanitizer.track(this, 'vfio_file', label);
  }

  /** get_file(): one more reference (an fd, or an object that keeps the file open). */
  get(): this {
    this.refs++;
    return this;
  }

  /** fput(): the last reference runs release. */
  put(): void {
    if (this.refs <= 0) throw new Error(`${this.kind} file: put after the last put`);
    if (--this.refs > 0) return;
    this.release();
    sanitizer.free(this);
  }

  /** f_op->release: the last reference is gone. */
  protected abstract release(): void;

  /** f_op->unlocked_ioctl; a file without one answers ENOTTY. A promise: the ioctl sleeps (see mightSleep). */
  ioctl(_table: VfioFdTable, _cmd: number, _arg: IoctlArg): number | Promise<number> {
    throw new VfioError('ENOTTY', `no ioctls on a ${this.kind} file`);
  }

  /** read(2) (`pos` null) or pread(2); a file without read answers EINVAL. */
  read(_buf: Uint8Array, _pos: number | null): number {
    throw new VfioError('EINVAL', `${this.kind} file cannot be read`);
  }

  /** write(2) (`pos` null) or pwrite(2); a file without write answers EINVAL. */
  write(_buf: Uint8Array, _pos: number | null): number {
    throw new VfioError('EINVAL', `${this.kind} file cannot be written`);
  }

  /** mmap(2); a file without mmap answers ENODEV. */
  mmap(_pos: number, _length: number, _writable: boolean): { fd: number; offset: number } {
    throw new VfioError('ENODEV', `${this.kind} file cannot be mapped`);
  }

  /**
   * vfio_file_has_dev(): whether holding this file proves ownership of `device` (PCI hot reset asks). A group file
   * owns the devices of its group, a device file its device; other files own nothing.
   */
  hasDev(_device: VfioDevice): boolean {
    return false;
  }
}

/** vfio_file_is_valid(): a VFIO group or device file (the kernel compares f_op; here the file's kind says it). */
export function vfioFileIsValid(file: VfioFile): boolean {
  return file.kind === 'group' || file.kind === 'device';
}

/**
 * The user buffer an ioctl copies `size` bytes from or to. The buffer is all the user memory at that address:
 * a copy past its end faults (EFAULT), as copy_from_user/copy_to_user would on an unmapped page.
 */
export function userBuffer(arg: IoctlArg, size: number, what: string): Uint8Array {
  if (!(arg instanceof Uint8Array)) throw new VfioError('EFAULT', `${what}: no user buffer`);
  if (arg.byteLength < size) throw new VfioError('EFAULT', `${what}: ${arg.byteLength}-byte buffer, ${size} bytes copied`);
  return arg;
}

/** copy_to_user() of `src` at `off` within the user's buffer. */
export function copyToUser(buf: Uint8Array, off: number, src: Uint8Array, what: string): void {
  if (off + src.byteLength > buf.byteLength) throw new VfioError('EFAULT', `${what}: reply past the end of the user buffer`);
  buf.set(src, off);
}

/** An integer ioctl argument (CHECK_EXTENSION, SET_IOMMU); a buffer is an address, i.e. no valid value (-1). */
export function userInt(arg: IoctlArg): number {
  return typeof arg === 'number' && Number.isInteger(arg) ? arg : -1;
}

/** A DataView over a user buffer already checked with userBuffer. */
export function userView(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}
