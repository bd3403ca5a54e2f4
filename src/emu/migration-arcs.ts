// A migration v2 driver for devices whose state is "a snapshot of a record": one FSM arc per call, as the kernel's
// drivers step (samples/vfio-mdev/mtty.c mtty_step_state; drivers/vfio/vfio_main.c vfio_mig_get_next_state).
import { VfioError, check } from '../uapi/errno.js';
import { VfioDeviceMigState, vfioDeviceMigStateName } from '../uapi/migration.js';
import { migCheckFlags, migGetNextState } from '../vfio/migration-fsm.js';
import type { VfioDeviceOps, VfioMigrationFile } from '../vfio/vfio-ops.js';
import { ResumingMigrationFile, SavingMigrationFile } from './migration-files.js';
import { MemoryResumingFile } from './memory-resuming-file.js';
import { MemorySavingFile, initialRuns } from './memory-saving-file.js';
import type { MigratableMemory } from './migratable-memory.js';
import { pageRecordSize } from './page-records.js';
import { STATE_RECORD_FLAG_PRECOPY, decodeStateRecord, encodeStateRecord } from './state-record.js';
import type { VfioPciEmuDevice } from './pci-emu-device.js';

const { STOP, RUNNING, STOP_COPY, RESUMING, RUNNING_P2P, PRE_COPY, PRE_COPY_P2P } = VfioDeviceMigState;

/** What the device provides: its state as a JSON-able record, and how to take one back. */
export interface SnapshotMigrationHooks {
  /** The device type in the stream header (a stream for another type is refused), e.g. 'mtty-2'. */
  readonly device: string;
  /** The state version this device writes and accepts. */
  readonly version: number;
  /** VFIO_MIGRATION_* support flags (STOP_COPY required; P2P and PRE_COPY optional). */
  readonly flags: number;
  save(): unknown;
  /** Applies a saved state; throws VfioError('EINVAL') and changes nothing when it is malformed. */
  load(state: unknown): void;
  /** RUNNING -> RUNNING_P2P (or STOP without P2P): stop initiating DMA and interrupts. */
  quiesce?(): void;
  /** The way back to running. */
  unquiesce?(): void;
  /** Largest stream a resume accepts (default 1 MiB); more is ENOMEM. With `memory`: the largest state record. */
  readonly maxStreamBytes?: number;
  /**
   * Memory that migrates page by page beside the state (a framebuffer, VRAM): the streams then carry binary page
   * records (src/emu/page-records.ts), PRE_COPY sends every page once and then what changed.
   */
  readonly memory?: MigratableMemory;
}

/** The per-device migration state: current FSM state and the open data streams. */
export class SnapshotMigration {
  state: VfioDeviceMigState = RUNNING;
  private saving: SavingMigrationFile | MemorySavingFile | null = null;
  private resuming: ResumingMigrationFile | MemoryResumingFile | null = null;

  constructor(readonly hooks: SnapshotMigrationHooks) {
    migCheckFlags(hooks.flags);
  }

  /** One arc from the current state to `next` (which must be the next hop); returns the stream on the saving/resuming arcs. */
  setState(next: number): VfioMigrationFile | null {
    const cur = this.state;
    if (next === cur) return null;
    const hop = migGetNextState(this.hooks.flags, cur, next);
    check(hop === next, 'EINVAL', `${vfioDeviceMigStateName(cur)} -> ${vfioDeviceMigStateName(next)} is not one arc`);
    const file = this.step(cur, hop);
    this.state = hop;
    return file;
  }

  private step(cur: VfioDeviceMigState, next: VfioDeviceMigState): VfioMigrationFile | null {
    const arc = (a: VfioDeviceMigState, b: VfioDeviceMigState): boolean => cur === a && next === b;
    // Quiesce steps: the device stops (or resumes) initiating anything; the state itself does not move.
    if (arc(RUNNING, RUNNING_P2P) || arc(PRE_COPY, PRE_COPY_P2P) || arc(RUNNING, STOP)) {
      this.hooks.quiesce?.();
      return null;
    }
    if (arc(RUNNING_P2P, RUNNING) || arc(PRE_COPY_P2P, PRE_COPY) || arc(STOP, RUNNING)) {
      this.hooks.unquiesce?.();
      return null;
    }
    if (arc(RUNNING_P2P, STOP) || arc(STOP, RUNNING_P2P)) return null;
    if (arc(RESUMING, STOP)) {
      const r = this.resuming;
      if (r === null) throw new VfioError('EINVAL', 'no resume stream');
      this.hooks.load(r instanceof MemoryResumingFile ? r.finish() : decodeStateRecord(r.bytes(), this.hooks.device, this.hooks.version));
      this.disableFiles();
      return null;
    }
    if (arc(PRE_COPY, RUNNING) || arc(PRE_COPY_P2P, RUNNING_P2P) || arc(STOP_COPY, STOP)) {
      this.disableFiles();
      return null;
    }
    if (arc(RUNNING, PRE_COPY) || arc(RUNNING_P2P, PRE_COPY_P2P)) {
      // The initial snapshot, superseded by the final record at STOP_COPY.
      return this.openSaving(STATE_RECORD_FLAG_PRECOPY);
    }
    if (arc(STOP, STOP_COPY)) return this.openSaving(0);
    if (arc(PRE_COPY_P2P, STOP_COPY)) {
      // The stream the user already holds gets the final record; no new file.
      const s = this.saving;
      if (s === null) throw new VfioError('EINVAL', 'no saving stream');
      if (s instanceof MemorySavingFile) s.finish();
      else s.append(this.snapshot(0));
      return null;
    }
    if (arc(STOP, RESUMING)) {
      this.disableFiles();
      const { memory, device, version } = this.hooks;
      const maxBytes = this.hooks.maxStreamBytes ?? 1 << 20;
      this.resuming = memory === undefined ? new ResumingMigrationFile(maxBytes) : new MemoryResumingFile({ memory, device, version, maxStateBytes: maxBytes });
      return this.resuming;
    }
    throw new VfioError('EINVAL', `unexpected arc ${vfioDeviceMigStateName(cur)} -> ${vfioDeviceMigStateName(next)}`);
  }

  private snapshot(flags: number): Uint8Array {
    return encodeStateRecord(this.hooks.device, this.hooks.version, this.hooks.save(), flags);
  }

  private openSaving(flags: number): SavingMigrationFile | MemorySavingFile {
    this.disableFiles();
    const inPreCopy = (): boolean => this.state === PRE_COPY || this.state === PRE_COPY_P2P;
    const memory = this.hooks.memory;
    if (memory !== undefined) {
      const m = new MemorySavingFile({ memory, inPreCopy, stateRecord: (final) => this.snapshot(final ? 0 : STATE_RECORD_FLAG_PRECOPY) });
      if (flags === 0) m.finish();
      this.saving = m;
      return m;
    }
    const f = new SavingMigrationFile(inPreCopy);
    f.append(this.snapshot(flags));
    this.saving = f;
    return f;
  }

  /** Estimated STOP_COPY size: one snapshot record; with memory, the pages as a scan finds them and two records. */
  dataSize(): bigint {
    const record = this.snapshot(0).length;
    const memory = this.hooks.memory;
    if (memory === undefined) return BigInt(record);
    let pages = 0;
    for (const r of initialRuns(memory.scan())) pages += pageRecordSize(r.count, r.zero);
    return BigInt(2 * record + pages);
  }

  /** mtty_disable_files: open streams stop working (reads/writes ENODEV). */
  disableFiles(): void {
    if (this.saving !== null) this.saving.disabled = true;
    if (this.resuming !== null) this.resuming.disabled = true;
    this.saving = null;
    this.resuming = null;
  }

  /** The deferred reset of mtty_reset: back to RUNNING with every stream closed. */
  reset(): void {
    this.state = RUNNING;
    this.disableFiles();
  }
}

/** Attaches snapshot migration to a device (call from ops.init); sets the core's migrationFlags. */
export function pciEmuMigrationInit(dev: VfioPciEmuDevice, hooks: SnapshotMigrationHooks): SnapshotMigration {
  const m = new SnapshotMigration(hooks);
  dev.migration = m;
  dev.migrationFlags = hooks.flags;
  return m;
}

function migrationOf(dev: VfioPciEmuDevice): SnapshotMigration {
  const m = dev.migration;
  if (m === null) throw new VfioError('ENOTTY', 'device has no migration support');
  return m;
}

/** The migration ops for `{ ...pciEmuOps, ...pciEmuMigrationOps }`. */
export const pciEmuMigrationOps = Object.freeze({
  migrationSetState: (dev: VfioPciEmuDevice, newState: number) => migrationOf(dev).setState(newState),
  migrationGetState: (dev: VfioPciEmuDevice) => migrationOf(dev).state,
  migrationGetDataSize: (dev: VfioPciEmuDevice) => migrationOf(dev).dataSize(),
} satisfies Omit<VfioDeviceOps<VfioPciEmuDevice>, 'name'>);
