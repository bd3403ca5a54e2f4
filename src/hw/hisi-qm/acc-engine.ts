// The work one SQE asks of an accelerator engine (the job drivers/crypto/hisilicon/{zip,sec2,hpre} hand their
// hardware, reduced to one small real operation per kind): ZIP copies with an Adler-32 of the data (a "stored"
// deflate block's checksum), SEC XORs with a 64-bit key, HPRE computes base^exp mod m on 64-bit numbers.
// Buffers move through the function's DMA port; a fault is reported in the CQE, never thrown.
import { VfioError } from '../../uapi/errno.js';
import type { PciDmaPort } from '../pci/pci-function.js';
import { QM_CQE_BAD_REQUEST, QM_CQE_DMA_FAULT, QM_CQE_OK, QM_SQE_MAX_LEN } from './qm-regs.js';
import type { HisiAccKind } from './qm-regs.js';

/** One decoded SQE. */
export interface QmSqe {
  readonly tag: number;
  readonly op: number;
  readonly len: number;
  readonly src: bigint;
  readonly dst: bigint;
  readonly key: bigint;
}

/** What the engine reports in the CQE. */
export interface QmJobResult {
  readonly status: number;
  readonly result: number;
}

/** Adler-32 (RFC 1950). */
export function adler32(data: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (const x of data) {
    a = (a + x) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** base^exp mod m by square and multiply (m > 0). */
export function modexp(base: bigint, exp: bigint, m: bigint): bigint {
  let r = 1n % m;
  let b = base % m;
  for (let e = exp; e > 0n; e >>= 1n) {
    if ((e & 1n) === 1n) r = (r * b) % m;
    b = (b * b) % m;
  }
  return r;
}

function bufferJob(sqe: QmSqe, dma: PciDmaPort, transform: (data: Uint8Array) => number): QmJobResult {
  if (sqe.len === 0 || sqe.len > QM_SQE_MAX_LEN) return { status: QM_CQE_BAD_REQUEST, result: 0 };
  const data = new Uint8Array(sqe.len);
  dma.read(sqe.src, data);
  const result = transform(data);
  dma.write(sqe.dst, data);
  return { status: QM_CQE_OK, result };
}

/** HPRE: src holds base, exponent and modulus (u64 LE each); dst gets the u64 result. */
function hpreJob(sqe: QmSqe, dma: PciDmaPort): QmJobResult {
  const args = new Uint8Array(24);
  dma.read(sqe.src, args);
  const dv = new DataView(args.buffer);
  const m = dv.getBigUint64(16, true);
  if (m === 0n) return { status: QM_CQE_BAD_REQUEST, result: 0 };
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, modexp(dv.getBigUint64(0, true), dv.getBigUint64(8, true), m), true);
  dma.write(sqe.dst, out);
  return { status: QM_CQE_OK, result: 8 };
}

/** Runs `sqe` on a `kind` engine; only op 0 exists on every kind. */
export function accRunJob(kind: HisiAccKind, sqe: QmSqe, dma: PciDmaPort): QmJobResult {
  if (sqe.op !== 0) return { status: QM_CQE_BAD_REQUEST, result: 0 };
  try {
    switch (kind) {
      case 'zip':
        return bufferJob(sqe, dma, (d) => adler32(d));
      case 'sec':
        return bufferJob(sqe, dma, (d) => {
          for (let i = 0; i < d.length; i++) d[i] = (d[i] ?? 0) ^ Number((sqe.key >> BigInt(8 * (i & 7))) & 0xffn);
          return d.length;
        });
      case 'hpre':
        return hpreJob(sqe, dma);
    }
  } catch (err) {
    if (!(err instanceof VfioError)) throw err;
    return { status: QM_CQE_DMA_FAULT, result: 0 };
  }
}
