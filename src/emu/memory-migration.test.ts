// Snapshot migration with migratable memory: page records (zero runs, data runs, CRC), STOP_COPY into another
// memory, PRE_COPY's initial pass then dirty pages (BAR-marked and found by checksum) with real precopy info and
// ENOMSG, and a resume side that refuses another device, a corrupt or incomplete stream, and oversized records.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as native from '../native/index.js';
import { VfioError } from '../uapi/errno.js';
import { VfioDeviceMigState, VFIO_MIGRATION_P2P, VFIO_MIGRATION_PRE_COPY, VFIO_MIGRATION_STOP_COPY } from '../uapi/migration.js';
import { migPath } from '../vfio/migration-fsm.js';
import type { VfioMigrationFile } from '../vfio/vfio-ops.js';
import { SnapshotMigration } from './migration-arcs.js';
import { MigratableMemory } from './migratable-memory.js';
import { MIG_PAGE_SIZE, PAGE_RECORD_HEADER_SIZE, pageRecordSize } from './page-records.js';
import { encodeStateRecord } from './state-record.js';

const { STOP, RUNNING, STOP_COPY, RESUMING, PRE_COPY } = VfioDeviceMigState;
const ALL = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY;
const PAGES = 16;
const isErr = (code: string) => (e: unknown) => VfioError.is(e) && e.code === code;

interface Dev {
  fd: number;
  mem: MigratableMemory;
  m: SnapshotMigration;
  s: { mode: number };
  /** A write through the "BAR": marked. */
  barWrite(page: number, byte: number): void;
  /** A write through an mmap: nobody sees it. */
  hiddenWrite(page: number, byte: number): void;
  page(p: number): Uint8Array;
}

function dev(t: { after(fn: () => void): void }, device = 'demo-16', pages = PAGES): Dev {
  const fd = native.memfdCreate('mig-mem', pages * MIG_PAGE_SIZE);
  t.after(() => native.close(fd));
  const mem = new MigratableMemory(fd, pages * MIG_PAGE_SIZE);
  const s = { mode: 0 };
  const m = new SnapshotMigration({
    device,
    version: 1,
    flags: ALL,
    memory: mem,
    maxStreamBytes: 4096,
    save: () => ({ ...s }),
    load: (st) => {
      if (typeof st !== 'object' || st === null || !('mode' in st) || typeof st.mode !== 'number') throw new VfioError('EINVAL', 'bad');
      s.mode = st.mode;
    },
  });
  const fill = (p: number, byte: number): void => {
    native.pwrite(fd, new Uint8Array(MIG_PAGE_SIZE).fill(byte), p * MIG_PAGE_SIZE);
  };
  return {
    fd,
    mem,
    m,
    s,
    barWrite: (p, byte) => {
      fill(p, byte);
      mem.markWritten(p * MIG_PAGE_SIZE + 5, 10);
    },
    hiddenWrite: fill,
    page: (p) => {
      const b = new Uint8Array(MIG_PAGE_SIZE);
      native.pread(fd, b, p * MIG_PAGE_SIZE);
      return b;
    },
  };
}

function drive(m: SnapshotMigration, target: number): VfioMigrationFile | null {
  let file: VfioMigrationFile | null = null;
  for (const s of migPath(m.hooks.flags, m.state, target)) file = m.setState(s) ?? file;
  return file;
}

/** Reads until end of stream (0) or, in PRE_COPY, until ENOMSG. */
function readAll(f: VfioMigrationFile, chunk = 5000): Uint8Array {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(chunk);
  for (;;) {
    let n: number;
    try {
      n = f.read?.(buf) ?? 0;
    } catch (err) {
      if (VfioError.is(err, 'ENOMSG')) break;
      throw err;
    }
    if (n === 0) break;
    parts.push(buf.slice(0, n));
  }
  return Buffer.concat(parts);
}

function sameMemory(a: Dev, b: Dev): void {
  for (let p = 0; p < PAGES; p++) assert.deepEqual(a.page(p), b.page(p), `page ${p}`);
}

test('STOP_COPY carries zero runs and data runs; the size estimate is the stream; the target gets every page', (t) => {
  const src = dev(t);
  const dst = dev(t);
  src.barWrite(3, 0x33);
  src.hiddenWrite(4, 0x44);
  src.hiddenWrite(15, 0x55);
  src.s.mode = 7;
  dst.hiddenWrite(9, 0x99); // the target's old contents are replaced (zeros where the source has zeros)
  const size = src.m.dataSize();
  const stream = readAll(drive(src.m, STOP_COPY) ?? assert.fail('no stream'));
  assert.equal(BigInt(stream.length), size);
  // Two state records around: zeros 0-2, data 3-4, zeros 5-14, data 15.
  const records = pageRecordSize(3, true) + pageRecordSize(2, false) + pageRecordSize(10, true) + pageRecordSize(1, false);
  assert.equal(stream.length - records, 2 * encodeStateRecord('demo-16', 1, { mode: 7 }, 1).length);
  drive(src.m, STOP);
  const r = drive(dst.m, RESUMING) ?? assert.fail('no resume stream');
  for (let i = 0; i < stream.length; i += 3000) r.write?.(stream.subarray(i, i + 3000));
  drive(dst.m, RUNNING);
  assert.equal(dst.s.mode, 7);
  sameMemory(src, dst);
});

test('PRE_COPY: the initial pass, then pages changed through the BAR or behind it, with precopy info and ENOMSG', (t) => {
  const src = dev(t);
  const dst = dev(t);
  src.barWrite(1, 1);
  const f = drive(src.m, PRE_COPY) ?? assert.fail('no stream');
  const info0 = f.precopyInfo?.() ?? assert.fail('no precopy info');
  const initial = readAll(f);
  assert.deepEqual([info0.initialBytes, info0.dirtyBytes], [BigInt(initial.length), 0n]);
  assert.deepEqual(f.precopyInfo?.(), { initialBytes: 0n, dirtyBytes: 0n });
  assert.throws(() => f.read?.(new Uint8Array(64)), isErr('ENOMSG'), 'nothing new: a temporary end of stream');

  src.barWrite(5, 5);
  src.hiddenWrite(9, 9);
  src.s.mode = 2;
  const info1 = f.precopyInfo?.() ?? assert.fail('no precopy info');
  const stateLen = encodeStateRecord('demo-16', 1, { mode: 2 }, 1).length;
  assert.deepEqual(info1, { initialBytes: 0n, dirtyBytes: BigInt(2 * pageRecordSize(1, false) + stateLen) });
  const part = new Uint8Array(100);
  assert.equal(f.read?.(part), 100);
  assert.equal(f.precopyInfo?.().dirtyBytes, info1.dirtyBytes - 100n, 'dirty bytes go down as they are read');
  const dirty = Buffer.concat([part, readAll(f)]);
  assert.equal(BigInt(dirty.length), info1.dirtyBytes);

  src.hiddenWrite(9, 0x90); // after it was sent: goes again at STOP_COPY
  src.s.mode = 3;
  assert.equal(drive(src.m, STOP_COPY), null, 'the PRE_COPY stream continues');
  assert.throws(() => f.precopyInfo?.(), isErr('EINVAL'));
  const final = readAll(f);
  assert.equal(final.length, pageRecordSize(1, false) + stateLen);
  assert.equal(f.read?.(new Uint8Array(8)), 0, 'STOP_COPY ends with 0, not ENOMSG');

  const r = drive(dst.m, RESUMING) ?? assert.fail('no resume stream');
  r.write?.(Buffer.concat([initial, dirty, final]));
  drive(dst.m, RUNNING);
  assert.equal(dst.s.mode, 3);
  sameMemory(src, dst);
});

test('the resume side refuses another device before touching memory, a corrupt or incomplete stream, oversized records', (t) => {
  const src = dev(t);
  src.barWrite(2, 0x22);
  const stream = readAll(drive(src.m, STOP_COPY) ?? assert.fail('no stream'));

  const other = dev(t, 'demo-32', 32);
  other.hiddenWrite(2, 0x77);
  const ro = drive(other.m, RESUMING) ?? assert.fail('no resume stream');
  assert.throws(() => ro.write?.(stream), isErr('EINVAL'), 'a stream for demo-16');
  assert.equal(other.page(2)[0], 0x77, 'nothing was written');
  assert.throws(() => ro.write?.(new Uint8Array(1)), isErr('EINVAL'), 'a failed stream stays failed');
  assert.throws(() => other.m.setState(STOP), isErr('EINVAL'));
  assert.equal(other.m.state, RESUMING);

  const corrupt = Buffer.from(stream);
  const firstData = stream.indexOf(0x22); // inside the data run of page 2
  corrupt[firstData + 100] = 0x23;
  const dc = dev(t);
  const rc = drive(dc.m, RESUMING) ?? assert.fail('no resume stream');
  assert.throws(() => rc.write?.(corrupt), isErr('EINVAL'), 'checksum');

  const dt = dev(t);
  const rt = drive(dt.m, RESUMING) ?? assert.fail('no resume stream');
  rt.write?.(stream.subarray(0, stream.length - 10));
  assert.throws(() => dt.m.setState(STOP), isErr('EINVAL'), 'ends inside the final record');

  const header = encodeStateRecord('demo-16', 1, { mode: 0 }, 1);
  const dp = dev(t);
  const rp = drive(dp.m, RESUMING) ?? assert.fail('no resume stream');
  rp.write?.(header);
  assert.throws(() => dp.m.setState(STOP), isErr('EINVAL'), 'no page came and no final record');
  const past = new Uint8Array(PAGE_RECORD_HEADER_SIZE);
  const dv = new DataView(past.buffer);
  dv.setUint32(0, 0x47505456, true);
  dv.setUint16(4, 1, true);
  dv.setUint16(6, 1, true);
  dv.setUint32(8, PAGES - 1, true);
  dv.setUint32(12, 2, true);
  assert.throws(() => rp.write?.(past), isErr('EINVAL'), 'a run past the memory');

  const dn = dev(t);
  const rn = drive(dn.m, RESUMING) ?? assert.fail('no resume stream');
  const huge = encodeStateRecord('demo-16', 1, { pad: 'x'.repeat(5000) }, 1);
  assert.throws(() => rn.write?.(huge.subarray(0, 24)), isErr('ENOMEM'), 'a state record past maxStreamBytes, known from its header');

  const da = dev(t);
  const ra = drive(da.m, RESUMING) ?? assert.fail('no resume stream');
  assert.throws(() => ra.write?.(Buffer.concat([stream, header])), isErr('EINVAL'), 'data after the final record');
});
