// struct intel_gvt's resource accounting for one GPU (drivers/gpu/drm/i915/gvt/aperture_gm.c alloc_gm /
// alloc_vgpu_fence / intel_vgpu_alloc_resource, kvmgt.c intel_vgpu_get_available): ranges of aperture and hidden
// graphics memory and fence registers, taken by each vGPU whole or not at all.
import { VfioError } from '../../uapi/errno.js';
import type { I915Gpu } from '../../hw/i915/i915-gpu.js';
import { GVT_MAX_VGPU, GVT_VGPU_TYPES, HOST_FENCE, HOST_HIGH_GM_SIZE, HOST_LOW_GM_SIZE } from './gvt-defs.js';
import type { GvtVgpuType } from './gvt-defs.js';

/** What one vGPU holds: a contiguous aperture range, a contiguous hidden range and some fences (GM addresses). */
export interface GvtVgpuResources {
  readonly id: number;
  readonly lowBase: number;
  readonly lowSize: number;
  readonly highBase: number;
  readonly highSize: number;
  /** Physical fence register numbers. */
  readonly fences: readonly number[];
}

interface Range {
  readonly start: number;
  readonly size: number;
}

/** drm_mm_insert_node_in_range, first fit: the lowest gap of `size` in [start, end) between `used`. */
function firstFit(used: readonly Range[], start: number, end: number, size: number): number | null {
  let at = start;
  for (const r of [...used].sort((a, b) => a.start - b.start)) {
    if (r.start + r.size <= at) continue;
    if (r.start - at >= size) break;
    at = Math.max(at, r.start + r.size);
  }
  return at + size <= end ? at : null;
}

/** The GVT-g state of one GPU: what the host keeps, what vGPUs hold, and the types that fit. */
export class IntelGvt {
  readonly vgpus = new Map<number, GvtVgpuResources>();

  constructor(readonly gpu: I915Gpu) {}

  /** The aperture and hidden ranges vGPUs may take from (after the host's part). */
  get lowRange(): Range {
    return { start: HOST_LOW_GM_SIZE, size: this.gpu.apertureSize - HOST_LOW_GM_SIZE };
  }

  get highRange(): Range {
    return { start: this.gpu.apertureSize + HOST_HIGH_GM_SIZE, size: this.gpu.hiddenSize - HOST_HIGH_GM_SIZE };
  }

  /** intel_gvt_init_vgpu_types: every config while the aperture left to vGPUs holds one (the list stops at the first that does not). */
  types(): GvtVgpuType[] {
    const out: GvtVgpuType[] = [];
    for (const t of GVT_VGPU_TYPES) {
      if (Math.floor(Math.max(0, this.lowRange.size) / t.lowMm) === 0) break;
      out.push(t);
    }
    return out;
  }

  private allocated(): { low: number; high: number; fences: number } {
    let low = 0;
    let high = 0;
    let fences = 0;
    for (const r of this.vgpus.values()) {
      low += r.lowSize;
      high += r.highSize;
      fences += r.fences.length;
    }
    return { low, high, fences };
  }

  /** intel_vgpu_get_available: min over aperture, hidden and fences of what is left / what the type takes. */
  availableInstances(t: GvtVgpuType): number {
    const a = this.allocated();
    const low = Math.max(0, this.lowRange.size - a.low);
    const high = Math.max(0, this.highRange.size - a.high);
    const fences = Math.max(0, this.gpu.numFences - HOST_FENCE - a.fences);
    return Math.min(Math.floor(low / t.lowMm), Math.floor(high / t.highMm), Math.floor(fences / t.fence));
  }

  /**
   * intel_vgpu_alloc_resource + alloc_vgpu_gm + alloc_vgpu_fence: all of `t`'s resources, or ENOSPC naming what
   * is short and nothing taken. Balanced by free().
   */
  alloc(t: GvtVgpuType): GvtVgpuResources {
    const id = [...Array(GVT_MAX_VGPU).keys()].map((i) => i + 1).find((i) => !this.vgpus.has(i));
    if (id === undefined) throw new VfioError('ENOSPC', `GVT-g: already ${GVT_MAX_VGPU} vGPUs`);
    const held = [...this.vgpus.values()];
    const lowBase = firstFit(held.map((r) => ({ start: r.lowBase, size: r.lowSize })), this.lowRange.start, this.lowRange.start + this.lowRange.size, t.lowMm);
    if (lowBase === null) throw new VfioError('ENOSPC', `GVT-g: not enough aperture for ${t.sysfsName}`);
    const highBase = firstFit(held.map((r) => ({ start: r.highBase, size: r.highSize })), this.highRange.start, this.highRange.start + this.highRange.size, t.highMm);
    if (highBase === null) throw new VfioError('ENOSPC', `GVT-g: not enough hidden graphics memory for ${t.sysfsName}`);
    const taken = new Set(held.flatMap((r) => r.fences));
    const fences: number[] = [];
    for (let i = HOST_FENCE; i < this.gpu.numFences && fences.length < t.fence; i++) if (!taken.has(i)) fences.push(i);
    if (fences.length < t.fence) throw new VfioError('ENOSPC', `GVT-g: not enough fence registers for ${t.sysfsName}`);
    const res: GvtVgpuResources = Object.freeze({ id, lowBase, lowSize: t.lowMm, highBase, highSize: t.highMm, fences: Object.freeze(fences) });
    this.vgpus.set(id, res);
    return res;
  }

  /** intel_vgpu_free_resource: gives everything back. */
  free(res: GvtVgpuResources): void {
    if (this.vgpus.get(res.id) !== res) throw new Error(`GVT-g: vGPU ${res.id} freed twice`);
    this.vgpus.delete(res.id);
  }

  /** Whether [addr, addr + size) lies inside the vGPU's aperture or hidden range (intel_gvt_ggtt_validate_range). */
  static validRange(res: GvtVgpuResources, addr: number, size: number): boolean {
    const inside = (base: number, len: number): boolean => addr >= base && addr + size <= base + len;
    return size > 0 && (inside(res.lowBase, res.lowSize) || inside(res.highBase, res.highSize));
  }
}
