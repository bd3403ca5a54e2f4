// The saving stream of a device with migratable memory (the data_fd of VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE):
// its state record first, then every page once (the initial bytes: runs of data, zero pages named), then, on reads
// in PRE_COPY that find nothing left, the pages changed since they were sent (the dirty bytes) and the state record
// again if it changed; at STOP_COPY what is still dirty and the final state record. Reads in PRE_COPY with nothing
// new say ENOMSG, as include/uapi/linux/vfio.h asks; STOP_COPY ends with 0. Not a kernel driver's stream: the
// display samples do not migrate in Linux. Pages are found dirty by the BAR handlers' marks and, for writes made
// through an mmap of the memfd (which nothing sees), by a CRC-32 per page against the one sent.
import { VfioError, check } from '../uapi/errno.js';
import type { VfioMigrationFile } from '../vfio/vfio-ops.js';
import type { MigratableMemory, MemoryScan } from './migratable-memory.js';
import { MIG_PAGE_SIZE, PAGE_RECORD_HEADER_SIZE, PAGE_RECORD_MAX_DATA_PAGES, ZERO_PAGE_CRC, encodePageRecordHeader, pageCrc, pageRecordSize } from './page-records.js';

/** Pages per pread while looking for changed pages (1 MiB). */
const COLLECT_PAGES = 256;

/** One record waiting to be read: bytes as they are, or a page run encoded when its turn comes. */
type Item = { readonly bytes: Uint8Array; readonly initial: boolean } | { readonly first: number; readonly count: number; readonly zero: boolean; readonly initial: boolean };

function itemSize(it: Item): number {
  return 'bytes' in it ? it.bytes.length : pageRecordSize(it.count, it.zero);
}

/** Page runs of `pages` (sorted) as records: consecutive pages, at most PAGE_RECORD_MAX_DATA_PAGES per record. */
function dataRuns(pages: readonly number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const p of pages) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last[0] + last[1] === p && last[1] < PAGE_RECORD_MAX_DATA_PAGES) last[1]++;
    else runs.push([p, 1]);
  }
  return runs;
}

/** The records that carry all of a memory scanned as `scan`: zero runs (any length) and data runs. */
export function initialRuns(scan: MemoryScan): { first: number; count: number; zero: boolean }[] {
  const out: { first: number; count: number; zero: boolean }[] = [];
  const pages = scan.zero.length;
  for (let p = 0; p < pages; ) {
    const zero = scan.zero[p] === 1;
    let q = p + 1;
    while (q < pages && (scan.zero[q] === 1) === zero && (zero || q - p < PAGE_RECORD_MAX_DATA_PAGES)) q++;
    out.push({ first: p, count: q - p, zero });
    p = q;
  }
  return out;
}

export interface MemorySavingOptions {
  readonly memory: MigratableMemory;
  /** The device's state record now (flags: STATE_RECORD_FLAG_PRECOPY for all but the final one). */
  readonly stateRecord: (final: boolean) => Uint8Array;
  /** Whether the device is in PRE_COPY or PRE_COPY_P2P. */
  readonly inPreCopy: () => boolean;
}

export class MemorySavingFile implements VfioMigrationFile {
  disabled = false;
  private readonly queue: Item[] = [];
  /** The record being read and how far. */
  private cur: Uint8Array | null = null;
  private curAt = 0;
  private curInitial = false;
  /** Bytes not read yet: all of them, and those of the initial pass. */
  private pendingBytes = 0;
  private initialBytes = 0;
  /** Per page: queued and not read yet (its bytes are taken when its record is read). */
  private readonly pending: Uint8Array;
  /** Per page: the CRC-32 of the bytes last sent. */
  private readonly sent: Uint32Array;
  private lastState: Uint8Array;
  private finished = false;

  constructor(private readonly opts: MemorySavingOptions) {
    const m = opts.memory;
    this.pending = new Uint8Array(m.pages);
    this.sent = new Uint32Array(m.pages);
    this.lastState = opts.stateRecord(false);
    this.push({ bytes: this.lastState, initial: true });
    for (const r of initialRuns(m.scan())) {
      this.pending.fill(1, r.first, r.first + r.count);
      this.push({ ...r, initial: true });
    }
  }

  private push(it: Item): void {
    this.queue.push(it);
    const n = itemSize(it);
    this.pendingBytes += n;
    if (it.initial) this.initialBytes += n;
  }

  /**
   * Queues what changed since it was sent: pages the BAR handlers marked or whose checksum moved (not those still
   * queued), then the state record when it differs from the last one queued. Returns the bytes queued.
   */
  collect(): number {
    const m = this.opts.memory;
    const before = this.pendingBytes;
    const changed: number[] = [];
    const buf = new Uint8Array(COLLECT_PAGES * MIG_PAGE_SIZE);
    for (let first = 0; first < m.pages; first += COLLECT_PAGES) {
      const count = Math.min(COLLECT_PAGES, m.pages - first);
      let read = false;
      for (let p = first; p < first + count; p++) {
        if (this.pending[p] === 1) continue;
        if (m.written[p] !== 1) {
          if (!read) m.read(first, count, buf);
          read = true;
          const at = (p - first) * MIG_PAGE_SIZE;
          if (pageCrc(buf.subarray(at, at + MIG_PAGE_SIZE)) === this.sent[p]) continue;
        }
        changed.push(p);
      }
    }
    for (const [first, count] of dataRuns(changed)) {
      this.pending.fill(1, first, first + count);
      this.push({ first, count, zero: false, initial: false });
    }
    if (!this.finished) {
      const state = this.opts.stateRecord(false);
      if (!sameBytes(state, this.lastState)) {
        this.lastState = state;
        this.push({ bytes: state, initial: false });
      }
    }
    return this.pendingBytes - before;
  }

  /** STOP_COPY: what is still dirty, then the final state record; the stream ends after it. */
  finish(): void {
    check(!this.finished, 'EINVAL', 'the saving stream is finished already');
    // Pages only: the final record below supersedes any PRE_COPY one.
    this.finished = true;
    this.collect();
    this.push({ bytes: this.opts.stateRecord(true), initial: false });
  }

  read(out: Uint8Array): number {
    if (this.disabled) throw new VfioError('ENODEV', 'migration stream is closed');
    if (this.pendingBytes === 0 && this.cur === null) {
      if (!this.opts.inPreCopy()) return 0;
      if (this.collect() === 0) throw new VfioError('ENOMSG', 'no new migration data in PRE_COPY');
    }
    let n = 0;
    while (n < out.length) {
      const cur = this.cur ?? this.next();
      if (cur === null) break;
      const take = Math.min(out.length - n, cur.length - this.curAt);
      out.set(cur.subarray(this.curAt, this.curAt + take), n);
      this.curAt += take;
      n += take;
      if (this.curAt === cur.length) this.cur = null;
    }
    return n;
  }

  /** Encodes the next queued record (its pages read now) and accounts for it as read. */
  private next(): Uint8Array | null {
    const it = this.queue.shift();
    if (it === undefined) return null;
    const size = itemSize(it);
    this.pendingBytes -= size;
    if (it.initial) this.initialBytes -= size;
    this.cur = 'bytes' in it ? it.bytes : this.encodeRun(it.first, it.count, it.zero);
    this.curAt = 0;
    this.curInitial = it.initial;
    return this.cur;
  }

  private encodeRun(first: number, count: number, zero: boolean): Uint8Array {
    const m = this.opts.memory;
    const rec = new Uint8Array(pageRecordSize(count, zero));
    this.pending.fill(0, first, first + count);
    m.written.fill(0, first, first + count);
    if (zero) {
      // Sent as zeros: a page written since the scan no longer matches ZERO_PAGE_CRC and is sent again.
      this.sent.fill(ZERO_PAGE_CRC, first, first + count);
      encodePageRecordHeader(rec, first, count, null);
      return rec;
    }
    const data = rec.subarray(PAGE_RECORD_HEADER_SIZE);
    m.read(first, count, data);
    for (let i = 0; i < count; i++) this.sent[first + i] = pageCrc(data.subarray(i * MIG_PAGE_SIZE, (i + 1) * MIG_PAGE_SIZE));
    encodePageRecordHeader(rec, first, count, data);
    return rec;
  }

  /** VFIO_MIG_GET_PRECOPY_INFO: the initial pass left, and what changed since it was read (queued now). */
  precopyInfo(): { initialBytes: bigint; dirtyBytes: bigint } {
    check(this.opts.inPreCopy(), 'EINVAL', 'PRECOPY_INFO outside PRE_COPY');
    if (this.disabled) throw new VfioError('ENODEV', 'migration stream is closed');
    this.collect();
    // The record being read counts with the bytes it came from.
    const inCur = this.cur === null ? 0 : this.cur.length - this.curAt;
    const initial = this.initialBytes + (this.curInitial ? inCur : 0);
    const dirty = this.pendingBytes - this.initialBytes + (this.curInitial ? 0 : inCur);
    return { initialBytes: BigInt(initial), dirtyBytes: BigInt(dirty) };
  }

  release(): void {
    this.disabled = true;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
