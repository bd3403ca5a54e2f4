// Test support for displays: a QUERY_GFX_PLANE argument as a VMM fills it in.
import { DRM_PLANE_TYPE_PRIMARY, VFIO_DEVICE_GFX_PLANE_INFO_SIZEOF, encodeVfioDeviceGfxPlaneInfo } from '../uapi/gfx-plane.js';

/** A plane query's argument: argsz 64, `flags`, `type`, the rest zero. */
export function planeArg(flags: number, type = DRM_PLANE_TYPE_PRIMARY): Uint8Array {
  return encodeVfioDeviceGfxPlaneInfo({
    argsz: VFIO_DEVICE_GFX_PLANE_INFO_SIZEOF, flags, drmPlaneType: type, drmFormat: 0, drmFormatMod: 0n,
    width: 0, height: 0, stride: 0, size: 0, xPos: 0, yPos: 0, xHot: 0, yHot: 0, regionIndex: 0,
  });
}

