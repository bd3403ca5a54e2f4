// The mdpy driver's public surface: its registry descriptor, the device, its mdev driver and module init, screenshots.
export { driver, mdpyMdevDriver, mdpyRegister } from './mdpy-driver.js';
export type { MdpyDriverOptions } from './mdpy-driver.js';
export { MdpyState, mdpyOps, mdpyCreate, mdpyReset, mdpyType, screenshot } from './mdpy.js';
export * from './mdpy-defs.js';
export { DRM_FORMAT_XRGB8888 } from '../../emu/framebuffer-png.js';
