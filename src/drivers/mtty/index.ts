// The mtty driver's public surface: its registry descriptor, probe/remove, types and budget, params, backends.
export { driver, mttyMdevDriver, mttyRegister } from './mtty-driver.js';
export { MttyState, mttyCreate, mttyRemove, mttyOps, MTTY_STATE_VERSION } from './mtty.js';
export { MTTY_TYPES, MTTY_MAX_PORTS, mttyType, mttyAvailablePorts, mttyAvailableInstances } from './mtty-types.js';
export type { MttyType, MttyTypeName } from './mtty-types.js';
export { mttyParamsSchema, MTTY_MAX_PORTS_PER_DEVICE } from './mtty-params.js';
export type { MttyParams } from './mtty-params.js';
export { createChardev } from '../../hw/chardev.js';
export type { ChardevSpec, Chardev } from '../../hw/chardev.js';
export { MTTY_VENDOR_ID, MTTY_DEVICE_ID, MTTY_IO_BAR_SIZE } from './mtty-config.js';
