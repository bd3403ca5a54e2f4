// The vGPU's display as the host sees it (drivers/gpu/drm/i915/gvt/dmabuf.c intel_vgpu_query_plane,
// intel_vgpu_get_dmabuf, vgpu_get_plane_info): the primary plane decoded from the vGPU's virtual registers, checked
// against the vGPU's graphics memory, handed out as a dmabuf; and the screenshot of it.
import { VfioError, check } from '../../uapi/errno.js';
import { DRM_PLANE_TYPE_CURSOR, DRM_PLANE_TYPE_PRIMARY, VFIO_GFX_PLANE_TYPE_DMABUF, VFIO_GFX_PLANE_TYPE_PROBE, decodeVfioDeviceGfxPlaneInfo } from '../../uapi/gfx-plane.js';
import { I915_NUM_PIPES, DRM_FORMAT_RGB565 } from '../../hw/i915/i915-regs.js';
import type { I915PlaneDecode } from '../../hw/i915/display-engine.js';
import { gfxDmabufExport, gfxDmabufIdArg, gfxPlaneReply } from '../../emu/gfx-dmabuf.js';
import type { GfxPlaneFb } from '../../emu/gfx-dmabuf.js';
import { framebufferToPng } from '../../emu/framebuffer-png.js';
import { IntelGvt } from './gvt-resources.js';
import type { GvtVgpu } from './vgpu.js';

const NO_HOTSPOT = 0xffffffff;

/** The primary plane of the first active pipe (get_active_pipe + intel_vgpu_decode_primary_plane). */
function decodeActivePrimary(dev: GvtVgpu): I915PlaneDecode {
  const display = dev.live().mmio.display;
  let first: I915PlaneDecode | null = null;
  for (let pipe = 0; pipe < I915_NUM_PIPES; pipe++) {
    const d = display.decodePrimary(pipe);
    if (d.ok || d.errno !== 'ENODEV') return d;
    first ??= d;
  }
  return first ?? { ok: false, errno: 'ENODEV', reason: 'no pipe' };
}

/** vgpu_get_plane_info: the plane as a framebuffer, ENODEV while off, EFAULT outside the vGPU's memory. */
export function gvtPlaneInfo(dev: GvtVgpu, planeType: number): GfxPlaneFb {
  if (planeType === DRM_PLANE_TYPE_CURSOR) throw new VfioError('ENODEV', 'the cursor plane is not modelled');
  check(planeType === DRM_PLANE_TYPE_PRIMARY, 'EINVAL', `invalid plane id ${planeType}`);
  const d = decodeActivePrimary(dev);
  if (!d.ok) throw new VfioError(d.errno, d.reason);
  const p = d.plane;
  const size = p.stride * p.height;
  check(IntelGvt.validRange(dev.live().res, p.base, size), 'EFAULT', `invalid gma addr 0x${p.base.toString(16)}`);
  return { start: p.base, drmFormat: p.drmFormat, drmFormatMod: 0n, width: p.width, height: p.height, stride: p.stride, size, xPos: p.xPos, yPos: p.yPos, xHot: NO_HOTSPOT, yHot: NO_HOTSPOT };
}

/** VFIO_DEVICE_QUERY_GFX_PLANE (intel_vgpu_query_plane): a plane that is not ready answers 0 with the struct untouched. */
export function gvtQueryPlane(dev: GvtVgpu, arg: Uint8Array): number {
  const info = decodeVfioDeviceGfxPlaneInfo(arg);
  if (info.flags === (VFIO_GFX_PLANE_TYPE_DMABUF | VFIO_GFX_PLANE_TYPE_PROBE)) return 0;
  check(info.flags === VFIO_GFX_PLANE_TYPE_DMABUF, 'EINVAL', 'gvt offers dmabuf planes only');
  let fb: GfxPlaneFb;
  try {
    fb = gvtPlaneInfo(dev, info.drmPlaneType);
  } catch (err) {
    // "ENODEV means plane isn't ready, which might be a normal case."
    if (VfioError.is(err, 'ENODEV')) return 0;
    throw err;
  }
  gfxPlaneReply(arg, info, fb, dev.dmabufs.pick(fb).id);
  return 0;
}

/** VFIO_DEVICE_GET_GFX_DMABUF (intel_vgpu_get_dmabuf): a dma-buf fd of the plane's pages; EINVAL for an unknown id. */
export function gvtGetDmabuf(dev: GvtVgpu, arg: Uint8Array): number {
  const id = gfxDmabufIdArg(arg);
  const obj = dev.dmabufs.get(id);
  if (obj === undefined) throw new VfioError('EINVAL', `invalid dmabuf id ${id}`);
  const { gpu } = dev.live();
  // The plane's pages of graphics memory themselves (a GM address is its offset in the GPU's memfd).
  return gfxDmabufExport(`gvt-dmabuf-${id}`, obj, gpu.gmFd);
}

/** A PNG of the vGPU's primary plane; ENODATA (with the reason) when it shows nothing. */
export function gvtScreenshot(dev: GvtVgpu): Buffer {
  let fb: GfxPlaneFb;
  try {
    fb = gvtPlaneInfo(dev, DRM_PLANE_TYPE_PRIMARY);
  } catch (err) {
    throw new VfioError('ENODATA', `gvt scanout: ${err instanceof Error ? err.message : String(err)}`);
  }
  const pixels = new Uint8Array(fb.size);
  dev.live().gpu.gmRead(fb.start, pixels);
  return framebufferToPng(pixels, { width: fb.width, height: fb.height, stride: fb.stride, offset: 0, format: fb.drmFormat === DRM_FORMAT_RGB565 ? 'r5g6b5' : 'xrgb8888' });
}
