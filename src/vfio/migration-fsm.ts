// The migration v2 state machine's next-hop function: vfio_mig_get_next_state() of drivers/vfio/vfio_main.c, and the arc walk drivers do with it.
import { VfioError } from '../uapi/errno.js';
import {
  VFIO_MIGRATION_P2P,
  VFIO_MIGRATION_PRE_COPY,
  VFIO_MIGRATION_STOP_COPY,
  VfioDeviceMigState,
  isVfioDeviceMigState,
  vfioDeviceMigStateName,
} from '../uapi/migration.js';

const { ERROR, STOP, RUNNING, STOP_COPY, RESUMING, RUNNING_P2P, PRE_COPY, PRE_COPY_P2P } = VfioDeviceMigState;

/**
 * vfio_from_fsm_table: [cur][target] -> the next state on the shortest path when every optional
 * state is supported. Rows and columns are in state-number order (ERROR, STOP, RUNNING, STOP_COPY,
 * RESUMING, RUNNING_P2P, PRE_COPY, PRE_COPY_P2P). ERROR marks a blocked arc (STOP_COPY -> PRE_COPY*).
 */
const FROM_FSM: readonly (readonly VfioDeviceMigState[])[] = [
  /* ERROR        */ [ERROR, ERROR, ERROR, ERROR, ERROR, ERROR, ERROR, ERROR],
  /* STOP         */ [ERROR, STOP, RUNNING_P2P, STOP_COPY, RESUMING, RUNNING_P2P, RUNNING_P2P, RUNNING_P2P],
  /* RUNNING      */ [ERROR, RUNNING_P2P, RUNNING, RUNNING_P2P, RUNNING_P2P, RUNNING_P2P, PRE_COPY, RUNNING_P2P],
  /* STOP_COPY    */ [ERROR, STOP, STOP, STOP_COPY, STOP, STOP, ERROR, ERROR],
  /* RESUMING     */ [ERROR, STOP, STOP, STOP, RESUMING, STOP, STOP, STOP],
  /* RUNNING_P2P  */ [ERROR, STOP, RUNNING, STOP, STOP, RUNNING_P2P, RUNNING, PRE_COPY_P2P],
  /* PRE_COPY     */ [ERROR, RUNNING, RUNNING, PRE_COPY_P2P, RUNNING, RUNNING, PRE_COPY, PRE_COPY_P2P],
  /* PRE_COPY_P2P */ [ERROR, RUNNING_P2P, RUNNING_P2P, STOP_COPY, RUNNING_P2P, RUNNING_P2P, PRE_COPY, PRE_COPY_P2P],
];

/** state_flags_table: the support flags a device needs for each state (ERROR: all ones, i.e. never). */
const STATE_FLAGS: readonly number[] = [
  /* ERROR        */ 0xffffffff,
  /* STOP         */ VFIO_MIGRATION_STOP_COPY,
  /* RUNNING      */ VFIO_MIGRATION_STOP_COPY,
  /* STOP_COPY    */ VFIO_MIGRATION_STOP_COPY,
  /* RESUMING     */ VFIO_MIGRATION_STOP_COPY,
  /* RUNNING_P2P  */ VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P,
  /* PRE_COPY     */ VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_PRE_COPY,
  /* PRE_COPY_P2P */ VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY,
];

function supported(flags: number, state: VfioDeviceMigState): boolean {
  const need = STATE_FLAGS[state] ?? 0xffffffff;
  return ((need & flags) >>> 0) === need >>> 0;
}

/**
 * Whether a device with `migrationFlags` may be in (or be asked for) `state`. ERROR is never a valid
 * request, and every state needs VFIO_MIGRATION_STOP_COPY.
 */
export function migStateValid(migrationFlags: number, state: number): state is VfioDeviceMigState {
  return isVfioDeviceMigState(state) && supported(migrationFlags, state);
}

/**
 * The registration-time check (vfio_pci_core_register_device): a device with migration ops must
 * support at least VFIO_MIGRATION_STOP_COPY, so PRE_COPY or P2P alone is EINVAL.
 */
export function migCheckFlags(migrationFlags: number): void {
  if (!(migrationFlags & VFIO_MIGRATION_STOP_COPY)) {
    throw new VfioError('EINVAL', `migration flags 0x${(migrationFlags >>> 0).toString(16)} lack VFIO_MIGRATION_STOP_COPY`);
  }
}

/**
 * vfio_mig_get_next_state(): the next arc from `cur` towards `target` for a device supporting
 * `migrationFlags` (`target` is the user's raw device_state). Arcs through states the device does not support are skipped (the driver sees one
 * arc from `cur` to the next supported state). EINVAL when `cur` or `target` is out of range or not
 * supported (ERROR included: the kernel WARNs on an ERROR `cur`), or the arc is blocked
 * (STOP_COPY -> PRE_COPY or PRE_COPY_P2P). The skip loop stops at the ERROR sentinel, as the 2026
 * stable fix does; before it the kernel spun forever on the blocked arcs of a PRE_COPY device.
 */
export function migGetNextState(migrationFlags: number, cur: VfioDeviceMigState, target: number): VfioDeviceMigState {
  if (!migStateValid(migrationFlags, cur)) {
    throw new VfioError('EINVAL', `current state ${vfioDeviceMigStateName(cur)} not valid for this device`);
  }
  if (!migStateValid(migrationFlags, target)) {
    throw new VfioError('EINVAL', `target state ${vfioDeviceMigStateName(target)} not supported`);
  }
  let next = hop(cur, target);
  while (next !== ERROR && !supported(migrationFlags, next)) next = hop(next, target);
  if (next === ERROR) {
    throw new VfioError('EINVAL', `no arc ${vfioDeviceMigStateName(cur)} -> ${vfioDeviceMigStateName(target)}`);
  }
  return next;
}

function hop(from: VfioDeviceMigState, to: VfioDeviceMigState): VfioDeviceMigState {
  const row = FROM_FSM[from];
  const next = row?.[to];
  if (next === undefined) throw new Error(`migration FSM table has no entry [${from}][${to}]`);
  return next;
}

/**
 * The arcs a driver walks from `cur` to `target` (each entry is the state after one arc; `target`
 * last), as the drivers' set-state loops do: `while (cur != target) { next = get_next_state(); step;
 * cur = next; }`. Reaching `cur` itself needs no arcs and is not validated, like the drivers' loop.
 */
export function migPath(migrationFlags: number, cur: VfioDeviceMigState, target: number): VfioDeviceMigState[] {
  const path: VfioDeviceMigState[] = [];
  let s: VfioDeviceMigState = cur;
  while (s !== target) {
    s = migGetNextState(migrationFlags, s, target);
    path.push(s);
    if (path.length > FROM_FSM.length) throw new Error('migration FSM walk does not terminate');
  }
  return path;
}

/** Arcs that start a saving data session (a new data_fd): RUNNING->PRE_COPY, RUNNING_P2P->PRE_COPY_P2P, STOP->STOP_COPY. */
export function migArcOpensSaving(from: VfioDeviceMigState, to: VfioDeviceMigState): boolean {
  return (
    (from === RUNNING && to === PRE_COPY) ||
    (from === RUNNING_P2P && to === PRE_COPY_P2P) ||
    (from === STOP && to === STOP_COPY)
  );
}

/** The arc that starts a resuming data session (a new data_fd): STOP->RESUMING. */
export function migArcOpensResuming(from: VfioDeviceMigState, to: VfioDeviceMigState): boolean {
  return from === STOP && to === RESUMING;
}

/** Whether `state` is one of the saving group (PRE_COPY, PRE_COPY_P2P, STOP_COPY) sharing one data fd. */
export function migStateIsSaving(state: VfioDeviceMigState): boolean {
  return state === PRE_COPY || state === PRE_COPY_P2P || state === STOP_COPY;
}
