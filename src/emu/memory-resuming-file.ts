// The resuming stream of a device with migratable memory: records are checked as they arrive (the first must be
// a state record of this device type and version, so another type is refused before a page is touched; page runs
// inside the memory, data matching its CRC-32) and pages go straight into the memory; at RESUMING -> STOP the stream
// must have ended with the final state record, every page must have come, and that state is what the device loads.
// The staging buffer holds at most one record, so nothing is allocated past the device's own size. Not a kernel
// driver's stream (the display samples do not migrate in Linux); data is taken as it comes, as mlx5's resume does.
import { VfioError, check } from '../uapi/errno.js';
import type { VfioMigrationFile } from '../vfio/vfio-ops.js';
import type { MigratableMemory } from './migratable-memory.js';
import { MIG_PAGE_SIZE, PAGE_RECORD_FLAG_ZERO, PAGE_RECORD_HEADER_SIZE, PAGE_RECORD_MAGIC, decodePageRecordHeader, pageCrc } from './page-records.js';
import { STATE_RECORD_FLAG_PRECOPY, STATE_RECORD_HEADER_SIZE, STATE_RECORD_MAGIC, decodeStateRecordAt } from './state-record.js';

/** Both record kinds have a 24-byte header. */
const HEADER_SIZE = Math.max(STATE_RECORD_HEADER_SIZE, PAGE_RECORD_HEADER_SIZE);

export interface MemoryResumingOptions {
  readonly memory: MigratableMemory;
  /** The device type a stream must be for, and its state version. */
  readonly device: string;
  readonly version: number;
  /** Largest state record payload (name and JSON) accepted; more is ENOMEM. */
  readonly maxStateBytes: number;
}

export class MemoryResumingFile implements VfioMigrationFile {
  disabled = false;
  /** A record not complete yet (at most one record's bytes). */
  private staged: Uint8Array = new Uint8Array(0);
  private failed: VfioError | null = null;
  private identified = false;
  private finalState: { state: unknown } | null = null;
  private readonly covered: Uint8Array;
  private coveredCount = 0;

  constructor(private readonly opts: MemoryResumingOptions) {
    this.covered = new Uint8Array(opts.memory.pages);
  }

  write(data: Uint8Array): number {
    if (this.disabled) throw new VfioError('ENODEV', 'migration stream is closed');
    if (this.failed !== null) throw new VfioError('EINVAL', `the stream failed before: ${this.failed.message}`);
    try {
      let at = 0;
      // A record begun in an earlier write: complete it first (its header, then its body), copying only its bytes.
      while (this.staged.length > 0 && at < data.length) {
        const known = this.recordEnd(this.staged, 0);
        const need = (known ?? HEADER_SIZE) - this.staged.length;
        const take = Math.min(need, data.length - at);
        this.staged = concat(this.staged, data.subarray(at, at + take));
        at += take;
        const end = this.recordEnd(this.staged, 0);
        if (end !== null && end === this.staged.length) {
          this.apply(this.staged, 0, end);
          this.staged = new Uint8Array(0);
        }
      }
      for (;;) {
        const end = this.recordEnd(data, at);
        if (end === null || end > data.length) break;
        this.apply(data, at, end);
        at = end;
      }
      if (at < data.length) this.staged = data.slice(at);
      return data.length;
    } catch (err) {
      this.failed = VfioError.is(err) ? err : new VfioError('EINVAL', String(err));
      throw err;
    }
  }

  /** Where the record at `at` ends (checked against the limits as soon as its header is in), or null without a header. */
  private recordEnd(bytes: Uint8Array, at: number): number | null {
    if (bytes.length - at < 4) return null;
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const magic = dv.getUint32(at, true);
    if (magic === STATE_RECORD_MAGIC) {
      if (bytes.length - at < STATE_RECORD_HEADER_SIZE) return null;
      const len = dv.getUint16(at + 12, true) + dv.getUint32(at + 16, true);
      check(len <= this.opts.maxStateBytes, 'ENOMEM', `a state record of ${len} bytes (at most ${this.opts.maxStateBytes})`);
      return at + STATE_RECORD_HEADER_SIZE + len;
    }
    check(magic === PAGE_RECORD_MAGIC, 'EINVAL', `bad migration record magic 0x${magic.toString(16)}`);
    if (bytes.length - at < PAGE_RECORD_HEADER_SIZE) return null;
    return at + PAGE_RECORD_HEADER_SIZE + decodePageRecordHeader(bytes, at, this.opts.memory.pages).dataLen;
  }

  private apply(bytes: Uint8Array, at: number, end: number): void {
    check(this.finalState === null, 'EINVAL', 'migration data after the final state record');
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (dv.getUint32(at, true) === STATE_RECORD_MAGIC) {
      const { record } = decodeStateRecordAt(bytes.subarray(0, end), at);
      check(record.device === this.opts.device, 'EINVAL', `state is for device '${record.device}', not '${this.opts.device}'`);
      check(record.version === this.opts.version, 'EINVAL', `state version ${record.version}, expected ${this.opts.version}`);
      this.identified = true;
      if ((record.flags & STATE_RECORD_FLAG_PRECOPY) === 0) this.finalState = { state: record.state };
      return;
    }
    check(this.identified, 'EINVAL', 'page data before the device state record');
    const h = decodePageRecordHeader(bytes, at, this.opts.memory.pages);
    const m = this.opts.memory;
    if ((h.flags & PAGE_RECORD_FLAG_ZERO) !== 0) {
      m.zero(h.firstPage, h.count);
    } else {
      const data = bytes.subarray(at + PAGE_RECORD_HEADER_SIZE, end);
      check(pageCrc(data) === h.crc, 'EINVAL', `page run ${h.firstPage}+${h.count}: checksum mismatch`);
      m.write(h.firstPage, data);
    }
    for (let p = h.firstPage; p < h.firstPage + h.count; p++) {
      if (this.covered[p] === 0) this.coveredCount++;
      this.covered[p] = 1;
    }
  }

  /** RESUMING -> STOP: the state to load, once the stream is whole (EINVAL otherwise: the device stays RESUMING). */
  finish(): unknown {
    if (this.failed !== null) throw new VfioError('EINVAL', `the stream failed: ${this.failed.message}`);
    check(this.staged.length === 0, 'EINVAL', `the stream ends inside a record (${this.staged.length} bytes left)`);
    if (this.finalState === null) throw new VfioError('EINVAL', this.identified ? 'the stream has no final state record' : 'no device state in the stream');
    check(this.coveredCount === this.opts.memory.pages, 'EINVAL', `${this.opts.memory.pages - this.coveredCount} of ${this.opts.memory.pages} pages never came (${MIG_PAGE_SIZE} B each)`);
    return this.finalState.state;
  }

  release(): void {
    this.disabled = true;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
