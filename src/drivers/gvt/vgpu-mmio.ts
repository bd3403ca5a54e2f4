// A vGPU's BAR0 as its guest sees it (drivers/gpu/drm/i915/gvt/handlers.c, mmio.c, gtt.c, fence in aperture_gm.c):
// the PVINFO page a guest i915 probes (magic, version, the ballooning ranges, fence count), a virtual display
// engine, the vGPU's fence registers, and global GTT entries, writable only inside the vGPU's own graphics memory.
import { I915Display } from '../../hw/i915/display-engine.js';
import {
  FENCE_REG_GEN6_LO,
  I915_GTT_OFFSET,
  I915_GTT_PAGE_SIZE,
  I915_GTT_PTE_SIZE,
  I915_MMIO_SIZE,
  VGTIF,
  VGT_CAPS_FULL_48BIT_PPGTT,
  VGT_CAPS_HUGE_GTT,
  VGT_CAPS_HWSP_EMULATION,
  VGT_MAGIC,
  VGT_PVINFO_PAGE,
  VGT_PVINFO_SIZE,
  VGT_VERSION_MAJOR,
  VGT_VERSION_MINOR,
} from '../../hw/i915/i915-regs.js';
import type { Logger } from '../../base/log.js';
import type { GvtVgpuResources } from './gvt-resources.js';
import { IntelGvt } from './gvt-resources.js';

/** The vGPU's virtual registers (vgpu->mmio.vreg) and virtual GTT. */
export class GvtVgpuMmio {
  readonly display: I915Display;
  private readonly pvinfo = new Uint8Array(VGT_PVINFO_SIZE);
  private readonly fences: Uint32Array;
  /** GTT dwords by index, only for entries of the vGPU's own graphics memory. */
  private readonly gtt = new Map<number, number>();

  constructor(
    private readonly res: GvtVgpuResources,
    private readonly log: Logger,
    onIrq: (level: boolean) => void,
  ) {
    this.fences = new Uint32Array(2 * res.fences.length);
    this.display = new I915Display(onIrq);
    this.reset();
  }

  /** intel_vgpu_reset_mmio: PVINFO filled in again, fences and GTT cleared, the display off. */
  reset(): void {
    const dv = new DataView(this.pvinfo.buffer);
    this.pvinfo.fill(0);
    dv.setBigUint64(VGTIF.magic, VGT_MAGIC, true);
    dv.setUint16(VGTIF.versionMajor, VGT_VERSION_MAJOR, true);
    dv.setUint16(VGTIF.versionMinor, VGT_VERSION_MINOR, true);
    dv.setUint32(VGTIF.vgtId, this.res.id, true);
    dv.setUint32(VGTIF.vgtCaps, VGT_CAPS_FULL_48BIT_PPGTT | VGT_CAPS_HWSP_EMULATION | VGT_CAPS_HUGE_GTT, true);
    dv.setUint32(VGTIF.mappableBase, this.res.lowBase, true);
    dv.setUint32(VGTIF.mappableSize, this.res.lowSize, true);
    dv.setUint32(VGTIF.nonmappableBase, this.res.highBase, true);
    dv.setUint32(VGTIF.nonmappableSize, this.res.highSize, true);
    dv.setUint32(VGTIF.fenceNum, this.res.fences.length, true);
    this.fences.fill(0);
    this.gtt.clear();
    this.display.reset();
  }

  /** The graphics-memory page a GTT dword maps, or -1 outside the vGPU's own memory. */
  private gttPage(offset: number): number {
    const page = Math.floor((offset - I915_GTT_OFFSET) / I915_GTT_PTE_SIZE);
    const addr = page * I915_GTT_PAGE_SIZE;
    return IntelGvt.validRange(this.res, addr, I915_GTT_PAGE_SIZE) ? page : -1;
  }

  /** A dword register read. */
  read(offset: number): number {
    if (offset >= VGT_PVINFO_PAGE && offset < VGT_PVINFO_PAGE + VGT_PVINFO_SIZE) {
      return new DataView(this.pvinfo.buffer).getUint32(offset - VGT_PVINFO_PAGE, true);
    }
    if (this.display.handles(offset)) return this.display.read(offset);
    const fence = offset - FENCE_REG_GEN6_LO;
    if (fence >= 0 && fence < this.fences.length * 4) return this.fences[fence >>> 2] ?? 0;
    if (offset >= I915_GTT_OFFSET) return this.gttPage(offset) < 0 ? 0 : (this.gtt.get((offset - I915_GTT_OFFSET) >>> 2) ?? 0);
    return 0;
  }

  /** A dword register write; what the vGPU may not touch is dropped and debug-logged. */
  write(offset: number, value: number): void {
    const v = value >>> 0;
    if (offset >= VGT_PVINFO_PAGE && offset < VGT_PVINFO_PAGE + VGT_PVINFO_SIZE) {
      // The bottom half page is the guest's (display_ready, g2v_notify, cursor hot spot, PDPs); the top half is ours.
      const at = offset - VGT_PVINFO_PAGE;
      if (at >= VGTIF.displayReady - 4) new DataView(this.pvinfo.buffer).setUint32(at, v, true);
      else this.dropped(offset, v, 'read-only PVINFO');
      return;
    }
    if (this.display.handles(offset)) return this.display.write(offset, v);
    const fence = offset - FENCE_REG_GEN6_LO;
    if (fence >= 0 && fence < this.fences.length * 4) {
      this.fences[fence >>> 2] = v;
      return;
    }
    if (offset >= I915_GTT_OFFSET) {
      if (this.gttPage(offset) < 0) this.dropped(offset, v, 'GTT entry outside the vGPU');
      else this.gtt.set((offset - I915_GTT_OFFSET) >>> 2, v);
      return;
    }
    this.dropped(offset, v, offset < I915_MMIO_SIZE ? 'unhandled register' : 'hole');
  }

  /** The guest's cursor hot spot (PVINFO cursor_x_hot/y_hot), as the dmabuf query reports it. */
  cursorHot(): { x: number; y: number } {
    const dv = new DataView(this.pvinfo.buffer);
    return { x: dv.getUint32(VGTIF.cursorXHot, true), y: dv.getUint32(VGTIF.cursorYHot, true) };
  }

  private dropped(offset: number, value: number, why: string): void {
    this.log.debug({ vgpu: this.res.id, offset, value }, `gvt: write dropped (${why})`);
  }
}
