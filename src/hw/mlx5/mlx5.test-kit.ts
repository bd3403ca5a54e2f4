// Test helpers for the simulated ConnectX VF: a guest's view of one window of memory holding the rings and data
// buffers, and a driver of the VF's registers (direct BAR access in hardware tests, pread/pwrite through VFIO in
// driver tests): set up a queue, post descriptors, read completions.
import * as R from './mlx5-regs.js';

/** A guest's layout in one window of memory at `iova`: queue q's ring at 0x1000 * q, its completions at 0x8000 + 0x400 * q. */
export const GUEST_RING = (q: number): number => 0x1000 * q;
export const GUEST_CQ = (q: number): number => 0x8000 + 0x400 * q;
/** Data buffers start here. */
export const GUEST_DATA = 0x10000;
export const GUEST_SIZE = 0x20000;

export interface Mlx5Descriptor {
  readonly op: number;
  readonly len: number;
  readonly src?: number;
  readonly dst?: number;
  readonly imm?: number;
  readonly tag: number;
}

export interface Mlx5Cqe {
  readonly tag: number;
  readonly status: number;
  readonly result: number;
  readonly seq: number;
}

export class Mlx5Guest {
  /** Descriptors posted per queue (the guest's producer index). */
  private readonly pi = new Map<number, number>();

  constructor(
    /** The window's bytes as the guest sees them. */
    readonly mem: Uint8Array,
    readonly iova: bigint,
    readonly regRead: (off: number) => number,
    readonly regWrite: (off: number, v: number) => void,
  ) {}

  /** Queue `q` with 2^logSize entries, its completions unmasked. */
  setupQueue(q: number, logSize = 4): void {
    const base = R.MLX5_WQ_BASE + q * R.MLX5_WQ_STRIDE;
    const ring = this.iova + BigInt(GUEST_RING(q));
    const cq = this.iova + BigInt(GUEST_CQ(q));
    this.regWrite(base + R.MLX5_WQ_RING_LO, Number(ring & 0xffffffffn));
    this.regWrite(base + R.MLX5_WQ_RING_HI, Number(ring >> 32n));
    this.regWrite(base + R.MLX5_WQ_CQ_LO, Number(cq & 0xffffffffn));
    this.regWrite(base + R.MLX5_WQ_CQ_HI, Number(cq >> 32n));
    this.regWrite(base + R.MLX5_WQ_LOG_SIZE, logSize);
    this.regWrite(R.MLX5_REG_INTR_MASK, this.regRead(R.MLX5_REG_INTR_MASK) | (1 << q));
  }

  /** Writes descriptors into queue `q`'s ring (entries of 2^logSize) and rings the doorbell once. */
  post(q: number, descs: readonly Mlx5Descriptor[], logSize = 4): void {
    let pi = this.pi.get(q) ?? this.regRead(R.MLX5_WQ_BASE + q * R.MLX5_WQ_STRIDE + R.MLX5_WQ_DOORBELL);
    const dv = new DataView(this.mem.buffer, this.mem.byteOffset, this.mem.byteLength);
    for (const d of descs) {
      const at = GUEST_RING(q) + (pi & ((1 << logSize) - 1)) * R.MLX5_WQE_SIZE;
      dv.setUint32(at + R.MLX5_WQE_OPCODE, d.op, true);
      dv.setUint32(at + R.MLX5_WQE_LEN, d.len, true);
      dv.setBigUint64(at + R.MLX5_WQE_SRC, this.iova + BigInt(d.src ?? 0), true);
      dv.setBigUint64(at + R.MLX5_WQE_DST, this.iova + BigInt(d.dst ?? 0), true);
      dv.setUint32(at + R.MLX5_WQE_IMM, d.imm ?? 0, true);
      dv.setUint32(at + R.MLX5_WQE_TAG, d.tag, true);
      pi = (pi + 1) >>> 0;
    }
    this.pi.set(q, pi);
    this.regWrite(R.MLX5_WQ_BASE + q * R.MLX5_WQ_STRIDE + R.MLX5_WQ_DOORBELL, pi);
  }

  /** Lets queue `q` execute `n` more descriptors (0xffffffff: no limit). */
  credits(q: number, n: number): void {
    this.regWrite(R.MLX5_WQ_BASE + q * R.MLX5_WQ_STRIDE + R.MLX5_WQ_CREDITS, n);
  }

  queueReg(q: number, reg: number): number {
    return this.regRead(R.MLX5_WQ_BASE + q * R.MLX5_WQ_STRIDE + reg);
  }

  /** Completion slot `slot` of queue `q`. */
  cqe(q: number, slot: number): Mlx5Cqe {
    const dv = new DataView(this.mem.buffer, this.mem.byteOffset, this.mem.byteLength);
    const at = GUEST_CQ(q) + slot * R.MLX5_CQE_SIZE;
    return { tag: dv.getUint32(at, true), status: dv.getUint32(at + 4, true), result: dv.getUint32(at + 8, true), seq: dv.getUint32(at + 12, true) };
  }
}

/** A mixed batch of work on one queue: fills, copies, checksums and device-memory traffic, tags from `tag0`. */
export function workBatch(tag0: number, n: number): Mlx5Descriptor[] {
  const out: Mlx5Descriptor[] = [];
  for (let i = 0; i < n; i++) {
    const tag = tag0 + i;
    const buf = GUEST_DATA + 0x1000 * (i % 8);
    switch (i % 4) {
      case 0: out.push({ op: R.MLX5_OP_FILL, len: 64, dst: buf, imm: 0x01010101 * ((tag & 0x7f) + 1), tag }); break;
      case 1: out.push({ op: R.MLX5_OP_TO_DEVMEM, len: 256, src: buf - 0x1000 * (i % 8), imm: 0x100 * (tag % 32), tag }); break;
      case 2: out.push({ op: R.MLX5_OP_CSUM, len: 512, src: GUEST_DATA, tag }); break;
      default: out.push({ op: R.MLX5_OP_FROM_DEVMEM, len: 128, dst: buf + 0x800, imm: 0x100 * ((tag - 2) % 32), tag }); break;
    }
  }
  return out;
}
