// The mdpy driver's public surface: the device, its mdev driver and module init, screenshots.
export { MdpyState, mdpyOps, mdpyCreate, mdpyReset, mdpyType, screenshot } from './mdpy.js';
export { mdpyMdevDriver, mdpyRegister } from './mdpy-driver.js';
export type { MdpyDriverOptions } from './mdpy-driver.js';
export * from './mdpy-defs.js';
export { framebufferToPng, DRM_FORMAT_XRGB8888 } from '../../emu/framebuffer-png.js';
export type { FramebufferLayout } from '../../emu/framebuffer-png.js';
