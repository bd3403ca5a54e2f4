// A ConnectX-like virtual function (15b3:101e): work queues whose descriptors it fetches from guest memory by DMA,
// executes (copy, fill, checksum, to and from its own device memory) and completes by writing a completion entry
// back by DMA and sending the queue's MSI-X vector. Its run state is what SUSPEND_VHCA/RESUME_VHCA set: quiesced
// (the initiator suspended: nothing executes, so no DMA and no interrupts, while doorbells still latch) and frozen
// (the responder suspended too: register writes no longer change anything). Every DMA write goes past the page
// tracker when one exists. Its state leaves and enters through the PF's firmware commands (pf.ts).
import { PciBars } from '../../pci/bar.js';
import { PciCapabilityBuilder } from '../../pci/capabilities.js';
import { VfioError } from '../../uapi/errno.js';
import { PCI_CFG_SPACE_EXP_SIZE } from '../../uapi/pci-regs.js';
import { PciFunction } from '../pci/pci-function.js';
import type { PciHwResetKind } from '../pci/pci-function.js';
import * as R from './mlx5-regs.js';
import type { Mlx5PageTracker } from './page-tracker.js';
import { VHCA_DEVMEM_PAGE, VHCA_SECTION_DEVMEM, VHCA_SECTION_GLOBAL, VHCA_SECTION_QUEUE } from './vhca-state.js';
import type { VhcaSection, VhcaShape } from './vhca-state.js';
import { MLX5_WQ_STATE_SIZE, Mlx5WorkQueue } from './work-queue.js';
import { dwordRegBytes, dwordRegWriteValue } from '../pci/dword-regs.js';

const MSIX_BAR = 2;
const MSIX_PBA_OFFSET = 0x800;
const GLOBAL_STATE_SIZE = 24;

export type Mlx5VfRunState = 'running' | 'quiesced' | 'frozen';

export interface Mlx5VfOptions {
  /** Work queues (1..16, default 4); each has its own MSI-X vector. */
  readonly numQueues?: number;
  /** Bytes of device memory (a multiple of 4 KiB, default 16 KiB): part of the state a migration carries. */
  readonly devmemSize?: number;
}

export class Mlx5Vf extends PciFunction {
  readonly model = 'mlx5-vf';
  readonly shape: VhcaShape;
  readonly queues: Mlx5WorkQueue[];
  readonly devmem: Uint8Array;
  runState: Mlx5VfRunState = 'running';
  /** The page tracker the PF created for this VF, if any. */
  tracker: Mlx5PageTracker | null = null;
  /** The firmware's migration bookkeeping: tracking for incremental saves, sections of a chunked save still to go. */
  fwMig: { tracking: boolean; pending: VhcaSection[] } = { tracking: false, pending: [] };
  private status = 0;
  private intrMask = 0;
  private errAddr = 0n;
  private bytes = 0n;
  private globalDirty = true;
  private readonly devmemDirty = new Set<number>();

  constructor(opts: Mlx5VfOptions = {}) {
    super(PCI_CFG_SPACE_EXP_SIZE);
    const numQueues = opts.numQueues ?? 4;
    const devmemSize = opts.devmemSize ?? 16384;
    if (!Number.isInteger(numQueues) || numQueues < 1 || numQueues > 16) throw new VfioError('EINVAL', `${numQueues} queues`);
    if (!Number.isInteger(devmemSize) || devmemSize < 0 || devmemSize % VHCA_DEVMEM_PAGE !== 0 || devmemSize > 1 << 30) {
      throw new VfioError('EINVAL', `device memory of ${devmemSize} bytes`);
    }
    this.shape = { numQueues, devmemSize };
    this.queues = Array.from({ length: numQueues }, () => new Mlx5WorkQueue());
    this.devmem = new Uint8Array(devmemSize);
    this.setIds({ vendor: R.PCI_VENDOR_ID_MELLANOX, device: R.MLX5_VF_DEVICE_ID, classCode: R.MLX5_CLASS_CODE });
    this.bars = new PciBars(this.config, [
      { index: 0, kind: 'mem32', size: 4096 },
      { index: MSIX_BAR, kind: 'mem32', size: 4096 },
    ]);
    const caps = new PciCapabilityBuilder(this.config);
    const exp = caps.addExp({ flr: true });
    const msix = caps.addMsix({ tableSize: numQueues, tableBir: MSIX_BAR, tableOffset: 0, pbaBir: MSIX_BAR, pbaOffset: MSIX_PBA_OFFSET });
    this.wireFlr(exp);
    this.setupIrq({ msix });
    this.markAllDirty();
    this.powerOn();
  }

  /** A VF has no INTx pin; the level cause is kept for the STATUS register's sake only. */
  updateIrq(): void {
    this.irq.setLine(!this.irq.messageMode() && (this.status & this.intrMask) !== 0);
  }

  // ---- firmware side (the PF's command interface calls these) ---------------------------------------------------

  /** SUSPEND_VHCA: the initiator side stops executing; the responder side stops taking register writes. */
  fwSuspend(responder: boolean): void {
    this.runState = responder ? 'frozen' : this.runState === 'frozen' ? 'frozen' : 'quiesced';
  }

  /** RESUME_VHCA: the responder side takes writes again; the initiator side executes again (work posted meanwhile runs). */
  fwResume(initiator: boolean): void {
    if (!initiator) {
      if (this.runState === 'frozen') this.runState = 'quiesced';
      return;
    }
    this.runState = 'running';
    this.kickAll();
  }

  /** The sections of the state: all of them, or those changed since the last `fwClearDirty`. */
  fwSections(all: boolean): VhcaSection[] {
    const out: VhcaSection[] = [];
    if (all || this.globalDirty) {
      const data = new Uint8Array(GLOBAL_STATE_SIZE);
      const dv = new DataView(data.buffer);
      dv.setUint32(0, this.status, true);
      dv.setUint32(4, this.intrMask, true);
      dv.setBigUint64(8, this.errAddr, true);
      dv.setBigUint64(16, this.bytes, true);
      out.push({ id: VHCA_SECTION_GLOBAL, data });
    }
    this.queues.forEach((q, i) => {
      if (!all && !q.dirty) return;
      const data = new Uint8Array(MLX5_WQ_STATE_SIZE);
      q.save(new DataView(data.buffer), 0);
      out.push({ id: VHCA_SECTION_QUEUE + i, data });
    });
    for (let p = 0; p < this.devmem.length / VHCA_DEVMEM_PAGE; p++) {
      if (all || this.devmemDirty.has(p)) out.push({ id: VHCA_SECTION_DEVMEM + p, data: this.devmem.slice(p * VHCA_DEVMEM_PAGE, (p + 1) * VHCA_DEVMEM_PAGE) });
    }
    return out;
  }

  /** Forgets what changed: the next incremental save starts from here. */
  fwClearDirty(): void {
    this.globalDirty = false;
    for (const q of this.queues) q.dirty = false;
    this.devmemDirty.clear();
  }

  /** The size a section of this VF has (undefined: no such section). */
  fwSectionSize(id: number): number | undefined {
    if (id === VHCA_SECTION_GLOBAL) return GLOBAL_STATE_SIZE;
    if (id >= VHCA_SECTION_QUEUE && id < VHCA_SECTION_QUEUE + this.queues.length) return MLX5_WQ_STATE_SIZE;
    if (id >= VHCA_SECTION_DEVMEM && id < VHCA_SECTION_DEVMEM + this.devmem.length / VHCA_DEVMEM_PAGE) return VHCA_DEVMEM_PAGE;
    return undefined;
  }

  /** Applies decoded sections (sizes already checked); EINVAL before any change if a queue section is out of range. */
  fwApply(sections: readonly VhcaSection[]): void {
    for (const s of sections) {
      const dv = new DataView(s.data.buffer, s.data.byteOffset, s.data.byteLength);
      if (s.id >= VHCA_SECTION_QUEUE && s.id < VHCA_SECTION_DEVMEM && !Mlx5WorkQueue.valid(dv, 0, R.MLX5_WQ_MAX_LOG_SIZE)) {
        throw new VfioError('EINVAL', `queue section ${s.id - VHCA_SECTION_QUEUE} out of range`);
      }
    }
    for (const s of sections) {
      const dv = new DataView(s.data.buffer, s.data.byteOffset, s.data.byteLength);
      if (s.id === VHCA_SECTION_GLOBAL) {
        this.status = dv.getUint32(0, true);
        this.intrMask = dv.getUint32(4, true);
        this.errAddr = dv.getBigUint64(8, true);
        this.bytes = dv.getBigUint64(16, true);
        this.globalDirty = true;
      } else if (s.id < VHCA_SECTION_DEVMEM) {
        this.queues[s.id - VHCA_SECTION_QUEUE]?.load(dv, 0);
      } else {
        const p = s.id - VHCA_SECTION_DEVMEM;
        this.devmem.set(s.data, p * VHCA_DEVMEM_PAGE);
        this.devmemDirty.add(p);
      }
    }
    this.updateIrq();
  }

  // ---- the function ---------------------------------------------------------------------------------------------

  protected resetState(_kind: PciHwResetKind): void {
    this.status = 0;
    this.intrMask = 0;
    this.errAddr = 0n;
    this.bytes = 0n;
    for (const q of this.queues) q.reset();
    this.devmem.fill(0);
    this.runState = 'running';
    this.fwMig = { tracking: false, pending: [] };
    this.markAllDirty();
    this.updateIrq();
  }

  protected mmioRead(bar: number, offset: number, out: Uint8Array): void {
    if (bar === MSIX_BAR) {
      this.irq.msi.readMsixBar(offset, out, MSIX_PBA_OFFSET);
      return;
    }
    dwordRegBytes(this.readReg(offset & ~3), offset, out);
  }

  protected mmioWrite(bar: number, offset: number, data: Uint8Array): void {
    if (bar === MSIX_BAR) {
      this.irq.msi.writeMsixBar(offset, data);
      return;
    }
    // Frozen: the responder side is suspended, nothing a write would change changes.
    if (this.runState === 'frozen') return;
    const v = dwordRegWriteValue(offset, data);
    if (v >= 0) this.writeReg(offset, v);
  }

  private readReg(reg: number): number {
    if (reg >= R.MLX5_WQ_BASE) {
      const q = this.queues[Math.floor((reg - R.MLX5_WQ_BASE) / R.MLX5_WQ_STRIDE)];
      if (q === undefined) return 0;
      switch ((reg - R.MLX5_WQ_BASE) % R.MLX5_WQ_STRIDE) {
        case R.MLX5_WQ_RING_LO: return Number(q.ringBase & 0xffffffffn);
        case R.MLX5_WQ_RING_HI: return Number(q.ringBase >> 32n);
        case R.MLX5_WQ_LOG_SIZE: return q.logSize;
        case R.MLX5_WQ_DOORBELL: return q.pi;
        case R.MLX5_WQ_CI: return q.ci;
        case R.MLX5_WQ_CQ_LO: return Number(q.cqBase & 0xffffffffn);
        case R.MLX5_WQ_CQ_HI: return Number(q.cqBase >> 32n);
        case R.MLX5_WQ_CQ_PI: return q.cqPi;
        case R.MLX5_WQ_CREDITS: return q.credits;
        default: return 0;
      }
    }
    switch (reg) {
      case R.MLX5_REG_ID: return R.MLX5_ID_VALUE;
      case R.MLX5_REG_STATUS: return this.status;
      case R.MLX5_REG_INTR_MASK: return this.intrMask;
      case R.MLX5_REG_NUM_QUEUES: return this.queues.length;
      case R.MLX5_REG_DEVMEM_SIZE: return this.devmem.length;
      case R.MLX5_REG_ERR_ADDR_LO: return Number(this.errAddr & 0xffffffffn);
      case R.MLX5_REG_ERR_ADDR_HI: return Number(this.errAddr >> 32n);
      case R.MLX5_REG_BYTES_LO: return Number(this.bytes & 0xffffffffn);
      case R.MLX5_REG_BYTES_HI: return Number(this.bytes >> 32n);
      default: return 0;
    }
  }

  private writeReg(reg: number, v: number): void {
    if (reg >= R.MLX5_WQ_BASE) {
      const qi = Math.floor((reg - R.MLX5_WQ_BASE) / R.MLX5_WQ_STRIDE);
      const q = this.queues[qi];
      if (q === undefined) return;
      const lo = (x: bigint): bigint => (x & ~0xffffffffn) | BigInt(v);
      const hi = (x: bigint): bigint => (x & 0xffffffffn) | (BigInt(v) << 32n);
      switch ((reg - R.MLX5_WQ_BASE) % R.MLX5_WQ_STRIDE) {
        case R.MLX5_WQ_RING_LO: q.ringBase = lo(q.ringBase); break;
        case R.MLX5_WQ_RING_HI: q.ringBase = hi(q.ringBase); break;
        case R.MLX5_WQ_LOG_SIZE: q.logSize = Math.min(v, R.MLX5_WQ_MAX_LOG_SIZE); break;
        case R.MLX5_WQ_DOORBELL: q.pi = v; break;
        case R.MLX5_WQ_CQ_LO: q.cqBase = lo(q.cqBase); break;
        case R.MLX5_WQ_CQ_HI: q.cqBase = hi(q.cqBase); break;
        case R.MLX5_WQ_CREDITS: q.credits = v; break;
        default: return; // read-only or undefined
      }
      q.dirty = true;
      this.kick(qi);
      return;
    }
    switch (reg) {
      case R.MLX5_REG_STATUS: this.status = (this.status & ~v) >>> 0; break;
      case R.MLX5_REG_INTR_MASK: this.intrMask = v & ((1 << this.queues.length) - 1); break;
      default: return;
    }
    this.globalDirty = true;
    this.updateIrq();
  }

  private kickAll(): void {
    for (let i = 0; i < this.queues.length; i++) this.kick(i);
  }

  /** Runs queue `qi`'s posted descriptors while the device may (running, bus master, a DMA port) and credits last. */
  private kick(qi: number): void {
    const q = this.queues[qi];
    if (q === undefined) return;
    while (this.runState === 'running' && this.busMaster && this.dma !== null && q.hasWork()) this.execute(qi, q);
  }

  private execute(qi: number, q: Mlx5WorkQueue): void {
    const slot = q.ci & (q.entries - 1);
    const wqe = new Uint8Array(R.MLX5_WQE_SIZE);
    const at = q.ringBase + BigInt(slot * R.MLX5_WQE_SIZE);
    try {
      this.dmaRead(at, wqe);
    } catch (err) {
      if (!(err instanceof VfioError)) throw err;
      // A ring the device cannot read stops the queue: nothing to complete, nowhere to say so but STATUS.
      q.error = true;
      q.dirty = true;
      this.fault(at);
      return;
    }
    const d = new DataView(wqe.buffer);
    const tag = d.getUint32(R.MLX5_WQE_TAG, true);
    let status = R.MLX5_CQE_OK;
    let result = 0;
    try {
      result = this.run(d);
    } catch (err) {
      if (!(err instanceof VfioError)) throw err;
      status = err.code === 'EINVAL' ? R.MLX5_CQE_BAD_OP : R.MLX5_CQE_DMA_FAULT;
    }
    q.consumed();
    const cqe = new Uint8Array(R.MLX5_CQE_SIZE);
    const c = new DataView(cqe.buffer);
    c.setUint32(R.MLX5_CQE_TAG, tag, true);
    c.setUint32(R.MLX5_CQE_STATUS, status, true);
    c.setUint32(R.MLX5_CQE_RESULT, result, true);
    c.setUint32(R.MLX5_CQE_SEQ, q.cqPi, true);
    const cqAt = q.cqBase + BigInt((q.cqPi & (q.entries - 1)) * R.MLX5_CQE_SIZE);
    try {
      this.dmaWrite(cqAt, cqe);
    } catch (err) {
      if (!(err instanceof VfioError)) throw err;
      this.fault(cqAt);
      return;
    }
    q.cqPi = (q.cqPi + 1) >>> 0;
    this.status = (this.status | (1 << qi)) >>> 0;
    this.globalDirty = true;
    if (this.irq.messageMode() && (this.intrMask & (1 << qi)) !== 0) this.irq.raise(qi);
    this.updateIrq();
  }

  /** One descriptor's operation; returns the completion's result. EINVAL: a bad descriptor; EFAULT: a DMA fault. */
  private run(d: DataView): number {
    const op = d.getUint32(R.MLX5_WQE_OPCODE, true);
    const len = d.getUint32(R.MLX5_WQE_LEN, true);
    const src = d.getBigUint64(R.MLX5_WQE_SRC, true);
    const dst = d.getBigUint64(R.MLX5_WQE_DST, true);
    const imm = d.getUint32(R.MLX5_WQE_IMM, true);
    if (len > R.MLX5_WQE_MAX_LEN) throw new VfioError('EINVAL', 'descriptor too long');
    const buf = new Uint8Array(len);
    const inDevmem = imm + len <= this.devmem.length;
    switch (op) {
      case R.MLX5_OP_COPY: this.dmaRead(src, buf); this.dmaWrite(dst, buf); break;
      case R.MLX5_OP_FILL:
        for (let i = 0; i < len; i++) buf[i] = (imm >>> (8 * (i & 3))) & 0xff;
        this.dmaWrite(dst, buf);
        break;
      case R.MLX5_OP_CSUM: {
        this.dmaRead(src, buf);
        let sum = 0;
        for (const b of buf) sum = (sum + b) >>> 0;
        this.bytes += BigInt(len);
        return sum;
      }
      case R.MLX5_OP_TO_DEVMEM:
        if (!inDevmem) throw new VfioError('EINVAL', 'device memory range');
        this.dmaRead(src, buf);
        this.devmem.set(buf, imm);
        for (let p = Math.floor(imm / VHCA_DEVMEM_PAGE); p * VHCA_DEVMEM_PAGE < imm + len; p++) this.devmemDirty.add(p);
        break;
      case R.MLX5_OP_FROM_DEVMEM:
        if (!inDevmem) throw new VfioError('EINVAL', 'device memory range');
        this.dmaWrite(dst, this.devmem.subarray(imm, imm + len));
        break;
      default: throw new VfioError('EINVAL', `opcode ${op}`);
    }
    this.bytes += BigInt(len);
    return len;
  }

  private dmaRead(addr: bigint, buf: Uint8Array): void {
    if (this.dma === null) throw new VfioError('EFAULT', 'no DMA port');
    this.dma.read(addr, buf);
  }

  /** A DMA write, past the page tracker. */
  private dmaWrite(addr: bigint, buf: Uint8Array): void {
    if (this.dma === null) throw new VfioError('EFAULT', 'no DMA port');
    this.dma.write(addr, buf);
    this.tracker?.recordWrite(addr, buf.length);
  }

  private fault(addr: bigint): void {
    this.errAddr = addr;
    this.status = (this.status | R.MLX5_STATUS_ERROR) >>> 0;
    this.globalDirty = true;
    this.updateIrq();
  }

  private markAllDirty(): void {
    this.globalDirty = true;
    for (let p = 0; p < this.devmem.length / VHCA_DEVMEM_PAGE; p++) this.devmemDirty.add(p);
  }
}
