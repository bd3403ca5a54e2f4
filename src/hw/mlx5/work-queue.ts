// One work queue of the simulated ConnectX VF: a descriptor ring and a completion ring in guest memory, a doorbell
// (producer index), a consumer index and credits. Its registers are state the firmware saves and loads as one
// section of the VF's state (vhca-state.ts); `dirty` marks a change since the last save that tracked it.
import { MLX5_CREDITS_UNLIMITED } from './mlx5-regs.js';

/** The bytes of one queue's saved section. */
export const MLX5_WQ_STATE_SIZE = 40;

export class Mlx5WorkQueue {
  ringBase = 0n;
  logSize = 0;
  /** Producer index the driver rang (free-running u32). */
  pi = 0;
  /** Descriptors executed (free-running u32). */
  ci = 0;
  cqBase = 0n;
  /** Completions written (free-running u32). */
  cqPi = 0;
  credits = MLX5_CREDITS_UNLIMITED;
  /** Set when a descriptor fetch faulted: the queue stops until reset. */
  error = false;
  dirty = true;

  get entries(): number {
    return 1 << this.logSize;
  }

  /** Whether a posted descriptor may run now (the device's own run state is checked by the VF). */
  hasWork(): boolean {
    return !this.error && this.ci !== this.pi && this.credits !== 0;
  }

  /** Marks one descriptor consumed (and a credit used). */
  consumed(): void {
    this.ci = (this.ci + 1) >>> 0;
    if (this.credits !== MLX5_CREDITS_UNLIMITED) this.credits--;
    this.dirty = true;
  }

  reset(): void {
    this.ringBase = 0n;
    this.logSize = 0;
    this.pi = 0;
    this.ci = 0;
    this.cqBase = 0n;
    this.cqPi = 0;
    this.credits = MLX5_CREDITS_UNLIMITED;
    this.error = false;
    this.dirty = true;
  }

  save(dv: DataView, at: number): void {
    dv.setBigUint64(at, this.ringBase, true);
    dv.setUint32(at + 8, this.logSize, true);
    dv.setUint32(at + 12, this.pi, true);
    dv.setUint32(at + 16, this.ci, true);
    dv.setBigUint64(at + 20, this.cqBase, true);
    dv.setUint32(at + 28, this.cqPi, true);
    dv.setUint32(at + 32, this.credits, true);
    dv.setUint32(at + 36, this.error ? 1 : 0, true);
  }

  /** Reads a section already checked for size; false if a field is out of range (nothing changed then). */
  static valid(dv: DataView, at: number, maxLogSize: number): boolean {
    return dv.getUint32(at + 8, true) <= maxLogSize && dv.getUint32(at + 36, true) <= 1;
  }

  load(dv: DataView, at: number): void {
    this.ringBase = dv.getBigUint64(at, true);
    this.logSize = dv.getUint32(at + 8, true);
    this.pi = dv.getUint32(at + 12, true);
    this.ci = dv.getUint32(at + 16, true);
    this.cqBase = dv.getBigUint64(at + 20, true);
    this.cqPi = dv.getUint32(at + 28, true);
    this.credits = dv.getUint32(at + 32, true);
    this.error = dv.getUint32(at + 36, true) === 1;
    this.dirty = true;
  }
}
