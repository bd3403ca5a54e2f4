// Test support for the i915 model: programming a primary plane as i915's skl plane update does.
import type { I915Display } from './display-engine.js';
import { PIPECONF, PIPECONF_ENABLE, PLANE_CTL, PLANE_CTL_ENABLE, PLANE_CTL_FORMAT_RGB_565, PLANE_CTL_FORMAT_XRGB_8888, PLANE_SIZE, PLANE_STRIDE, PLANE_SURF } from './i915-regs.js';

/** Anything with dword register writes: the display engine itself, or a BAR0 seen through a driver. */
export interface RegWriter {
  write(offset: number, value: number): void;
}

/** Programs pipe `pipe` to scan out a linear `w`x`h` surface at `surf`, as i915's skl plane update does. */
export function programPlane(d: RegWriter | I915Display, pipe: number, surf: number, w: number, h: number, format = PLANE_CTL_FORMAT_XRGB_8888): void {
  const bpp = format === PLANE_CTL_FORMAT_RGB_565 ? 2 : 4;
  d.write(PIPECONF(pipe), PIPECONF_ENABLE);
  d.write(PLANE_STRIDE(pipe), Math.ceil((w * bpp) / 64));
  d.write(PLANE_SIZE(pipe), ((h - 1) << 16) | (w - 1));
  d.write(PLANE_CTL(pipe), PLANE_CTL_ENABLE | format);
  d.write(PLANE_SURF(pipe), surf);
}

