// The QM's contexts and descriptors as they sit in memory (struct qm_sqc, qm_cqc, qm_cqe, qm_eqe of
// drivers/crypto/hisilicon/qm.c, trimmed to the fields this model uses; the SQE is this model's).
import { QM_CQE_SIZE, QM_CTX_SIZE, QM_EQE_SIZE, QM_SQE_SIZE } from './qm-regs.js';
import type { QmSqe } from './acc-engine.js';

const dv = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** A submission queue's context: the device consumes from head, the driver's doorbell moves tail. */
export interface QmSqc {
  head: number;
  tail: number;
  base: bigint;
  depth: number;
  cqNum: number;
}

/** A completion queue's context: the device produces at tail with `phase`, the driver's doorbell moves head. */
export interface QmCqc {
  head: number;
  tail: number;
  base: bigint;
  depth: number;
  phase: number;
}

export function decodeSqc(b: Uint8Array): QmSqc {
  const v = dv(b);
  return { head: v.getUint16(0, true), tail: v.getUint16(2, true), base: v.getBigUint64(4, true), depth: v.getUint16(16, true) + 1, cqNum: v.getUint16(24, true) };
}

export function encodeSqc(s: QmSqc): Uint8Array {
  const b = new Uint8Array(QM_CTX_SIZE);
  const v = dv(b);
  v.setUint16(0, s.head, true);
  v.setUint16(2, s.tail, true);
  v.setBigUint64(4, s.base, true);
  v.setUint16(16, s.depth - 1, true);
  v.setUint16(24, s.cqNum, true);
  return b;
}

export function decodeCqc(b: Uint8Array): QmCqc {
  const v = dv(b);
  return { head: v.getUint16(0, true), tail: v.getUint16(2, true), base: v.getBigUint64(4, true), depth: v.getUint16(16, true) + 1, phase: v.getUint32(24, true) & 1 };
}

export function encodeCqc(c: QmCqc): Uint8Array {
  const b = new Uint8Array(QM_CTX_SIZE);
  const v = dv(b);
  v.setUint16(0, c.head, true);
  v.setUint16(2, c.tail, true);
  v.setBigUint64(4, c.base, true);
  v.setUint16(16, c.depth - 1, true);
  v.setUint32(24, c.phase & 1, true);
  return b;
}

export function decodeSqe(b: Uint8Array): QmSqe {
  const v = dv(b);
  return { tag: v.getUint16(0, true), op: v.getUint8(2), len: v.getUint32(4, true), src: v.getBigUint64(8, true), dst: v.getBigUint64(16, true), key: v.getBigUint64(24, true) };
}

export function encodeSqe(s: QmSqe): Uint8Array {
  const b = new Uint8Array(QM_SQE_SIZE);
  const v = dv(b);
  v.setUint16(0, s.tag, true);
  v.setUint8(2, s.op);
  v.setUint32(4, s.len, true);
  v.setBigUint64(8, s.src, true);
  v.setBigUint64(16, s.dst, true);
  v.setBigUint64(24, s.key, true);
  return b;
}

/** A completion as the driver reads it. */
export interface QmCqe {
  readonly result: number;
  readonly tag: number;
  readonly sqHead: number;
  readonly sqNum: number;
  readonly phase: number;
  readonly status: number;
}

export function encodeCqe(c: QmCqe): Uint8Array {
  const b = new Uint8Array(QM_CQE_SIZE);
  const v = dv(b);
  v.setUint32(0, c.result >>> 0, true);
  v.setUint16(4, c.tag, true);
  v.setUint16(8, c.sqHead, true);
  v.setUint16(10, c.sqNum, true);
  v.setUint16(14, (c.phase & 1) | (c.status << 1), true);
  return b;
}

export function decodeCqe(b: Uint8Array): QmCqe {
  const v = dv(b);
  const w7 = v.getUint16(14, true);
  return { result: v.getUint32(0, true), tag: v.getUint16(4, true), sqHead: v.getUint16(8, true), sqNum: v.getUint16(10, true), phase: w7 & 1, status: w7 >> 1 };
}

export function encodeEqe(cqNum: number, phase: number): Uint8Array {
  const b = new Uint8Array(QM_EQE_SIZE);
  dv(b).setUint32(0, (cqNum & 0xffff) | ((phase & 1) << 16), true);
  return b;
}
