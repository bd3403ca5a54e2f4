// A PCIe function with a small DMA engine (in the spirit of QEMU's hw/misc/edu.c): copy and fill commands
// through the DMA port, MSI-X vectors for "done" and "error" (table and PBA in BAR2), FLR, PM. A DMA to
// memory the port does not map sets ERROR and the faulting address instead of completing.
import { PciBars } from '../../pci/bar.js';
import { PciCapabilityBuilder } from '../../pci/capabilities.js';
import { PciExtCapabilityBuilder } from '../../pci/ext-capabilities.js';
import { VfioError } from '../../uapi/errno.js';
import { PCI_CFG_SPACE_EXP_SIZE, PCI_INTERRUPT_INTA } from '../../uapi/pci-regs.js';
import { PciFunction } from './pci-function.js';
import type { PciHwResetKind } from './pci-function.js';
import { dwordRegBytes, dwordRegWriteValue } from './dword-regs.js';

export const DMA_ENGINE_VENDOR = 0x1234;
export const DMA_ENGINE_DEVICE = 0x10d0;
export const DMA_ENGINE_CLASS = 0x0880;

// BAR0 registers (32-bit).
export const DMA_REG_ID = 0x00;
export const DMA_REG_STATUS = 0x04;
export const DMA_REG_INTR_MASK = 0x08;
export const DMA_REG_SRC_LO = 0x10;
export const DMA_REG_SRC_HI = 0x14;
export const DMA_REG_DST_LO = 0x18;
export const DMA_REG_DST_HI = 0x1c;
export const DMA_REG_LEN = 0x20;
export const DMA_REG_FILL = 0x24;
/** Writing a command starts it; the engine runs it to the end before the write returns. */
export const DMA_REG_CMD = 0x28;
export const DMA_REG_ERR_ADDR_LO = 0x2c;
export const DMA_REG_ERR_ADDR_HI = 0x30;
export const DMA_REG_COUNT = 0x34;

export const DMA_ID_VALUE = 0x31414d44; // "DMA1"
export const DMA_CMD_COPY = 1;
export const DMA_CMD_FILL = 2;
/** STATUS bits; DONE and ERROR are write-1-to-clear. */
export const DMA_STATUS_DONE = 0x2;
export const DMA_STATUS_ERROR = 0x4;
/** MSI-X vectors. */
export const DMA_VECTOR_DONE = 0;
export const DMA_VECTOR_ERROR = 1;
/** The longest transfer one command may do. */
export const DMA_MAX_LEN = 1 << 20;

const MSIX_BAR = 2;
const MSIX_PBA_OFFSET = 0x800;

export interface DmaEngineOptions {
  readonly vendor?: number;
  readonly device?: number;
  /** Advertise FLR in DEVCAP (default true). */
  readonly flr?: boolean;
  /** PM capability's No_Soft_Reset (default true: D3hot -> D0 keeps state, so no PM reset). */
  readonly pmNoSoftReset?: boolean;
  /** An Advanced Features capability with FLR. */
  readonly afFlr?: boolean;
  /** A virtual function: no INTx pin (VFs cannot use INTx) and no PM capability. */
  readonly vf?: boolean;
  /** Adds extended capabilities before the power-on image is taken (an SR-IOV PF adds its capability). */
  readonly extCaps?: (b: PciExtCapabilityBuilder) => void;
}

export interface DmaEngineStateRecord {
  readonly kind: 'dma-engine';
  readonly version: 1;
  readonly status: number;
  readonly intrMask: number;
  readonly src: string;
  readonly dst: string;
  readonly len: number;
  readonly fill: number;
  readonly errAddr: string;
  readonly count: number;
}

export class PcieDmaEngine extends PciFunction {
  readonly model: string;
  private status = 0;
  private intrMask = 0;
  private src = 0n;
  private dst = 0n;
  private len = 0;
  private fill = 0;
  private errAddr = 0n;
  private count = 0;

  constructor(opts: DmaEngineOptions = {}) {
    super(PCI_CFG_SPACE_EXP_SIZE);
    this.model = opts.vf === true ? 'dma-engine-vf' : 'dma-engine';
    this.setIds({ vendor: opts.vendor ?? DMA_ENGINE_VENDOR, device: opts.device ?? DMA_ENGINE_DEVICE, classCode: DMA_ENGINE_CLASS, revision: 1 });
    if (opts.vf !== true) this.config.setInterruptPin(PCI_INTERRUPT_INTA);
    this.bars = new PciBars(this.config, [
      { index: 0, kind: 'mem32', size: 4096 },
      { index: MSIX_BAR, kind: 'mem32', size: 4096 },
    ]);
    const caps = new PciCapabilityBuilder(this.config);
    if (opts.vf !== true) this.wirePm(caps.addPm({ noSoftReset: opts.pmNoSoftReset ?? true }));
    const exp = caps.addExp({ flr: opts.flr ?? true });
    const msix = caps.addMsix({ tableSize: 2, tableBir: MSIX_BAR, tableOffset: 0, pbaBir: MSIX_BAR, pbaOffset: MSIX_PBA_OFFSET });
    if (opts.afFlr === true) this.wireAfFlr(caps.addAf());
    this.wireFlr(exp);
    this.setupIrq({ msix });
    opts.extCaps?.(new PciExtCapabilityBuilder(this.config));
    this.powerOn();
  }

  /** The interrupt causes: INTx follows enabled STATUS bits; under MSI-X each event sent its vector. */
  updateIrq(): void {
    const level = (this.status & this.intrMask & (DMA_STATUS_DONE | DMA_STATUS_ERROR)) !== 0;
    this.irq.setLine(!this.irq.messageMode() && level);
  }

  save(): DmaEngineStateRecord {
    return {
      kind: 'dma-engine',
      version: 1,
      status: this.status,
      intrMask: this.intrMask,
      src: this.src.toString(),
      dst: this.dst.toString(),
      len: this.len,
      fill: this.fill,
      errAddr: this.errAddr.toString(),
      count: this.count,
    };
  }

  /** EINVAL (state unchanged) for a malformed record. */
  load(record: unknown): void {
    if (typeof record !== 'object' || record === null) throw new VfioError('EINVAL', 'dma-engine record is not an object');
    const r = new Map<string, unknown>(Object.entries(record));
    if (r.get('kind') !== 'dma-engine' || r.get('version') !== 1) throw new VfioError('EINVAL', 'not a dma-engine v1 record');
    const u32 = (k: string): number => {
      const v = r.get(k);
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new VfioError('EINVAL', `dma-engine record ${k}`);
      return v;
    };
    const u64 = (k: string): bigint => {
      const v = r.get(k);
      if (typeof v !== 'string' || !/^[0-9]+$/.test(v) || BigInt(v) >= 1n << 64n) throw new VfioError('EINVAL', `dma-engine record ${k}`);
      return BigInt(v);
    };
    const next = { status: u32('status'), intrMask: u32('intrMask'), src: u64('src'), dst: u64('dst'), len: u32('len'), fill: u32('fill'), errAddr: u64('errAddr'), count: u32('count') };
    Object.assign(this, next);
    this.updateIrq();
  }

  protected resetState(_kind: PciHwResetKind): void {
    this.status = 0;
    this.intrMask = 0;
    this.src = 0n;
    this.dst = 0n;
    this.len = 0;
    this.fill = 0;
    this.errAddr = 0n;
    this.count = 0;
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
    // Registers take aligned dword writes only; anything else is ignored, as the hardware does.
    const v = dwordRegWriteValue(offset, data);
    if (v >= 0) this.writeReg(offset, v);
  }

  private readReg(reg: number): number {
    switch (reg) {
      case DMA_REG_ID: return DMA_ID_VALUE;
      case DMA_REG_STATUS: return this.status;
      case DMA_REG_INTR_MASK: return this.intrMask;
      case DMA_REG_SRC_LO: return Number(this.src & 0xffffffffn);
      case DMA_REG_SRC_HI: return Number(this.src >> 32n);
      case DMA_REG_DST_LO: return Number(this.dst & 0xffffffffn);
      case DMA_REG_DST_HI: return Number(this.dst >> 32n);
      case DMA_REG_LEN: return this.len;
      case DMA_REG_FILL: return this.fill;
      case DMA_REG_ERR_ADDR_LO: return Number(this.errAddr & 0xffffffffn);
      case DMA_REG_ERR_ADDR_HI: return Number(this.errAddr >> 32n);
      case DMA_REG_COUNT: return this.count;
      default: return 0;
    }
  }

  private writeReg(reg: number, v: number): void {
    const lo = (x: bigint): bigint => (x & ~0xffffffffn) | BigInt(v);
    const hi = (x: bigint): bigint => (x & 0xffffffffn) | (BigInt(v) << 32n);
    switch (reg) {
      case DMA_REG_STATUS: this.status &= ~(v & (DMA_STATUS_DONE | DMA_STATUS_ERROR)); break;
      case DMA_REG_INTR_MASK: this.intrMask = v & (DMA_STATUS_DONE | DMA_STATUS_ERROR); break;
      case DMA_REG_SRC_LO: this.src = lo(this.src); break;
      case DMA_REG_SRC_HI: this.src = hi(this.src); break;
      case DMA_REG_DST_LO: this.dst = lo(this.dst); break;
      case DMA_REG_DST_HI: this.dst = hi(this.dst); break;
      case DMA_REG_LEN: this.len = v; break;
      case DMA_REG_FILL: this.fill = v; break;
      case DMA_REG_CMD: this.run(v); break;
      default: break; // Undefined registers ignore writes.
    }
    this.updateIrq();
  }

  private run(cmd: number): void {
    if (cmd !== DMA_CMD_COPY && cmd !== DMA_CMD_FILL) return;
    const buf = new Uint8Array(Math.min(this.len, DMA_MAX_LEN));
    let at = cmd === DMA_CMD_COPY ? this.src : this.dst;
    try {
      if (this.len > DMA_MAX_LEN || this.dma === null || !this.busMaster) throw new VfioError('EFAULT', 'no DMA');
      if (cmd === DMA_CMD_COPY) this.dma.read(this.src, buf);
      else for (let i = 0; i < buf.length; i++) buf[i] = (this.fill >>> (8 * (i & 3))) & 0xff;
      at = this.dst;
      this.dma.write(this.dst, buf);
    } catch (err) {
      if (!(err instanceof VfioError)) throw err;
      this.errAddr = at;
      this.event(DMA_STATUS_ERROR, DMA_VECTOR_ERROR);
      return;
    }
    this.count = (this.count + 1) >>> 0;
    this.event(DMA_STATUS_DONE, DMA_VECTOR_DONE);
  }

  private event(bit: number, vector: number): void {
    this.status |= bit;
    if (this.irq.messageMode() && (this.intrMask & bit) !== 0) this.irq.raise(vector);
    this.updateIrq();
  }
}
