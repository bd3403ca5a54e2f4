// GVT-g's vGPU types and host reservations (drivers/gpu/drm/i915/gvt/vgpu.c intel_vgpu_configs, gvt.h
// HOST_LOW_GM_SIZE/HOST_HIGH_GM_SIZE/HOST_FENCE) and the vGPU's extra VFIO regions (kvmgt.c).
import type { MdevTypeSpec } from '../../mdev/mdev-objects.js';
import { VfioError } from '../../uapi/errno.js';

const MIB = 1 << 20;

/** What the host keeps for itself before any vGPU: the first 128 MiB of aperture, 384 MiB of hidden GM, 4 fences. */
export const HOST_LOW_GM_SIZE = 128 * MIB;
export const HOST_HIGH_GM_SIZE = 384 * MIB;
export const HOST_FENCE = 4;
/** GVT_MAX_VGPU. */
export const GVT_MAX_VGPU = 8;
export const VGPU_MAX_WEIGHT = 16;

export type GvtEdidRes = 'GVT_EDID_1024_768' | 'GVT_EDID_1920_1200';

/** struct intel_vgpu_config, as an mdev type: `i915-GVTg_V5_<name>`. */
export interface GvtVgpuType extends MdevTypeSpec {
  readonly sysfsName: string;
  /** Aperture (low GM) bytes. */
  readonly lowMm: number;
  /** Hidden (high GM) bytes. */
  readonly highMm: number;
  readonly fence: number;
  readonly weight: number;
  readonly edid: GvtEdidRes;
}

/** intel_vgpu_configs: V5_8 is the smallest (eight fit where one V5_1 does). */
const CONFIGS: readonly (readonly [number, number, number, number, GvtEdidRes, string])[] = [
  [64, 384, 4, 1, 'GVT_EDID_1024_768', '8'],
  [128, 512, 4, 2, 'GVT_EDID_1920_1200', '4'],
  [256, 1024, 4, 4, 'GVT_EDID_1920_1200', '2'],
  [512, 2048, 4, 8, 'GVT_EDID_1920_1200', '1'],
];

/** The types a GPU of graphics version 9 offers (GVTg_V5_*; gen8 would say V4). */
export const GVT_VGPU_TYPES: readonly GvtVgpuType[] = Object.freeze(
  CONFIGS.map(([low, high, fence, weight, edid, name]) =>
    Object.freeze({ sysfsName: `GVTg_V5_${name}`, lowMm: low * MIB, highMm: high * MIB, fence, weight, edid }),
  ),
);

/** vgpu_edid_xres / vgpu_edid_yres. */
export function gvtEdidResolution(edid: GvtEdidRes): { xres: number; yres: number } {
  return edid === 'GVT_EDID_1024_768' ? { xres: 1024, yres: 768 } : { xres: 1920, yres: 1200 };
}

/** The type named `name` ('GVTg_V5_8' or 'i915-GVTg_V5_8'); EINVAL otherwise. */
export function gvtType(name: string): GvtVgpuType {
  const t = GVT_VGPU_TYPES.find((x) => x.sysfsName === name || `i915-${x.sysfsName}` === name);
  if (t === undefined) throw new VfioError('EINVAL', `no GVT-g type '${name}'`);
  return t;
}

/** intel_vgpu_show_description(). */
export function gvtDescription(t: GvtVgpuType): string {
  const { xres, yres } = gvtEdidResolution(t.edid);
  return `low_gm_size: ${t.lowMm / MIB}MB\nhigh_gm_size: ${t.highMm / MIB}MB\nfence: ${t.fence}\nresolution: ${xres}x${yres}\nweight: ${t.weight}\n`;
}

/** The vGPU's regions after the nine PCI ones (intel_vgpu_register_reg order): the OpRegion, then EDID. */
export const GVT_OPREGION_REGION_INDEX = 9;
export const GVT_EDID_REGION_INDEX = 10;
/** INTEL_GVT_OPREGION_SIZE: two pages. */
export const GVT_OPREGION_SIZE = 8192;
/** EDID_BLOB_OFFSET (PAGE_SIZE / 2) and EDID_SIZE: one 128-byte block. */
export const GVT_EDID_BLOB_OFFSET = 0x800;
export const GVT_EDID_SIZE = 128;
