// Test support: what a guest's QM driver (qm.c on a VF) does to start one queue pair and feed it, over any
// register door (BAR cycles in a hardware test, pread/pwrite of a VFIO device fd in a driver test) and any memory
// the device reaches at `iova` (64 KiB: context tables, EQ, rings, data buffers).
import { decodeCqe, encodeCqc, encodeSqc, encodeSqe } from './qm-contexts.js';
import type { QmCqe } from './qm-contexts.js';
import type { QmSqe } from './acc-engine.js';
import * as R from './qm-regs.js';

/** Dword register access to the VF's QM BAR. */
export interface GuestQmIo {
  readl(off: number): number;
  writel(off: number, v: number): void;
}

/** Where things sit in the guest's 64 KiB. */
export const GUEST_MEM_SIZE = 0x10000;
export const G_SQC_TABLE = 0x0000;
export const G_CQC_TABLE = 0x0800;
export const G_CTX_TMP = 0x1000;
export const G_EQC_TMP = 0x1040;
export const G_EQ = 0x1100;
export const G_SQ = 0x2000;
export const G_CQ = 0x2400;
/** Data buffer `i` (0..15): source at G_SRC + i * 0x200, destination at G_DST + i * 0x200. */
export const G_SRC = 0x3000;
export const G_DST = 0x6000;
export const G_BUF = 0x200;
const EQ_DEPTH = 16;

export class GuestQm {
  /** The next SQ slot the guest fills. */
  tail = 0;

  constructor(
    readonly io: GuestQmIo,
    readonly mem: Uint8Array,
    readonly iova: bigint,
    readonly depth = 8,
  ) {}

  private at(off: number): bigint {
    return this.iova + BigInt(off);
  }

  /** hisi_qm_mb(); returns w0 after the command (status bits set when the QM refused). */
  mb(cmd: number, addr: bigint, queue: number, read: boolean): number {
    this.io.writel(R.QM_MB_CMD_DATA_ADDR_L, Number(addr & 0xffffffffn));
    this.io.writel(R.QM_MB_CMD_DATA_ADDR_H, Number(addr >> 32n));
    this.io.writel(R.QM_MB_CMD_SEND_BASE, (cmd | ((read ? 1 : 0) << R.QM_MB_OP_SHIFT) | (1 << R.QM_MB_BUSY_SHIFT) | (queue << 16)) >>> 0);
    return this.io.readl(R.QM_MB_CMD_SEND_BASE);
  }

  /** The data of a read command. */
  mbData(): bigint {
    return (BigInt(this.io.readl(R.QM_MB_CMD_DATA_ADDR_H)) << 32n) | BigInt(this.io.readl(R.QM_MB_CMD_DATA_ADDR_L));
  }

  /** hisi_qm_start() for queue pair 0: tables, EQ, the pair's contexts, EQ interrupt unmasked, QM_READY. */
  start(): void {
    this.mb(R.QM_MB_CMD_SQC_BT, this.at(G_SQC_TABLE), 0, false);
    this.mb(R.QM_MB_CMD_CQC_BT, this.at(G_CQC_TABLE), 0, false);
    const eqc = new DataView(this.mem.buffer, this.mem.byteOffset + G_EQC_TMP, R.QM_XQC_SIZE);
    eqc.setUint32(0, Number(this.at(G_EQ) & 0xffffffffn), true);
    eqc.setUint32(4, Number(this.at(G_EQ) >> 32n), true);
    eqc.setUint32(8, 1 << 16, true); // tail 0, phase 1
    eqc.setUint32(12, EQ_DEPTH - 1, true);
    this.mb(R.QM_MB_CMD_EQC, this.at(G_EQC_TMP), 0, false);
    this.mem.set(encodeSqc({ head: 0, tail: 0, base: this.at(G_SQ), depth: this.depth, cqNum: 0 }), G_CTX_TMP);
    this.mb(R.QM_MB_CMD_SQC, this.at(G_CTX_TMP), 0, false);
    // A buffer of its own: with a door that queues its writes, the SQC command may not have run yet.
    this.mem.set(encodeCqc({ head: 0, tail: 0, base: this.at(G_CQ), depth: this.depth, phase: 1 }), G_CTX_TMP + R.QM_CTX_SIZE);
    this.mb(R.QM_MB_CMD_CQC, this.at(G_CTX_TMP + R.QM_CTX_SIZE), 0, false);
    this.io.writel(R.QM_VF_EQ_INT_MASK, 0);
    this.io.writel(R.QM_VF_STATE, R.QM_READY);
  }

  /** Writes an SQE at the tail (buffers i), without ringing. */
  put(i: number, sqe: Partial<QmSqe> = {}): void {
    const full: QmSqe = { tag: i, op: 0, len: 16, src: this.at(G_SRC + i * G_BUF), dst: this.at(G_DST + i * G_BUF), key: 0n, ...sqe };
    this.mem.set(encodeSqe(full), G_SQ + this.tail * R.QM_SQE_SIZE);
    this.tail = (this.tail + 1) % this.depth;
  }

  /** The SQ doorbell with the current tail (qm_db). */
  ring(priority = 0): void {
    this.io.writel(R.QM_DOORBELL_SQ_CQ_BASE_V2, R.QM_DOORBELL_CMD_SQ << R.QM_DB_CMD_SHIFT_V2);
    this.io.writel(R.QM_DOORBELL_SQ_CQ_BASE_V2 + 4, this.tail | (priority << 16));
  }

  /** CQE `i` as written in the CQ. */
  cqe(i: number): QmCqe {
    return decodeCqe(this.mem.subarray(G_CQ + i * R.QM_CQE_SIZE, G_CQ + (i + 1) * R.QM_CQE_SIZE));
  }

  /** Source and destination bytes of buffer `i`. */
  src(i: number, n = 16): Uint8Array {
    return this.mem.subarray(G_SRC + i * G_BUF, G_SRC + i * G_BUF + n);
  }

  dst(i: number, n = 16): Uint8Array {
    return this.mem.subarray(G_DST + i * G_BUF, G_DST + i * G_BUF + n);
  }

  /** EQE `i`: the CQ number and the phase. */
  eqe(i: number): { cq: number; phase: number } {
    const v = new DataView(this.mem.buffer, this.mem.byteOffset + G_EQ + i * 4, 4).getUint32(0, true);
    return { cq: v & 0xffff, phase: (v >>> 16) & 1 };
  }
}
