// The mbochs driver's public surface: the device, its mdev driver and module init, screenshots, EDID and dispi.
export { MbochsState, mbochsOps, mbochsCreate, mbochsReset, screenshot } from './mbochs.js';
export { driver, mbochsMdevDriver, mbochsRegister } from './mbochs-driver.js';
export type { MbochsDriverOptions } from './mbochs-driver.js';
export * from './mbochs-defs.js';
export { MbochsEdid } from './mbochs-edid-regs.js';
export { BochsDispi } from '../../hw/bochs-dispi.js';
export type { DispiMode, DispiScanout } from '../../hw/bochs-dispi.js';
export { generateEdid, parseEdidPreferredMode } from '../../hw/edid.js';
export type { EdidMode, EdidOptions } from '../../hw/edid.js';
