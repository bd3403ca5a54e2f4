// The dmabuf side of VFIO_DEVICE_QUERY_GFX_PLANE / VFIO_DEVICE_GET_GFX_DMABUF for emulated displays: the table of
// plane objects a driver hands out ids for (gvt's dmabuf_obj_list_head + object_idr, mbochs's dmabufs list) and the
// export of one as a dma-buf fd in the calling process's table (dmabuf-file.ts): the device memory's own pages
// from the plane's first one, so what the guest draws later shows through it. See kvmgt.c/dmabuf.c, mbochs.c.
import { VfioError, check } from '../uapi/errno.js';
import { fdInstallCurrent } from '../vfio/vfio-file.js';
import { DmabufFile } from './dmabuf-file.js';
import { VFIO_DEVICE_GFX_PLANE_INFO_MINSZ, encodeVfioDeviceGfxPlaneInfo } from '../uapi/gfx-plane.js';
import type { VfioDeviceGfxPlaneInfo } from '../uapi/gfx-plane.js';

const PAGE_SIZE = 4096;

/** A plane as a display shows it (struct intel_vgpu_fb_info / struct mbochs_mode). */
export interface GfxPlaneFb {
  /** Where its first byte is in the device's memory (GM address, VRAM offset). */
  readonly start: number;
  readonly drmFormat: number;
  readonly drmFormatMod: bigint;
  readonly width: number;
  readonly height: number;
  readonly stride: number;
  /** Bytes. */
  readonly size: number;
  readonly xPos: number;
  readonly yPos: number;
  readonly xHot: number;
  readonly yHot: number;
}

/** One plane object with the id the user names it by. */
export interface GfxDmabufObj {
  readonly id: number;
  readonly fb: GfxPlaneFb;
  /** GET_GFX_DMABUF exports so far. */
  exports: number;
}

/** A device's plane objects: the same plane gets the same id until the table is cleared (at the last close). */
export class GfxDmabufTable {
  private readonly objs = new Map<number, GfxDmabufObj>();
  private nextId = 1;

  /** pick_dmabuf_by_info, else a new object with the next id (ids start at 1: 0 means "no plane"). */
  pick(fb: GfxPlaneFb): GfxDmabufObj {
    for (const o of this.objs.values()) if (sameFb(o.fb, fb)) return o;
    const obj: GfxDmabufObj = { id: this.nextId++, fb: { ...fb }, exports: 0 };
    this.objs.set(obj.id, obj);
    return obj;
  }

  /** pick_dmabuf_by_num. */
  get(id: number): GfxDmabufObj | undefined {
    return this.objs.get(id);
  }

  get size(): number {
    return this.objs.size;
  }

  /** intel_vgpu_dmabuf_cleanup / mbochs_close_device: every object forgotten (exported fds stay the user's). */
  clear(): void {
    this.objs.clear();
  }
}

function sameFb(a: GfxPlaneFb, b: GfxPlaneFb): boolean {
  return (
    a.start === b.start &&
    a.size === b.size &&
    a.drmFormat === b.drmFormat &&
    a.drmFormatMod === b.drmFormatMod &&
    a.width === b.width &&
    a.height === b.height &&
    a.stride === b.stride
  );
}

/**
 * Writes the plane's fields and `id` into the user's vfio_device_gfx_plane_info (`info` as decoded from `arg`);
 * a null plane reports zeros, as mbochs does when nothing is shown.
 */
export function gfxPlaneReply(arg: Uint8Array, info: VfioDeviceGfxPlaneInfo, fb: GfxPlaneFb | null, id: number): void {
  const out = encodeVfioDeviceGfxPlaneInfo({
    ...info,
    drmFormat: fb?.drmFormat ?? 0,
    drmFormatMod: fb?.drmFormatMod ?? 0n,
    width: fb?.width ?? 0,
    height: fb?.height ?? 0,
    stride: fb?.stride ?? 0,
    size: fb?.size ?? 0,
    xPos: fb?.xPos ?? 0,
    yPos: fb?.yPos ?? 0,
    xHot: fb?.xHot ?? 0,
    yHot: fb?.yHot ?? 0,
    regionIndex: id,
  });
  arg.set(out.subarray(0, Math.min(arg.length, VFIO_DEVICE_GFX_PLANE_INFO_MINSZ)));
}

/** GET_GFX_DMABUF's argument: the u32 dmabuf id at the user's pointer (EFAULT without four bytes). */
export function gfxDmabufIdArg(arg: Uint8Array): number {
  if (arg.length < 4) throw new VfioError('EFAULT', 'VFIO_DEVICE_GET_GFX_DMABUF: no dmabuf id');
  return new DataView(arg.buffer, arg.byteOffset, 4).getUint32(0, true);
}

/**
 * dma_buf_export() + dma_buf_fd(): `obj` as a dma-buf over the device memory `memFd` holds (the pages from the one
 * the plane starts in, DIV_ROUND_UP(size, PAGE_SIZE) of them), installed in the calling process's fd table; the
 * fd is the user's, as the kernel's (closed by the user or at exit). EINVAL for an empty plane.
 */
export function gfxDmabufExport(name: string, obj: GfxDmabufObj, memFd: number): number {
  check(obj.fb.size > 0, 'EINVAL', 'empty plane');
  const first = obj.fb.start - (obj.fb.start % PAGE_SIZE);
  const file = new DmabufFile(name, memFd, first, Math.ceil(obj.fb.size / PAGE_SIZE) * PAGE_SIZE);
  let fd: number;
  try {
    fd = fdInstallCurrent(file);
  } catch (err) {
    file.put();
    throw err;
  }
  obj.exports++;
  return fd;
}
