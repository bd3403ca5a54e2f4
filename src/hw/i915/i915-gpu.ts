// The simulated Intel integrated GPU (the IGD at 00:02.0): a PCI VGA function 8086:5912 with BAR0 GTTMMADR
// (registers, fences, the global GTT) and BAR2 GMADR (the aperture), graphics memory split into the
// CPU-mappable aperture (low GM) and the hidden part (high GM), fence registers and a display engine. What
// GVT-g partitions among vGPUs (i915's intel_gtt / i915_gem_fence_reg.c / display, gvt's aperture_gm.c).
import { PciBars } from '../../pci/bar.js';
import { PciCapabilityBuilder } from '../../pci/capabilities.js';
import { close, memfdCreate, pread, pwrite } from '../../native/index.js';
import { VfioError, check } from '../../uapi/errno.js';
import { PCI_CFG_SPACE_SIZE, PCI_CLASS_DISPLAY_VGA, PCI_INTERRUPT_INTA } from '../../uapi/pci-regs.js';
import { PciFunction } from '../pci/pci-function.js';
import { I915Display } from './display-engine.js';
import type { I915DisplayRecord } from './display-engine.js';
import {
  FENCE_REG_GEN6_LO,
  I915_GMADR_BAR,
  I915_GTTMMADR_SIZE,
  I915_GTT_OFFSET,
  I915_KBL_GT2_DEVICE_ID,
  I915_MAX_FENCES,
  I915_MMIO_SIZE,
  PCI_VENDOR_ID_INTEL,
} from './i915-regs.js';

const MIB = 1 << 20;

export interface I915GpuOptions {
  /** The aperture (mappable GM, BAR2) in MiB: a power of two. Default 1024. */
  readonly apertureMb?: number;
  /** The hidden (high) GM in MiB. Default 3072 (4 GiB of GM in all). */
  readonly hiddenMb?: number;
  /** Fence registers. Default 32 (gen9). */
  readonly fences?: number;
}

/** The saved state of the GPU's own registers (graphics memory is device memory: it stays where it is). */
export interface I915GpuStateRecord {
  readonly kind: 'i915-gpu';
  readonly version: 1;
  readonly fences: readonly number[];
  readonly display: I915DisplayRecord;
}

export class I915Gpu extends PciFunction {
  readonly model = 'i915';
  readonly apertureSize: number;
  readonly hiddenSize: number;
  readonly numFences: number;
  /** The host's display engine. */
  readonly display: I915Display;
  /** Fence registers as lo/hi dword pairs. */
  private readonly fenceRegs: Uint32Array;
  /** The global GTT as written, dword index -> value (sparse: 4 GiB of GM has a million entries). */
  private readonly gtt = new Map<number, number>();
  /** Graphics memory, aperture first then hidden: a sparse memfd the GPU owns until destroy(). */
  private memFd: number;

  constructor(opts: I915GpuOptions = {}) {
    super(PCI_CFG_SPACE_SIZE);
    const apertureMb = opts.apertureMb ?? 1024;
    const hiddenMb = opts.hiddenMb ?? 3072;
    const fences = opts.fences ?? I915_MAX_FENCES;
    check(Number.isInteger(apertureMb) && apertureMb >= 64 && apertureMb <= 4096 && (apertureMb & (apertureMb - 1)) === 0, 'EINVAL', `aperture ${apertureMb} MiB`);
    check(Number.isInteger(hiddenMb) && hiddenMb >= 0 && apertureMb + hiddenMb <= 8192, 'EINVAL', `hidden GM ${hiddenMb} MiB`);
    check(Number.isInteger(fences) && fences >= 1 && fences <= I915_MAX_FENCES, 'EINVAL', `${fences} fences`);
    this.apertureSize = apertureMb * MIB;
    this.hiddenSize = hiddenMb * MIB;
    this.numFences = fences;
    this.fenceRegs = new Uint32Array(2 * fences);
    this.setIds({ vendor: PCI_VENDOR_ID_INTEL, device: I915_KBL_GT2_DEVICE_ID, subVendor: PCI_VENDOR_ID_INTEL, subDevice: 0x2212, revision: 0x04, classCode: PCI_CLASS_DISPLAY_VGA });
    this.config.setInterruptPin(PCI_INTERRUPT_INTA);
    this.bars = new PciBars(this.config, [
      { index: 0, kind: 'mem64', size: I915_GTTMMADR_SIZE },
      { index: I915_GMADR_BAR, kind: 'mem64', size: this.apertureSize, prefetchable: true },
    ]);
    this.setupIrq({ msi: new PciCapabilityBuilder(this.config, 0xac).addMsi({ vectors: 1 }) });
    this.display = new I915Display((level) => this.irq.setLine(level));
    this.memFd = memfdCreate('i915-gm', this.apertureSize + this.hiddenSize);
    this.powerOn();
  }

  /** All graphics memory in bytes. */
  get gmSize(): number {
    return this.apertureSize + this.hiddenSize;
  }

  /** The memfd holding graphics memory (aperture at 0, hidden after it); the GPU keeps it until destroy(). */
  get gmFd(): number {
    if (this.memFd < 0) throw new VfioError('ENODEV', 'i915: graphics memory used after destroy');
    return this.memFd;
  }

  /** Reads graphics memory at `addr`; EINVAL outside it. */
  gmRead(addr: number, buf: Uint8Array): void {
    this.checkGm(addr, buf.length);
    const n = pread(this.gmFd, buf, addr);
    if (n < 0) throw new VfioError('EIO', `i915: GM read failed (${-n})`);
    // A sparse memfd reads back short only past its end, which checkGm excluded.
    buf.fill(0, n);
  }

  /** Writes graphics memory at `addr`; EINVAL outside it. */
  gmWrite(addr: number, data: Uint8Array): void {
    this.checkGm(addr, data.length);
    const n = pwrite(this.gmFd, data, addr);
    if (n < 0) throw new VfioError('EIO', `i915: GM write failed (${-n})`);
  }

  private checkGm(addr: number, length: number): void {
    check(Number.isSafeInteger(addr) && addr >= 0 && addr + length <= this.gmSize, 'EINVAL', `GM [0x${addr.toString(16)}, +${length}) outside ${this.gmSize} bytes`);
  }

  /** Fence register `i` (64 bits as two dwords). */
  fence(i: number): { lo: number; hi: number } {
    return { lo: this.fenceRegs[2 * i] ?? 0, hi: this.fenceRegs[2 * i + 1] ?? 0 };
  }

  /** The GPU is unplugged for good: its graphics memory goes. */
  destroy(): void {
    if (this.memFd >= 0) close(this.memFd);
    this.memFd = -1;
  }

  /** The one interrupt line: the display engine's. */
  updateIrq(): void {
    this.irq.setLine(this.display.level);
  }

  save(): I915GpuStateRecord {
    return { kind: 'i915-gpu', version: 1, fences: [...this.fenceRegs], display: this.display.save() };
  }

  /** EINVAL (state unchanged) for a record of another kind, version or fence count. */
  load(record: unknown): void {
    if (typeof record !== 'object' || record === null) throw new VfioError('EINVAL', 'i915-gpu record is not an object');
    const r = new Map<string, unknown>(Object.entries(record));
    if (r.get('kind') !== 'i915-gpu' || r.get('version') !== 1) throw new VfioError('EINVAL', 'not an i915-gpu v1 record');
    const fences = r.get('fences');
    if (!Array.isArray(fences) || fences.length !== this.fenceRegs.length) throw new VfioError('EINVAL', 'i915-gpu record: fence count');
    const values = (fences as unknown[]).map((v) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff ? v : -1));
    if (values.includes(-1)) throw new VfioError('EINVAL', 'i915-gpu record: fence value');
    this.display.load(r.get('display'));
    this.fenceRegs.set(values);
  }

  protected resetState(): void {
    this.fenceRegs.fill(0);
    this.gtt.clear();
    this.display.reset();
  }

  private regRead(offset: number): number {
    if (this.display.handles(offset)) return this.display.read(offset);
    const fence = offset - FENCE_REG_GEN6_LO;
    if (fence >= 0 && fence < this.fenceRegs.length * 4) return this.fenceRegs[fence >>> 2] ?? 0;
    if (offset >= I915_GTT_OFFSET) return this.gtt.get((offset - I915_GTT_OFFSET) >>> 2) ?? 0;
    return 0;
  }

  private regWrite(offset: number, value: number): void {
    if (this.display.handles(offset)) return this.display.write(offset, value);
    const fence = offset - FENCE_REG_GEN6_LO;
    if (fence >= 0 && fence < this.fenceRegs.length * 4) {
      this.fenceRegs[fence >>> 2] = value;
      return;
    }
    if (offset >= I915_GTT_OFFSET) this.gtt.set((offset - I915_GTT_OFFSET) >>> 2, value >>> 0);
    // Other registers of the MMIO half are not modelled: writes are dropped.
  }

  protected mmioRead(bar: number, offset: number, out: Uint8Array): void {
    if (bar === I915_GMADR_BAR) return this.gmRead(offset, out);
    dwordAccess(offset, out, (at) => this.regRead(at), null);
  }

  protected mmioWrite(bar: number, offset: number, data: Uint8Array): void {
    if (bar === I915_GMADR_BAR) return this.gmWrite(offset, data);
    if (offset < I915_MMIO_SIZE || offset >= I915_GTT_OFFSET) dwordAccess(offset, data, (at) => this.regRead(at), (at, v) => this.regWrite(at, v));
  }
}

/**
 * Runs a BAR0 access of any width as dword register accesses: reads fill `buf` from `read`; with `write`, the
 * covered bytes are merged into each register (read-modify-write) and written back.
 */
export function dwordAccess(offset: number, buf: Uint8Array, read: (at: number) => number, write: ((at: number, v: number) => void) | null): void {
  let done = 0;
  while (done < buf.length) {
    const at = offset + done;
    const reg = at & ~3;
    const shift = at - reg;
    const n = Math.min(4 - shift, buf.length - done);
    let v = read(reg) >>> 0;
    if (write === null) {
      for (let i = 0; i < n; i++) buf[done + i] = (v >>> (8 * (shift + i))) & 0xff;
    } else {
      for (let i = 0; i < n; i++) {
        const s = 8 * (shift + i);
        v = ((v & ~(0xff << s)) | ((buf[done + i] ?? 0) << s)) >>> 0;
      }
      write(reg, v);
    }
    done += n;
  }
}
