// The mbochs driver's public surface: the device, its mdev driver and module init, screenshots, EDID and dispi.
export { MbochsState, mbochsOps, mbochsCreate, mbochsReset, screenshot } from './mbochs.js';
export { mbochsMdevDriver, mbochsRegister } from './mbochs-driver.js';
export type { MbochsDriverOptions } from './mbochs-driver.js';
export * from './mbochs-defs.js';
export { MbochsEdid } from './mbochs-edid-regs.js';
export { BochsDispi } from './dispi.js';
export type { DispiMode, DispiScanout } from './dispi.js';
export { generateEdid, parseEdidPreferredMode } from './edid.js';
export type { EdidMode, EdidOptions } from './edid.js';
