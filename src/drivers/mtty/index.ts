// The mtty driver's public surface: create/remove for the mdev framework, types and budget, backends.
export { MttyState, mttyCreate, mttyRemove, mttyOps, MTTY_STATE_VERSION } from './mtty.js';
export type { MttyOptions } from './mtty.js';
export { MTTY_TYPES, MTTY_MAX_PORTS, mttyType, mttyAvailablePorts, mttyAvailableInstances } from './mtty-types.js';
export type { MttyType, MttyTypeName } from './mtty-types.js';
export { createUartBackend } from './backends.js';
export type { MttyBackendSpec, MttyHostBackend } from './backends.js';
export { MTTY_VENDOR_ID, MTTY_DEVICE_ID, MTTY_IO_BAR_SIZE } from './mtty-config.js';
