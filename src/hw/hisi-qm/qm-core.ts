// A function's queue manager (drivers/crypto/hisilicon/qm.c is its driver): the registers of QM BAR2, the mailbox
// (hisi_qm_mb: contexts in, contexts out, the context tables' bases, the VFT, pause), the doorbells, and the queue
// pairs it runs: SQEs fetched from guest memory by DMA, run on the kind's engine, CQEs and EQEs written back by DMA,
// the EQ's MSI-X vector raised. Contexts are cached in the QM; QM_CACHE_WB_START writes the cache back to the
// SQC/CQC tables, and a doorbell for a queue with nothing cached loads its context from them.
import { VfioError } from '../../uapi/errno.js';
import type { PciDmaPort } from '../pci/pci-function.js';
import { accRunJob } from './acc-engine.js';
import { decodeCqc, decodeSqc, decodeSqe, encodeCqc, encodeCqe, encodeEqe, encodeSqc } from './qm-contexts.js';
import type { QmCqc, QmSqc } from './qm-contexts.js';
import * as R from './qm-regs.js';
import type { HisiAccKind } from './qm-regs.js';

/** What the function around the QM provides. */
export interface QmFunctionPort {
  readonly kind: HisiAccKind;
  /** Where DMA goes, while the function may master the bus; null otherwise. */
  dmaPort(): PciDmaPort | null;
  /** An edge on MSI-X `vector`. */
  raise(vector: number): void;
  /** The SQC VFT word the PF programmed for this function (its queues). */
  sqcVft(): bigint;
}

export interface QmCoreOptions {
  /** SQEs the QM fetches per doorbell (its prefetch window; default: all up to the tail). */
  readonly sqeBurst?: number;
}

const u64 = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

export class QmCore {
  private aeqIntMask = 1;
  private eqIntMask = 1;
  private ifcIntSource = 0;
  private ifcIntMask = 1;
  private ifcIntSet = 0;
  private queIsoCfg = 0;
  private pageSize = 0;
  private vfState = R.QM_NOT_READY;
  private wbDone = 0;
  private readonly eqc = new Uint32Array(R.QM_XQC_DWORDS);
  private readonly aeqc = new Uint32Array(R.QM_XQC_DWORDS);
  private mb = new Uint32Array(4);
  private readonly dbLow = new Uint32Array(2);
  private sqcBt = 0n;
  private cqcBt = 0n;
  private readonly sqcCache = new Map<number, QmSqc>();
  private readonly cqcCache = new Map<number, QmCqc>();
  private readonly stopped = new Set<number>();
  /** QM_MB_CMD_PAUSE_QM: nothing is fetched until the next SQ doorbell. */
  paused = false;
  /** SQEs completed since power-on (what tests and views read). */
  completed = 0;
  private readonly burst: number;

  constructor(
    private readonly port: QmFunctionPort,
    opts: QmCoreOptions = {},
  ) {
    this.burst = opts.sqeBurst ?? Number.POSITIVE_INFINITY;
  }

  /** The queue pairs the PF gave this function. */
  get qpNum(): number {
    return R.qmDecodeVft(this.port.sqcVft()).num;
  }

  /** Power-on: registers to their reset values, caches and tables forgotten, nothing paused. */
  reset(): void {
    Object.assign(this, { aeqIntMask: 1, eqIntMask: 1, ifcIntSource: 0, ifcIntMask: 1, ifcIntSet: 0, queIsoCfg: 0, pageSize: 0, vfState: R.QM_NOT_READY, wbDone: 0 });
    this.eqc.fill(0);
    this.aeqc.fill(0);
    this.mb.fill(0);
    this.dbLow.fill(0);
    this.sqcBt = 0n;
    this.cqcBt = 0n;
    this.sqcCache.clear();
    this.cqcCache.clear();
    this.stopped.clear();
    this.paused = false;
    this.completed = 0;
  }

  /** A dword register read; undefined registers read 0. */
  readReg(off: number): number {
    if (off >= R.QM_EQC_DW0 && off < R.QM_EQC_DW0 + R.QM_XQC_SIZE) return this.eqc[(off - R.QM_EQC_DW0) >> 2] ?? 0;
    if (off >= R.QM_AEQC_DW0 && off < R.QM_AEQC_DW0 + R.QM_XQC_SIZE) return this.aeqc[(off - R.QM_AEQC_DW0) >> 2] ?? 0;
    if (off >= R.QM_MB_CMD_SEND_BASE && off < R.QM_MB_CMD_SEND_BASE + 16) return this.mb[(off - R.QM_MB_CMD_SEND_BASE) >> 2] ?? 0;
    switch (off) {
      case R.QM_VF_AEQ_INT_MASK: return this.aeqIntMask;
      case R.QM_VF_EQ_INT_MASK: return this.eqIntMask;
      case R.QM_IFC_INT_SOURCE_V: return this.ifcIntSource;
      case R.QM_IFC_INT_MASK: return this.ifcIntMask;
      case R.QM_IFC_INT_STATUS: return this.ifcIntSource & ~this.ifcIntMask & 1;
      case R.QM_IFC_INT_SET_V: return this.ifcIntSet;
      case R.QM_QUE_ISO_CFG_V: return this.queIsoCfg;
      case R.QM_PAGE_SIZE: return this.pageSize;
      case R.QM_VF_STATE: return this.vfState;
      case R.QM_CACHE_WB_DONE: return this.wbDone;
      default: return 0;
    }
  }

  /** A dword register write; writes to undefined registers are dropped. */
  writeReg(off: number, v: number): void {
    if (off >= R.QM_EQC_DW0 && off < R.QM_EQC_DW0 + R.QM_XQC_SIZE) this.eqc[(off - R.QM_EQC_DW0) >> 2] = v;
    else if (off >= R.QM_AEQC_DW0 && off < R.QM_AEQC_DW0 + R.QM_XQC_SIZE) this.aeqc[(off - R.QM_AEQC_DW0) >> 2] = v;
    else if (off === R.QM_MB_CMD_SEND_BASE) this.mailbox(v);
    else if (off > R.QM_MB_CMD_SEND_BASE && off < R.QM_MB_CMD_SEND_BASE + 16) this.mb[(off - R.QM_MB_CMD_SEND_BASE) >> 2] = v;
    else if (off === R.QM_DOORBELL_SQ_CQ_BASE_V2 || off === R.QM_DOORBELL_EQ_AEQ_BASE_V2) this.dbLow[off === R.QM_DOORBELL_SQ_CQ_BASE_V2 ? 0 : 1] = v;
    else if (off === R.QM_DOORBELL_SQ_CQ_BASE_V2 + 4 || off === R.QM_DOORBELL_EQ_AEQ_BASE_V2 + 4) this.doorbell(this.dbLow[off === R.QM_DOORBELL_SQ_CQ_BASE_V2 + 4 ? 0 : 1] ?? 0, v);
    else {
      switch (off) {
        case R.QM_VF_AEQ_INT_MASK: this.aeqIntMask = v & 1; break;
        case R.QM_VF_EQ_INT_MASK: this.eqIntMask = v & 1; break;
        case R.QM_IFC_INT_SOURCE_V: this.ifcIntSource &= ~v; break; // write 1 to clear
        case R.QM_IFC_INT_MASK: this.ifcIntMask = v & 1; break;
        case R.QM_IFC_INT_SET_V: this.ifcIntSet = v & 1; break;
        case R.QM_QUE_ISO_CFG_V: this.queIsoCfg = v; break;
        case R.QM_PAGE_SIZE: this.pageSize = v; break;
        case R.QM_VF_STATE: this.vfState = v & 1; break;
        case R.QM_CACHE_WB_START: if ((v & 1) !== 0) this.cacheWriteBack(); break;
        default: break;
      }
    }
  }

  /** The dword at QM_MB_CMD_SEND_BASE (w0 | queue << 16) goes last; with BUSY set it runs the command. */
  private mailbox(w0q: number): void {
    this.mb[0] = w0q;
    if ((w0q & (1 << R.QM_MB_BUSY_SHIFT)) === 0) return;
    let ok: boolean;
    try {
      ok = this.mbCommand(w0q & 0xff, ((w0q >>> R.QM_MB_OP_SHIFT) & 1) === 1, w0q >>> 16);
    } catch (err) {
      if (!(err instanceof VfioError)) throw err;
      ok = false;
    }
    this.mb[0] = (w0q & ~((1 << R.QM_MB_BUSY_SHIFT) | R.QM_MB_STATUS_MASK)) | (ok ? 0 : 1 << R.QM_MB_STATUS_SHIFT);
  }

  private setMbData(v: bigint): void {
    this.mb[1] = Number(v & 0xffffffffn);
    this.mb[2] = Number(v >> 32n);
  }

  private dma(): PciDmaPort {
    const d = this.port.dmaPort();
    if (d === null) throw new VfioError('EIO', 'the function may not master the bus');
    return d;
  }

  /** One mailbox command; false: the QM refuses it (status in w0). */
  private mbCommand(cmd: number, read: boolean, q: number): boolean {
    const base = u64(this.mb[1] ?? 0, this.mb[2] ?? 0);
    const qpOk = q < this.qpNum;
    switch (cmd) {
      case R.QM_MB_CMD_SQC:
      case R.QM_MB_CMD_CQC: {
        const sq = cmd === R.QM_MB_CMD_SQC;
        const bt = sq ? this.sqcBt : this.cqcBt;
        if (!qpOk || bt === 0n) return false;
        const raw = new Uint8Array(R.QM_CTX_SIZE);
        if (read) {
          this.writeBackOne(sq, q);
          this.dma().read(bt + BigInt(q * R.QM_CTX_SIZE), raw);
          this.dma().write(base, raw);
          return true;
        }
        this.dma().read(base, raw);
        this.dma().write(bt + BigInt(q * R.QM_CTX_SIZE), raw);
        if (sq) {
          this.sqcCache.set(q, decodeSqc(raw));
          this.stopped.delete(q);
        } else {
          this.cqcCache.set(q, decodeCqc(raw));
        }
        return true;
      }
      case R.QM_MB_CMD_EQC:
      case R.QM_MB_CMD_AEQC: {
        const regs = cmd === R.QM_MB_CMD_EQC ? this.eqc : this.aeqc;
        const raw = new Uint8Array(R.QM_XQC_SIZE);
        const dv = new DataView(raw.buffer);
        if (read) {
          regs.forEach((x, i) => dv.setUint32(i * 4, x, true));
          this.dma().write(base, raw);
        } else {
          this.dma().read(base, raw);
          for (let i = 0; i < regs.length; i++) regs[i] = dv.getUint32(i * 4, true);
        }
        return true;
      }
      case R.QM_MB_CMD_SQC_BT:
      case R.QM_MB_CMD_CQC_BT: {
        const sq = cmd === R.QM_MB_CMD_SQC_BT;
        if (read) {
          this.setMbData(sq ? this.sqcBt : this.cqcBt);
          return true;
        }
        if (sq) {
          this.sqcBt = base;
          this.sqcCache.clear();
        } else {
          this.cqcBt = base;
          this.cqcCache.clear();
        }
        return true;
      }
      case R.QM_MB_CMD_SQC_VFT_V2:
        // A function reads its own VFT; only the PF writes VFTs (through QM_VFT_CFG).
        if (!read) return false;
        this.setMbData(this.port.sqcVft());
        return true;
      case R.QM_MB_CMD_STOP_QP:
        if (!qpOk) return false;
        this.writeBackOne(true, q);
        this.stopped.add(q);
        return true;
      case R.QM_MB_CMD_PAUSE_QM:
        this.paused = true;
        return true;
      default:
        return false;
    }
  }

  /** QM_CACHE_WB_START: every cached context to its table; QM_CACHE_WB_DONE says whether it worked. */
  private cacheWriteBack(): void {
    this.wbDone = 0;
    try {
      for (const q of this.sqcCache.keys()) this.writeBackOne(true, q);
      for (const q of this.cqcCache.keys()) this.writeBackOne(false, q);
      this.wbDone = 1;
    } catch (err) {
      if (!(err instanceof VfioError)) throw err;
    }
  }

  private writeBackOne(sq: boolean, q: number): void {
    const bt = sq ? this.sqcBt : this.cqcBt;
    const sqc = this.sqcCache.get(q);
    const cqc = this.cqcCache.get(q);
    const raw = sq ? (sqc === undefined ? null : encodeSqc(sqc)) : cqc === undefined ? null : encodeCqc(cqc);
    if (raw !== null && bt !== 0n) this.dma().write(bt + BigInt(q * R.QM_CTX_SIZE), raw);
  }

  /** A context from the cache, or loaded from its table (a cache miss); null when there is none to load. */
  private ctx<T>(cache: Map<number, T>, bt: bigint, q: number, decode: (b: Uint8Array) => T): T | null {
    const hit = cache.get(q);
    if (hit !== undefined) return hit;
    const dma = this.port.dmaPort();
    if (bt === 0n || dma === null) return null;
    const raw = new Uint8Array(R.QM_CTX_SIZE);
    try {
      dma.read(bt + BigInt(q * R.QM_CTX_SIZE), raw);
    } catch (err) {
      if (!(err instanceof VfioError)) throw err;
      return null;
    }
    const c = decode(raw);
    cache.set(q, c);
    return c;
  }

  /**
   * The two dwords of a doorbell (the driver's writeq arrives as its low dword, then its high dword). An SQ
   * doorbell moves the tail to `index` and resumes a paused QM; with priority 1 (vf_qm_fun_reset's restart) it
   * keeps the tail and only restarts fetching. CQ/EQ/AEQ doorbells move the consumer's head.
   */
  private doorbell(lo: number, hi: number): void {
    const qn = lo & 0x7ff;
    const cmd = (lo >>> R.QM_DB_CMD_SHIFT_V2) & 0xf;
    const index = hi & 0xffff;
    const priority = (hi >>> 16) & 0xff;
    if (cmd === R.QM_DOORBELL_CMD_EQ || cmd === R.QM_DOORBELL_CMD_AEQ) {
      (cmd === R.QM_DOORBELL_CMD_EQ ? this.eqc : this.aeqc)[4] = index;
      return;
    }
    if (qn >= this.qpNum) return;
    if (cmd === R.QM_DOORBELL_CMD_CQ) {
      const cq = this.ctx(this.cqcCache, this.cqcBt, qn, decodeCqc);
      if (cq !== null && index < cq.depth) cq.head = index;
      return;
    }
    if (cmd !== R.QM_DOORBELL_CMD_SQ) return;
    const sq = this.ctx(this.sqcCache, this.sqcBt, qn, decodeSqc);
    if (sq === null) return;
    if ((priority & 1) === 0) {
      if (index >= sq.depth) return;
      sq.tail = index;
    }
    this.paused = false;
    this.run(qn, sq);
  }

  /** Fetches and runs SQEs from head towards tail (at most the burst), each completion written back. */
  private run(qn: number, sq: QmSqc): void {
    const dma = this.port.dmaPort();
    const cq = this.ctx(this.cqcCache, this.cqcBt, sq.cqNum, decodeCqc);
    if (dma === null || cq === null || this.stopped.has(qn)) return;
    for (let n = 0; n < this.burst && !this.paused && sq.head !== sq.tail; n++) {
      const raw = new Uint8Array(R.QM_SQE_SIZE);
      try {
        dma.read(sq.base + BigInt(sq.head * R.QM_SQE_SIZE), raw);
        const sqe = decodeSqe(raw);
        const res = accRunJob(this.port.kind, sqe, dma);
        const head = (sq.head + 1) % sq.depth;
        dma.write(cq.base + BigInt(cq.tail * R.QM_CQE_SIZE), encodeCqe({ result: res.result, tag: sqe.tag, sqHead: head, sqNum: qn, phase: cq.phase, status: res.status }));
        sq.head = head;
      } catch (err) {
        // The rings themselves are unreachable: the queue stops where it is.
        if (!(err instanceof VfioError)) throw err;
        return;
      }
      cq.tail = (cq.tail + 1) % cq.depth;
      if (cq.tail === 0) cq.phase ^= 1;
      this.completed++;
      this.eqEvent(dma, sq.cqNum);
    }
  }

  /** An EQE for completion queue `cqn` when the EQ is set up, then the EQ vector unless masked. */
  private eqEvent(dma: PciDmaPort, cqn: number): void {
    const base = u64(this.eqc[0] ?? 0, this.eqc[1] ?? 0);
    if (base !== 0n) {
      const dw2 = this.eqc[2] ?? 0;
      const depth = ((this.eqc[3] ?? 0) & 0xffff) + 1;
      let tail = dw2 & 0xffff;
      let phase = (dw2 >>> 16) & 1;
      try {
        dma.write(base + BigInt(tail * R.QM_EQE_SIZE), encodeEqe(cqn, phase));
      } catch (err) {
        if (!(err instanceof VfioError)) throw err;
        return;
      }
      tail = (tail + 1) % depth;
      if (tail === 0) phase ^= 1;
      this.eqc[2] = tail | (phase << 16);
    }
    if ((this.eqIntMask & 1) === 0) this.port.raise(R.QM_EQ_VECTOR);
  }
}
