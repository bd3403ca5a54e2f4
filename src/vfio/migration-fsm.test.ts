// Tests for the migration v2 next-hop function against tables derived by hand from vfio_mig_get_next_state() in drivers/vfio/vfio_main.c.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioError } from '../uapi/errno.js';
import {
  VFIO_MIGRATION_P2P,
  VFIO_MIGRATION_PRE_COPY,
  VFIO_MIGRATION_STOP_COPY,
  VfioDeviceMigState,
  isVfioDeviceMigState,
} from '../uapi/migration.js';
import type { VfioDeviceMigState as MigState } from '../uapi/migration.js';
import {
  migArcOpensResuming,
  migArcOpensSaving,
  migCheckFlags,
  migGetNextState,
  migPath,
  migStateIsSaving,
  migStateValid,
} from './migration-fsm.js';

// Row = current state, column = target, both in state-number order:
// ERROR, STOP, RUNNING, STOP_COPY, RESUMING, RUNNING_P2P, PRE_COPY, PRE_COPY_P2P.
// Entry = the next state the kernel returns, or X for -EINVAL.
type Cell = MigState | 'X';
const X = 'X';
const { ERROR: E, STOP: S, RUNNING: R, STOP_COPY: SC, RESUMING: RES, RUNNING_P2P: RP, PRE_COPY: PC, PRE_COPY_P2P: PCP } =
  VfioDeviceMigState;
const ALL_X: Cell[] = [X, X, X, X, X, X, X, X];

/** STOP_COPY only: RUNNING_P2P is skipped, so RUNNING <-> STOP is one arc. */
const TABLE_STOP_COPY: Cell[][] = [
  /* ERROR        */ ALL_X,
  /* STOP         */ [X, S, R, SC, RES, X, X, X],
  /* RUNNING      */ [X, S, R, S, S, X, X, X],
  /* STOP_COPY    */ [X, S, S, SC, S, X, X, X],
  /* RESUMING     */ [X, S, S, S, RES, X, X, X],
  /* RUNNING_P2P  */ ALL_X,
  /* PRE_COPY     */ ALL_X,
  /* PRE_COPY_P2P */ ALL_X,
];

const TABLE_STOP_COPY_P2P: Cell[][] = [
  /* ERROR        */ ALL_X,
  /* STOP         */ [X, S, RP, SC, RES, RP, X, X],
  /* RUNNING      */ [X, RP, R, RP, RP, RP, X, X],
  /* STOP_COPY    */ [X, S, S, SC, S, S, X, X],
  /* RESUMING     */ [X, S, S, S, RES, S, X, X],
  /* RUNNING_P2P  */ [X, S, R, S, S, RP, X, X],
  /* PRE_COPY     */ ALL_X,
  /* PRE_COPY_P2P */ ALL_X,
];

/** STOP_COPY | PRE_COPY: RUNNING_P2P and PRE_COPY_P2P are skipped; STOP_COPY -> PRE_COPY is blocked. */
const TABLE_STOP_COPY_PRE_COPY: Cell[][] = [
  /* ERROR        */ ALL_X,
  /* STOP         */ [X, S, R, SC, RES, X, R, X],
  /* RUNNING      */ [X, S, R, S, S, X, PC, X],
  /* STOP_COPY    */ [X, S, S, SC, S, X, X, X],
  /* RESUMING     */ [X, S, S, S, RES, X, S, X],
  /* RUNNING_P2P  */ ALL_X,
  /* PRE_COPY     */ [X, R, R, SC, R, X, PC, X],
  /* PRE_COPY_P2P */ ALL_X,
];

/** Everything supported: vfio_from_fsm_table itself, with ERROR entries as EINVAL. */
const TABLE_ALL: Cell[][] = [
  /* ERROR        */ ALL_X,
  /* STOP         */ [X, S, RP, SC, RES, RP, RP, RP],
  /* RUNNING      */ [X, RP, R, RP, RP, RP, PC, RP],
  /* STOP_COPY    */ [X, S, S, SC, S, S, X, X],
  /* RESUMING     */ [X, S, S, S, RES, S, S, S],
  /* RUNNING_P2P  */ [X, S, R, S, S, RP, R, PCP],
  /* PRE_COPY     */ [X, R, R, PCP, R, R, PC, PCP],
  /* PRE_COPY_P2P */ [X, RP, RP, SC, RP, RP, PC, PCP],
];

const STATES: MigState[] = [E, S, R, SC, RES, RP, PC, PCP];

function checkMatrix(flags: number, table: Cell[][]): void {
  for (const cur of STATES) {
    for (const target of STATES) {
      const want = table[cur]?.[target];
      assert.notEqual(want, undefined);
      if (want === X) {
        assert.throws(() => migGetNextState(flags, cur, target), (e: unknown) => VfioError.is(e, 'EINVAL'), `${cur}->${target}`);
      } else {
        assert.equal(migGetNextState(flags, cur, target), want, `flags ${flags}: ${cur}->${target}`);
      }
    }
  }
}

test('STOP_COPY: full 8x8 matrix', () => checkMatrix(VFIO_MIGRATION_STOP_COPY, TABLE_STOP_COPY));
test('STOP_COPY|P2P: full 8x8 matrix', () => checkMatrix(VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P, TABLE_STOP_COPY_P2P));
test('STOP_COPY|PRE_COPY: full 8x8 matrix (blocked arcs return EINVAL, no hang)', () =>
  checkMatrix(VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_PRE_COPY, TABLE_STOP_COPY_PRE_COPY));
test('STOP_COPY|P2P|PRE_COPY: full 8x8 matrix', () =>
  checkMatrix(VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY, TABLE_ALL));

test('flag sets without STOP_COPY are rejected at registration and support no state', () => {
  for (const flags of [0, VFIO_MIGRATION_P2P, VFIO_MIGRATION_PRE_COPY, VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY]) {
    assert.throws(() => migCheckFlags(flags), (e: unknown) => VfioError.is(e, 'EINVAL'));
    checkMatrix(flags, [ALL_X, ALL_X, ALL_X, ALL_X, ALL_X, ALL_X, ALL_X, ALL_X]);
  }
  for (const flags of [1, 3, 5, 7]) assert.doesNotThrow(() => migCheckFlags(flags));
});

test('out-of-range targets are EINVAL; migStateValid narrows', () => {
  const all = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY;
  for (const t of [8, 9, -1, 255, 1.5, 0xffffffff]) {
    assert.throws(() => migGetNextState(all, R, t), (e: unknown) => VfioError.is(e, 'EINVAL'));
    assert.equal(migStateValid(all, t), false);
    assert.equal(isVfioDeviceMigState(t), false);
  }
  assert.equal(migStateValid(all, E), false);
  assert.equal(migStateValid(VFIO_MIGRATION_STOP_COPY, RP), false);
  assert.equal(migStateValid(VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P, RP), true);
  assert.equal(migStateValid(VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_PRE_COPY, PCP), false);
});

// The combination transitions listed in the comment above vfio_from_fsm_table (all features).
const KERNEL_PATHS = `
PRE_COPY -> PRE_COPY_P2P -> STOP_COPY
PRE_COPY -> RUNNING -> RUNNING_P2P
PRE_COPY -> RUNNING -> RUNNING_P2P -> STOP
PRE_COPY -> RUNNING -> RUNNING_P2P -> STOP -> RESUMING
PRE_COPY_P2P -> RUNNING_P2P -> RUNNING
PRE_COPY_P2P -> RUNNING_P2P -> STOP
PRE_COPY_P2P -> RUNNING_P2P -> STOP -> RESUMING
RESUMING -> STOP -> RUNNING_P2P
RESUMING -> STOP -> RUNNING_P2P -> PRE_COPY_P2P
RESUMING -> STOP -> RUNNING_P2P -> RUNNING
RESUMING -> STOP -> RUNNING_P2P -> RUNNING -> PRE_COPY
RESUMING -> STOP -> STOP_COPY
RUNNING -> RUNNING_P2P -> PRE_COPY_P2P
RUNNING -> RUNNING_P2P -> STOP
RUNNING -> RUNNING_P2P -> STOP -> RESUMING
RUNNING -> RUNNING_P2P -> STOP -> STOP_COPY
RUNNING_P2P -> RUNNING -> PRE_COPY
RUNNING_P2P -> STOP -> RESUMING
RUNNING_P2P -> STOP -> STOP_COPY
STOP -> RUNNING_P2P -> PRE_COPY_P2P
STOP -> RUNNING_P2P -> RUNNING
STOP -> RUNNING_P2P -> RUNNING -> PRE_COPY
STOP_COPY -> STOP -> RESUMING
STOP_COPY -> STOP -> RUNNING_P2P
STOP_COPY -> STOP -> RUNNING_P2P -> RUNNING
`;

function stateOf(name: string): MigState {
  const entry = Object.entries(VfioDeviceMigState).find(([k]) => k === name);
  assert.ok(entry, `unknown state ${name}`);
  return entry[1];
}

test('migPath walks the kernel comment\'s combination transitions with every feature', () => {
  const all = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY;
  const lines = KERNEL_PATHS.trim().split('\n');
  assert.equal(lines.length, 25);
  for (const line of lines) {
    const [first, ...rest] = line.split(' -> ').map(stateOf);
    assert.ok(first !== undefined);
    const last = rest[rest.length - 1];
    assert.ok(last !== undefined);
    assert.deepEqual(migPath(all, first, last), rest, line);
  }
});

test('migPath with fewer features skips unsupported states', () => {
  const sc = VFIO_MIGRATION_STOP_COPY;
  assert.deepEqual(migPath(sc, R, SC), [S, SC]);
  assert.deepEqual(migPath(sc, SC, R), [S, R]);
  assert.deepEqual(migPath(sc, RES, R), [S, R]);
  const pre = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_PRE_COPY;
  assert.deepEqual(migPath(pre, RES, PC), [S, R, PC]);
  assert.deepEqual(migPath(pre, PC, RES), [R, S, RES]);
  assert.deepEqual(migPath(pre, PC, SC), [SC]);
  const p2p = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P;
  assert.deepEqual(migPath(p2p, R, RES), [RP, S, RES]);
});

test('migPath: no arcs to stay put (even in ERROR), EINVAL out of ERROR and on blocked arcs', () => {
  const all = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY;
  assert.deepEqual(migPath(all, R, R), []);
  assert.deepEqual(migPath(all, E, E), []);
  assert.throws(() => migPath(all, E, R), (e: unknown) => VfioError.is(e, 'EINVAL'));
  assert.throws(() => migPath(all, SC, PC), (e: unknown) => VfioError.is(e, 'EINVAL'));
  assert.throws(() => migPath(all, SC, PCP), (e: unknown) => VfioError.is(e, 'EINVAL'));
  assert.throws(() => migPath(VFIO_MIGRATION_STOP_COPY, S, RP), (e: unknown) => VfioError.is(e, 'EINVAL'));
});

test('data-session arcs', () => {
  assert.equal(migArcOpensSaving(S, SC), true);
  assert.equal(migArcOpensSaving(R, PC), true);
  assert.equal(migArcOpensSaving(RP, PCP), true);
  assert.equal(migArcOpensSaving(PC, PCP), false);
  assert.equal(migArcOpensSaving(PCP, SC), false);
  assert.equal(migArcOpensResuming(S, RES), true);
  assert.equal(migArcOpensResuming(SC, S), false);
  assert.deepEqual(STATES.filter(migStateIsSaving), [SC, PC, PCP]);
});
