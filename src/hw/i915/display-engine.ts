// The display engine of the simulated i915: three pipes, each with its primary (universal plane 1) plane whose
// registers a driver programs (control, stride, size, position, surface), and the flip-done interrupt a surface
// write raises. After i915's skl_universal_plane.c register use and gvt's display.c / fb_decoder.c decoding.
import { VfioError } from '../../uapi/errno.js';
import {
  DRM_FORMAT_RGB565,
  DRM_FORMAT_XRGB8888,
  GEN8_DE_PIPE_IER,
  GEN8_DE_PIPE_IIR,
  GEN8_DE_PIPE_IMR,
  GEN8_DE_PIPE_ISR,
  GEN8_MASTER_IRQ,
  GEN8_MASTER_IRQ_CONTROL,
  GEN8_DE_PIPE_A_IRQ,
  GEN9_PIPE_PLANE1_FLIP_DONE,
  I915_NUM_PIPES,
  PIPECONF,
  PIPECONF_ENABLE,
  PIPESRC,
  PLANE_CTL,
  PLANE_CTL_ENABLE,
  PLANE_CTL_FORMAT_MASK,
  PLANE_CTL_FORMAT_RGB_565,
  PLANE_CTL_FORMAT_XRGB_8888,
  PLANE_CTL_TILED_MASK,
  PLANE_OFFSET,
  PLANE_POS,
  PLANE_SIZE,
  PLANE_STRIDE,
  PLANE_SURF,
  PLANE_SURF_ADDR_MASK,
} from './i915-regs.js';

/** What a primary plane shows, decoded from its registers (struct intel_vgpu_primary_plane_format). */
export interface I915PlaneInfo {
  readonly pipe: number;
  /** Graphics-memory address of the first pixel (PLANE_SURF plus PLANE_OFFSET's x/y). */
  readonly base: number;
  readonly width: number;
  readonly height: number;
  /** Bytes per line. */
  readonly stride: number;
  readonly drmFormat: number;
  /** Bytes per pixel. */
  readonly bpp: number;
  readonly xPos: number;
  readonly yPos: number;
}

/** Why a plane shows nothing: disabled, or programmed in a way this model does not scan out. */
export type I915PlaneDecode = { readonly ok: true; readonly plane: I915PlaneInfo } | { readonly ok: false; readonly errno: 'ENODEV' | 'EINVAL'; readonly reason: string };

/** The saved display state: every register this engine holds, by offset. */
export interface I915DisplayRecord {
  readonly kind: 'i915-display';
  readonly version: 1;
  readonly regs: readonly (readonly [number, number])[];
}

/** The registers the engine answers (the rest of BAR0 belongs to its owner). */
function displayRegs(): Set<number> {
  const s = new Set<number>([GEN8_MASTER_IRQ]);
  for (let p = 0; p < I915_NUM_PIPES; p++) {
    for (const r of [PIPECONF(p), PIPESRC(p), PLANE_CTL(p), PLANE_STRIDE(p), PLANE_POS(p), PLANE_SIZE(p), PLANE_SURF(p), PLANE_OFFSET(p)]) s.add(r);
    for (const r of [GEN8_DE_PIPE_ISR(p), GEN8_DE_PIPE_IMR(p), GEN8_DE_PIPE_IIR(p), GEN8_DE_PIPE_IER(p)]) s.add(r);
  }
  return s;
}
const DISPLAY_REGS = displayRegs();

export class I915Display {
  private readonly regs = new Map<number, number>();
  /** The interrupt line as updateIrq last computed it. */
  level = false;

  /** @param onIrq called with the engine's interrupt level whenever updateIrq recomputes it. */
  constructor(private readonly onIrq: (level: boolean) => void = () => {}) {
    this.reset();
  }

  /** Whether `offset` (a dword register in BAR0) is one of the engine's. */
  handles(offset: number): boolean {
    return DISPLAY_REGS.has(offset);
  }

  /** Power-on: everything off, interrupts masked (IMR all ones). */
  reset(): void {
    this.regs.clear();
    for (let p = 0; p < I915_NUM_PIPES; p++) this.regs.set(GEN8_DE_PIPE_IMR(p), 0xffffffff);
    this.updateIrq();
  }

  read(offset: number): number {
    return this.regs.get(offset) ?? 0;
  }

  /** A dword write. IIR is write-1-to-clear; a PLANE_SURF write latches the flip and raises FLIP_DONE. */
  write(offset: number, value: number): void {
    const v = value >>> 0;
    for (let p = 0; p < I915_NUM_PIPES; p++) {
      if (offset === GEN8_DE_PIPE_IIR(p)) {
        this.regs.set(offset, (this.read(offset) & ~v) >>> 0);
        this.updateIrq();
        return;
      }
      if (offset === GEN8_DE_PIPE_ISR(p)) return;
      if (offset === PLANE_SURF(p)) {
        this.regs.set(offset, v);
        this.regs.set(GEN8_DE_PIPE_IIR(p), (this.read(GEN8_DE_PIPE_IIR(p)) | GEN9_PIPE_PLANE1_FLIP_DONE) >>> 0);
        this.updateIrq();
        return;
      }
    }
    this.regs.set(offset, v);
    if (offset === GEN8_MASTER_IRQ || this.isIrqReg(offset)) this.updateIrq();
  }

  private isIrqReg(offset: number): boolean {
    for (let p = 0; p < I915_NUM_PIPES; p++) if (offset === GEN8_DE_PIPE_IMR(p) || offset === GEN8_DE_PIPE_IER(p)) return true;
    return false;
  }

  /** The pipes whose IIR has an enabled, unmasked bit. */
  private pendingPipes(): number {
    let pipes = 0;
    for (let p = 0; p < I915_NUM_PIPES; p++) {
      const live = this.read(GEN8_DE_PIPE_IIR(p)) & this.read(GEN8_DE_PIPE_IER(p)) & ~this.read(GEN8_DE_PIPE_IMR(p));
      if (live !== 0) pipes |= GEN8_DE_PIPE_A_IRQ << p;
    }
    return pipes;
  }

  /** The one interrupt line: a pending pipe interrupt while the master control is on. */
  updateIrq(): void {
    const pipes = this.pendingPipes();
    const master = this.read(GEN8_MASTER_IRQ);
    // The master register shows which pipes are pending in its DE bits, as the hardware does.
    this.regs.set(GEN8_MASTER_IRQ, ((master & GEN8_MASTER_IRQ_CONTROL) | pipes) >>> 0);
    this.level = (master & GEN8_MASTER_IRQ_CONTROL) !== 0 && pipes !== 0;
    this.onIrq(this.level);
  }

  /** Decodes pipe `pipe`'s primary plane (intel_vgpu_decode_primary_plane): ENODEV while off, EINVAL for what is not scanned out. */
  decodePrimary(pipe: number): I915PlaneDecode {
    if (!Number.isInteger(pipe) || pipe < 0 || pipe >= I915_NUM_PIPES) return { ok: false, errno: 'EINVAL', reason: `no pipe ${pipe}` };
    const ctl = this.read(PLANE_CTL(pipe));
    if ((this.read(PIPECONF(pipe)) & PIPECONF_ENABLE) === 0) return { ok: false, errno: 'ENODEV', reason: `pipe ${pipe} is off` };
    if ((ctl & PLANE_CTL_ENABLE) === 0) return { ok: false, errno: 'ENODEV', reason: `pipe ${pipe} plane 1 is off` };
    if ((ctl & PLANE_CTL_TILED_MASK) !== 0) return { ok: false, errno: 'EINVAL', reason: 'tiled surfaces are not scanned out here' };
    let drmFormat: number;
    let bpp: number;
    switch ((ctl & PLANE_CTL_FORMAT_MASK) >>> 0) {
      case PLANE_CTL_FORMAT_XRGB_8888:
        [drmFormat, bpp] = [DRM_FORMAT_XRGB8888, 4];
        break;
      case PLANE_CTL_FORMAT_RGB_565:
        [drmFormat, bpp] = [DRM_FORMAT_RGB565, 2];
        break;
      default:
        return { ok: false, errno: 'EINVAL', reason: `pixel format 0x${((ctl >>> 24) & 0xf).toString(16)} is not supported` };
    }
    const size = this.read(PLANE_SIZE(pipe));
    const width = (size & 0x1fff) + 1;
    const height = ((size >>> 16) & 0x1fff) + 1;
    // Linear surfaces: PLANE_STRIDE counts 64-byte units.
    const stride = (this.read(PLANE_STRIDE(pipe)) & 0x3ff) * 64;
    if (stride < width * bpp) return { ok: false, errno: 'EINVAL', reason: `stride ${stride} below ${width} pixels` };
    const offset = this.read(PLANE_OFFSET(pipe));
    const base = (this.read(PLANE_SURF(pipe)) & PLANE_SURF_ADDR_MASK) + ((offset >>> 16) & 0x1fff) * stride + (offset & 0x1fff) * bpp;
    const pos = this.read(PLANE_POS(pipe));
    return { ok: true, plane: { pipe, base, width, height, stride, drmFormat, bpp, xPos: pos & 0x1fff, yPos: (pos >>> 16) & 0x1fff } };
  }

  save(): I915DisplayRecord {
    return { kind: 'i915-display', version: 1, regs: [...this.regs.entries()] };
  }

  /** EINVAL (state unchanged) for a record of another kind or version, or with a register this engine has not. */
  load(record: unknown): void {
    if (typeof record !== 'object' || record === null) throw new VfioError('EINVAL', 'i915-display record is not an object');
    const r = new Map<string, unknown>(Object.entries(record));
    if (r.get('kind') !== 'i915-display' || r.get('version') !== 1) throw new VfioError('EINVAL', 'not an i915-display v1 record');
    const regs = r.get('regs');
    if (!Array.isArray(regs)) throw new VfioError('EINVAL', 'i915-display record without regs');
    const next = new Map<number, number>();
    for (const e of regs as unknown[]) {
      if (!Array.isArray(e) || e.length !== 2) throw new VfioError('EINVAL', 'i915-display register entry');
      const [off, val] = e as unknown[];
      if (typeof off !== 'number' || typeof val !== 'number' || !DISPLAY_REGS.has(off) || !Number.isInteger(val) || val < 0 || val > 0xffffffff) {
        throw new VfioError('EINVAL', 'i915-display register entry out of range');
      }
      next.set(off, val);
    }
    this.regs.clear();
    for (const [o, v] of next) this.regs.set(o, v);
    this.updateIrq();
  }
}
