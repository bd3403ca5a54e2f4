// A device memory that migrates page by page (mdpy's framebuffer, mbochs's VRAM): the memfd behind the BAR, the
// pages its BAR write handlers changed, and page I/O through pread/pwrite. Not from the kernel: the display
// samples do not migrate there. Reads go through pread, not the mapping, so pages never touched (holes of the
// sparse memfd) read as zeros without being allocated, on the saving and on the resuming side.
import * as native from '../native/index.js';
import { check } from '../uapi/errno.js';
import { MIG_PAGE_SIZE, ZERO_PAGE_CRC, pageCrc } from './page-records.js';

/** Pages per pread while scanning (1 MiB). */
const SCAN_PAGES = 256;

/** What a scan found: each page's CRC-32 and whether it is all zeros. */
export interface MemoryScan {
  readonly crcs: Uint32Array;
  /** 1 for a page of zeros. */
  readonly zero: Uint8Array;
}

export class MigratableMemory {
  readonly pages: number;
  /**
   * Pages the device's BAR handlers wrote since a saving stream last sent them (1 = written). Writes through a
   * user's mmap of the memfd do not pass here: the saving stream finds those by comparing page checksums.
   */
  readonly written: Uint8Array;

  /** `fd` stays the driver's (it closes it in release, after the migration is gone). */
  constructor(
    readonly fd: number,
    readonly size: number,
  ) {
    check(Number.isSafeInteger(size) && size > 0 && size % MIG_PAGE_SIZE === 0, 'EINVAL', `migratable memory of ${size} bytes`);
    this.pages = size / MIG_PAGE_SIZE;
    this.written = new Uint8Array(this.pages);
  }

  /** Called by the BAR's write handler: the pages under [offset, offset + length) changed. */
  markWritten(offset: number, length: number): void {
    if (length <= 0) return;
    const first = Math.floor(offset / MIG_PAGE_SIZE);
    const last = Math.min(this.pages - 1, Math.floor((offset + length - 1) / MIG_PAGE_SIZE));
    this.written.fill(1, first, last + 1);
  }

  /** Pages [first, first + count) into `out` (count * 4096 bytes). */
  read(first: number, count: number, out: Uint8Array): void {
    const want = count * MIG_PAGE_SIZE;
    const n = native.pread(this.fd, out.subarray(0, want), first * MIG_PAGE_SIZE);
    // A memfd never reads short inside its size; a shrunk one reads zeros past its end.
    if (n < want) out.fill(0, n, want);
  }

  /** Writes `data` (whole pages) at page `first`. */
  write(first: number, data: Uint8Array): void {
    native.pwrite(this.fd, data, first * MIG_PAGE_SIZE);
  }

  /** Pages [first, first + count) become zeros; pages that are zeros already are left alone (never allocated). */
  zero(first: number, count: number): void {
    const page = new Uint8Array(MIG_PAGE_SIZE);
    for (let p = first; p < first + count; p++) {
      this.read(p, 1, page);
      if (isZeroPage(page)) continue;
      page.fill(0);
      this.write(p, page);
    }
  }

  /** Every page's CRC-32 and zero flag now. */
  scan(): MemoryScan {
    const crcs = new Uint32Array(this.pages);
    const zero = new Uint8Array(this.pages);
    const buf = new Uint8Array(SCAN_PAGES * MIG_PAGE_SIZE);
    for (let first = 0; first < this.pages; first += SCAN_PAGES) {
      const count = Math.min(SCAN_PAGES, this.pages - first);
      this.read(first, count, buf);
      for (let i = 0; i < count; i++) {
        const page = buf.subarray(i * MIG_PAGE_SIZE, (i + 1) * MIG_PAGE_SIZE);
        const crc = pageCrc(page);
        crcs[first + i] = crc;
        if (crc === ZERO_PAGE_CRC && isZeroPage(page)) zero[first + i] = 1;
      }
    }
    return { crcs, zero };
  }
}

/** True when every byte of `page` is 0. */
export function isZeroPage(page: Uint8Array): boolean {
  const words = new BigUint64Array(page.buffer, page.byteOffset, page.byteLength >> 3);
  for (let i = 0; i < words.length; i++) if (words[i] !== 0n) return false;
  return true;
}
