// A dma-buf fd of an emulated display's plane (drivers/dma-buf/dma-buf.c dma_buf_export + dma_buf_fd, as gvt's
// dmabuf.c and the mbochs sample hand them out): a file in the calling process's fd table whose pages are the
// device's own memory (a range of the memfd behind graphics memory or VRAM), not a copy. It holds its own
// reference to that memory (a dup of the memfd, as a dma-buf holds its pages), so it stays valid after the device
// is closed or gone, until the user closes it or the process exits.
import { close, dup } from '../native/index.js';
import { check } from '../uapi/errno.js';
import { VfioFile } from '../vfio/vfio-file.js';

const PAGE_SIZE = 4096;

export class DmabufFile extends VfioFile {
  readonly kind = 'dmabuf';
  /** Our reference to the memory: a dup of the device's memfd; -1 once released. */
  private memFd: number;

  constructor(
    label: string,
    memFd: number,
    /** Where the buffer's first page is in the memfd (page aligned). */
    readonly offset: number,
    /** Bytes, whole pages. */
    readonly size: number,
  ) {
    check(offset % PAGE_SIZE === 0 && size > 0 && size % PAGE_SIZE === 0, 'EINVAL', 'a dma-buf is whole pages');
    super(label);
    this.memFd = dup(memFd);
  }

  /** dma_buf_mmap(): the buffer's pages from `pos`; EINVAL past its end or off a page boundary. */
  override mmap(pos: number, length: number, _writable: boolean): { fd: number; offset: number } {
    check(this.memFd >= 0, 'EBADF', 'dma-buf released');
    check(Number.isSafeInteger(pos) && pos >= 0 && pos % PAGE_SIZE === 0, 'EINVAL', `dma-buf mmap at ${pos}`);
    check(Number.isSafeInteger(length) && length > 0 && pos + length <= this.size, 'EINVAL', `dma-buf mmap of ${length} bytes at ${pos} past ${this.size}`);
    return { fd: this.memFd, offset: this.offset + pos };
  }

  /** The last reference: our hold on the memory goes. */
  protected release(): void {
    if (this.memFd >= 0) close(this.memFd);
    this.memFd = -1;
  }
}
