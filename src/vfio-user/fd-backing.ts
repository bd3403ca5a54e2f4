// Client memory reached through its file instead of a mapping: for a DMA_MAP fd that is not sealed against
// shrinking (QEMU's memory-backend-file on /dev/shm or hugetlbfs), where an mmap could fault with SIGBUS (and take
// the whole server down) once the client truncated the file. Reads and writes go through pread/pwrite, so memory the
// client took away is an EFAULT for the device, never a signal. Sealed memfds are mmapped (handlers-dma.ts).
import * as native from '../native/index.js';
import { VfioError } from '../uapi/errno.js';
import type { DmaBacking } from '../vfio/dma-space.js';

export class FdBacking implements DmaBacking {
  /**
   * `fd` is taken: it is closed by close(). `offset` is where the mapping starts in the file; the caller checked
   * that [offset, offset + size) was inside it when the mapping was made.
   */
  constructor(
    private fd: number,
    private readonly offset: number,
    readonly size: number,
  ) {}

  read(offset: number, dst: Uint8Array): void {
    this.#check(offset, dst.length);
    const n = native.pread(this.fd, dst, this.offset + offset);
    if (n !== dst.length) throw new VfioError('EFAULT', `client memory at +0x${offset.toString(16)} is gone (${n < 0 ? `errno ${-n}` : 'past the end of its file'})`);
  }

  write(offset: number, src: Uint8Array): void {
    this.#check(offset, src.length);
    // A pwrite past the end would grow the client's file: the memory it took away is refused instead.
    if (this.offset + offset + src.length > native.fstatSize(this.fd)) {
      throw new VfioError('EFAULT', `client memory at +0x${offset.toString(16)} is gone (past the end of its file)`);
    }
    const n = native.pwrite(this.fd, src, this.offset + offset);
    if (n !== src.length) throw new VfioError('EFAULT', `client memory at +0x${offset.toString(16)}: write failed (${n < 0 ? `errno ${-n}` : 'short'})`);
  }

  /** Balances the fd taken in the constructor. Idempotent. */
  close(): void {
    if (this.fd >= 0) native.close(this.fd);
    this.fd = -1;
  }

  #check(offset: number, length: number): void {
    if (this.fd < 0) throw new VfioError('EFAULT', 'client memory unmapped');
    if (offset < 0 || offset + length > this.size) throw new VfioError('EFAULT', 'access past the mapping');
  }
}
