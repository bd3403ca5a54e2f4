// Snapshot migration: state records (round trip, validation), and the arc driver (one arc per call, STOP_COPY,
// PRE_COPY with precopy info, RESUMING applied at RESUMING -> STOP, reset).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioError } from '../uapi/errno.js';
import { VfioDeviceMigState, VFIO_MIGRATION_P2P, VFIO_MIGRATION_PRE_COPY, VFIO_MIGRATION_STOP_COPY } from '../uapi/migration.js';
import { migPath } from '../vfio/migration-fsm.js';
import type { VfioMigrationFile } from '../vfio/vfio-ops.js';
import { SnapshotMigration } from './migration-arcs.js';
import { decodeStateRecord, decodeStateRecords, encodeStateRecord } from './state-record.js';

const { STOP, RUNNING, STOP_COPY, RESUMING, RUNNING_P2P, PRE_COPY, PRE_COPY_P2P } = VfioDeviceMigState;
const ALL = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY;
const isErr = (code: string) => (e: unknown) => VfioError.is(e) && e.code === code;

function drive(m: SnapshotMigration, target: number): VfioMigrationFile | null {
  let file: VfioMigrationFile | null = null;
  for (const s of migPath(m.hooks.flags, m.state, target)) file = m.setState(s) ?? file;
  return file;
}

function readAll(f: VfioMigrationFile, chunk = 7): Uint8Array {
  const parts: number[] = [];
  const buf = new Uint8Array(chunk);
  for (;;) {
    const n = f.read?.(buf) ?? 0;
    if (n === 0) break;
    parts.push(...buf.subarray(0, n));
  }
  return Uint8Array.from(parts);
}

function device(initial: { x: number }) {
  const s = { ...initial };
  const log: string[] = [];
  const m = new SnapshotMigration({
    device: 'demo',
    version: 3,
    flags: ALL,
    save: () => ({ ...s }),
    load: (st) => {
      if (typeof st !== 'object' || st === null || !('x' in st) || typeof st.x !== 'number') throw new VfioError('EINVAL', 'bad');
      s.x = st.x;
    },
    quiesce: () => log.push('quiesce'),
    unquiesce: () => log.push('unquiesce'),
  });
  return { s, m, log };
}

test('state records round-trip and refuse a wrong magic, device, version or truncation', () => {
  const bytes = encodeStateRecord('demo', 3, { a: [1, 2] });
  assert.deepEqual(decodeStateRecord(bytes, 'demo', 3), { a: [1, 2] });
  assert.throws(() => decodeStateRecord(bytes, 'other', 3), isErr('EINVAL'));
  assert.throws(() => decodeStateRecord(bytes, 'demo', 4), isErr('EINVAL'));
  assert.throws(() => decodeStateRecord(bytes.subarray(0, bytes.length - 1), 'demo', 3), isErr('EINVAL'));
  const bad = bytes.slice();
  bad[0] = 0;
  assert.throws(() => decodeStateRecord(bad, 'demo', 3), isErr('EINVAL'));
  assert.throws(() => decodeStateRecord(new Uint8Array(0), 'demo', 3), isErr('EINVAL'));
  assert.equal(decodeStateRecords(Uint8Array.from([...bytes, ...bytes])).length, 2);
});

test('STOP_COPY stream resumes into another device; arcs are one per call', () => {
  const src = device({ x: 42 });
  assert.throws(() => src.m.setState(STOP), isErr('EINVAL'), 'RUNNING -> STOP skips RUNNING_P2P: not one arc');
  const saving = drive(src.m, STOP_COPY);
  assert.deepEqual(src.log, ['quiesce']);
  assert.ok(saving);
  const stream = readAll(saving);
  drive(src.m, STOP);
  assert.throws(() => saving.read?.(new Uint8Array(1)), isErr('ENODEV'), 'STOP_COPY -> STOP closed the stream');
  const dst = device({ x: 0 });
  const resuming = drive(dst.m, RESUMING);
  assert.ok(resuming);
  for (let i = 0; i < stream.length; i += 5) resuming.write?.(stream.subarray(i, i + 5));
  assert.equal(dst.s.x, 0, 'applied only at RESUMING -> STOP');
  drive(dst.m, RUNNING);
  assert.equal(dst.s.x, 42);
  assert.equal(dst.m.state, RUNNING);
});

test('PRE_COPY streams an initial snapshot with precopy info; PRE_COPY_P2P -> STOP_COPY appends the final one', () => {
  const src = device({ x: 1 });
  const f = drive(src.m, PRE_COPY);
  assert.ok(f);
  const info = f.precopyInfo?.();
  assert.ok(info !== undefined && info.initialBytes > 0n && info.dirtyBytes === 0n);
  const initial = readAll(f);
  assert.equal(f.precopyInfo?.().initialBytes, 0n);
  src.s.x = 2;
  assert.equal(src.m.setState(PRE_COPY_P2P), null);
  assert.equal(src.m.setState(STOP_COPY), null, 'same stream, no new file');
  assert.throws(() => f.precopyInfo?.(), isErr('EINVAL'), 'no precopy info in STOP_COPY');
  const final = readAll(f);
  const dst = device({ x: 0 });
  const r = drive(dst.m, RESUMING);
  r?.write?.(Uint8Array.from([...initial, ...final]));
  drive(dst.m, STOP);
  assert.equal(dst.s.x, 2, 'the last record wins');
});

test('a bad stream fails RESUMING -> STOP with EINVAL and leaves the state; reset returns to RUNNING', () => {
  const dst = device({ x: 5 });
  const r = drive(dst.m, RESUMING);
  r?.write?.(encodeStateRecord('demo', 2, { x: 9 }));
  assert.throws(() => dst.m.setState(STOP), isErr('EINVAL'));
  assert.equal(dst.m.state, RESUMING);
  assert.equal(dst.s.x, 5);
  dst.m.reset();
  assert.equal(dst.m.state, RUNNING);
  assert.throws(() => r?.write?.(new Uint8Array(1)), isErr('ENODEV'));
  const big = device({ x: 0 });
  const rb = drive(big.m, RESUMING);
  assert.throws(() => rb?.write?.(new Uint8Array((1 << 20) + 1)), isErr('ENOMEM'));
  assert.equal(big.m.setState(RESUMING), null);
  assert.equal(drive(device({ x: 0 }).m, RUNNING_P2P), null);
});
