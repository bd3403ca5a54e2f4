// Migration data streams (the kernel's data_fd files) for devices that save a snapshot: a saving file read in chunks
// and a resuming file written in chunks (samples/vfio-mdev/mtty.c mtty_save_read, mtty_resume_write, mtty_precopy_ioctl).
import { VfioError, check } from '../uapi/errno.js';
import type { VfioMigrationFile } from '../vfio/vfio-ops.js';

class ByteBuffer {
  private data = new Uint8Array(256);
  length = 0;

  append(bytes: Uint8Array): void {
    if (this.length + bytes.length > this.data.length) {
      const next = new Uint8Array(Math.max(this.data.length * 2, this.length + bytes.length));
      next.set(this.data.subarray(0, this.length));
      this.data = next;
    }
    this.data.set(bytes, this.length);
    this.length += bytes.length;
  }

  view(): Uint8Array {
    return this.data.subarray(0, this.length);
  }
}

/**
 * A saving stream: the device appends records (an initial snapshot in PRE_COPY, the final one at STOP_COPY) and the
 * user reads them in any chunk size. Once disabled (the device left the saving states, or reset) reads are ENODEV.
 */
export class SavingMigrationFile implements VfioMigrationFile {
  private readonly buf = new ByteBuffer();
  private pos = 0;
  disabled = false;

  /** `inPreCopy` tells precopyInfo whether the device is in PRE_COPY or PRE_COPY_P2P. */
  constructor(private readonly inPreCopy: () => boolean) {}

  /** Device side: more of the stream. */
  append(bytes: Uint8Array): void {
    this.buf.append(bytes);
  }

  read(out: Uint8Array): number {
    if (this.disabled) throw new VfioError('ENODEV', 'migration stream is closed');
    const n = Math.min(out.length, this.buf.length - this.pos);
    out.set(this.buf.view().subarray(this.pos, this.pos + n));
    this.pos += n;
    return n;
  }

  /** VFIO_MIG_GET_PRECOPY_INFO: what is left of the initial data; nothing gets dirty. */
  precopyInfo(): { initialBytes: bigint; dirtyBytes: bigint } {
    check(this.inPreCopy(), 'EINVAL', 'PRECOPY_INFO outside PRE_COPY');
    if (this.disabled) throw new VfioError('ENODEV', 'migration stream is closed');
    return { initialBytes: BigInt(this.buf.length - this.pos), dirtyBytes: 0n };
  }

  release(): void {
    this.disabled = true;
  }
}

/** A resuming stream: the user writes the saved bytes; the device applies them at RESUMING -> STOP. */
export class ResumingMigrationFile implements VfioMigrationFile {
  private readonly buf = new ByteBuffer();
  disabled = false;

  /** More than `maxBytes` in all is ENOMEM, as mtty_resume_write refuses data past its struct. */
  constructor(private readonly maxBytes: number) {}

  write(data: Uint8Array): number {
    if (this.disabled) throw new VfioError('ENODEV', 'migration stream is closed');
    check(this.buf.length + data.length <= this.maxBytes, 'ENOMEM', `resume data past ${this.maxBytes} bytes`);
    this.buf.append(data);
    return data.length;
  }

  /** Everything written so far. */
  bytes(): Uint8Array {
    return this.buf.view();
  }

  release(): void {
    this.disabled = true;
  }
}
