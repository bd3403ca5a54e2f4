// Encodes a guest framebuffer (DRM_FORMAT_XRGB8888 or RGB565 in VRAM) as a PNG, for screenshot(): what a
// VMM's display would show of an mdpy or mbochs device (the formats of include/uapi/drm/drm_fourcc.h).
import { PNG } from 'pngjs';
import { check } from '../uapi/errno.js';

/** DRM_FORMAT_XRGB8888: fourcc 'XR24'. */
export const DRM_FORMAT_XRGB8888 = 0x34325258;

/** Where a framebuffer lies in device memory and how its pixels are stored. */
export interface FramebufferLayout {
  readonly width: number;
  readonly height: number;
  /** Bytes per line. */
  readonly stride: number;
  /** Byte offset of the first pixel. */
  readonly offset: number;
  readonly format: 'xrgb8888' | 'r5g6b5';
  /** Pixels stored big-endian (the bochs QEMU extension's byte order register). */
  readonly bigEndian?: boolean;
}

/** Copies the framebuffer in `memory` into a PNG (RGBA, alpha 255). EINVAL when it does not fit. */
export function framebufferToPng(memory: Uint8Array, fb: FramebufferLayout): Buffer {
  const bpp = fb.format === 'xrgb8888' ? 4 : 2;
  check(fb.width > 0 && fb.height > 0 && fb.stride >= fb.width * bpp, 'EINVAL', 'framebuffer geometry');
  check(fb.offset + fb.stride * (fb.height - 1) + fb.width * bpp <= memory.length, 'EINVAL', 'framebuffer exceeds memory');
  const png = new PNG({ width: fb.width, height: fb.height });
  const out = png.data;
  const be = fb.bigEndian ?? false;
  for (let y = 0; y < fb.height; y++) {
    let src = fb.offset + y * fb.stride;
    let dst = y * fb.width * 4;
    for (let x = 0; x < fb.width; x++, src += bpp, dst += 4) {
      if (bpp === 4) {
        // XRGB8888 is a little-endian 32-bit word: bytes B, G, R, X (X, R, G, B when big-endian).
        out[dst] = memory[be ? src + 1 : src + 2] ?? 0;
        out[dst + 1] = memory[be ? src + 2 : src + 1] ?? 0;
        out[dst + 2] = memory[be ? src + 3 : src] ?? 0;
      } else {
        const lo = memory[be ? src + 1 : src] ?? 0;
        const hi = memory[be ? src : src + 1] ?? 0;
        const v = lo | (hi << 8);
        out[dst] = Math.round((((v >> 11) & 0x1f) * 255) / 31);
        out[dst + 1] = Math.round((((v >> 5) & 0x3f) * 255) / 63);
        out[dst + 2] = Math.round(((v & 0x1f) * 255) / 31);
      }
      out[dst + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}
