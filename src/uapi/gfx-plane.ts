// struct vfio_device_gfx_plane_info (VFIO_DEVICE_QUERY_GFX_PLANE) and its flags; GET_GFX_DMABUF takes a bare u32 (include/uapi/linux/vfio.h).
import { needArgsz, needBytes, outBuffer, viewOf } from './codec.js';

export const VFIO_GFX_PLANE_TYPE_PROBE = 1 << 0;
export const VFIO_GFX_PLANE_TYPE_DMABUF = 1 << 1;
export const VFIO_GFX_PLANE_TYPE_REGION = 1 << 2;

/** drm_plane_type values (include/drm/drm_plane.h enum drm_plane_type) a query names. */
export const DRM_PLANE_TYPE_OVERLAY = 0;
export const DRM_PLANE_TYPE_PRIMARY = 1;
export const DRM_PLANE_TYPE_CURSOR = 2;

/**
 * struct vfio_device_gfx_plane_info: argsz @0, flags @4, drm_plane_type @8, drm_format @12,
 * drm_format_mod u64 @16, width @24, height @28, stride @32, size @36, x_pos @40, y_pos @44,
 * x_hot @48, y_hot @52, region_index|dmabuf_id @56, reserved @60 (64 bytes).
 */
export interface VfioDeviceGfxPlaneInfo {
  argsz: number;
  flags: number;
  drmPlaneType: number;
  drmFormat: number;
  drmFormatMod: bigint;
  width: number;
  height: number;
  stride: number;
  size: number;
  xPos: number;
  yPos: number;
  /** 0xffffffff when there is no hotspot. */
  xHot: number;
  yHot: number;
  /** region_index (TYPE_REGION) or dmabuf_id (TYPE_DMABUF): a union in the kernel. */
  regionIndex: number;
}
export const VFIO_DEVICE_GFX_PLANE_INFO_SIZEOF = 64;
/** offsetofend(struct vfio_device_gfx_plane_info, dmabuf_id), as mbochs/mdpy/gvt check. */
export const VFIO_DEVICE_GFX_PLANE_INFO_MINSZ = 60;

export function decodeVfioDeviceGfxPlaneInfo(buf: Uint8Array): VfioDeviceGfxPlaneInfo {
  needBytes(buf, VFIO_DEVICE_GFX_PLANE_INFO_MINSZ, 'vfio_device_gfx_plane_info');
  const dv = viewOf(buf);
  const argsz = dv.getUint32(0, true);
  needArgsz(argsz, VFIO_DEVICE_GFX_PLANE_INFO_MINSZ, 'vfio_device_gfx_plane_info');
  return {
    argsz,
    flags: dv.getUint32(4, true),
    drmPlaneType: dv.getUint32(8, true),
    drmFormat: dv.getUint32(12, true),
    drmFormatMod: dv.getBigUint64(16, true),
    width: dv.getUint32(24, true),
    height: dv.getUint32(28, true),
    stride: dv.getUint32(32, true),
    size: dv.getUint32(36, true),
    xPos: dv.getUint32(40, true),
    yPos: dv.getUint32(44, true),
    xHot: dv.getUint32(48, true),
    yHot: dv.getUint32(52, true),
    regionIndex: dv.getUint32(56, true),
  };
}

export function encodeVfioDeviceGfxPlaneInfo(x: VfioDeviceGfxPlaneInfo, into?: Uint8Array): Uint8Array {
  const out = outBuffer(VFIO_DEVICE_GFX_PLANE_INFO_SIZEOF, into, 'vfio_device_gfx_plane_info');
  const dv = viewOf(out);
  dv.setUint32(0, x.argsz, true);
  dv.setUint32(4, x.flags, true);
  dv.setUint32(8, x.drmPlaneType, true);
  dv.setUint32(12, x.drmFormat, true);
  dv.setBigUint64(16, x.drmFormatMod, true);
  dv.setUint32(24, x.width, true);
  dv.setUint32(28, x.height, true);
  dv.setUint32(32, x.stride, true);
  dv.setUint32(36, x.size, true);
  dv.setUint32(40, x.xPos, true);
  dv.setUint32(44, x.yPos, true);
  dv.setUint32(48, x.xHot, true);
  dv.setUint32(52, x.yHot, true);
  dv.setUint32(56, x.regionIndex, true);
  dv.setUint32(60, 0, true);
  return out;
}
