// The PCI building blocks device models use: config space, BARs, capabilities and IRQ plumbing.

export { PciConfigSpace, intxDisabled } from './config-space.js';
export type { PciAccessSize, PciConfigHook, PciConfigWatcher, PciIds } from './config-space.js';
export { PciBars } from './bar.js';
export type { PciBarDef, PciBarKind, PciBarState, PciRomDef } from './bar.js';
export { PciCapabilityBuilder, findCapability, walkCapabilities } from './capabilities.js';
export type { ExpOptions, MsiCapInfo, MsiOptions, MsixCapInfo, MsixOptions, PciCapRef, PmOptions } from './capabilities.js';
export { PciIrq } from './irq.js';
export type { IrqTriggerSink, MsiMessage, PciIrqKind, PciIrqOptions } from './irq.js';
