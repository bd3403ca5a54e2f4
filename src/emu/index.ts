// The emulated-PCI VFIO device library's public surface (see README.md): what mtty, mdpy and mbochs build on.
export { VfioPciEmuDevice, pciEmuInit, pciEmuSetRegion } from './pci-emu-device.js';
export type { PciEmuSetup } from './pci-emu-device.js';
export { PCI_EMU_OFFSET_SHIFT, pciEmuIndexToOffset, pciEmuDecodePos, pciEmuCheckRange, pciEmuSplitAccess } from './regions.js';
export type { PciEmuRegion, PciEmuMmap } from './regions.js';
export {
  pciEmuOps,
  pciEmuRead,
  pciEmuWrite,
  pciEmuMmap,
  pciEmuIoctl,
  pciEmuRequest,
  pciEmuReset,
  pciEmuCloseDevice,
} from './pci-emu-ops.js';
export { pciEmuGetInfo, pciEmuGetRegionInfo, pciEmuGetIrqInfo } from './info-ioctls.js';
export { pciEmuSetIrqs, pciEmuDisableIrqs } from './set-irqs.js';
export { PciEmuIrqTriggers, takeEventfd, signalEventfd } from './irq-triggers.js';
export type { PciEmuIrqType } from './irq-triggers.js';
export { dmaRead, dmaWrite } from './dma.js';
export {
  encodeStateRecord,
  decodeStateRecords,
  decodeStateRecord,
  STATE_RECORD_MAGIC,
  STATE_RECORD_FORMAT,
  STATE_RECORD_HEADER_SIZE,
  STATE_RECORD_FLAG_PRECOPY,
} from './state-record.js';
export type { StateRecord } from './state-record.js';
export { SavingMigrationFile, ResumingMigrationFile } from './migration-files.js';
export { SnapshotMigration, pciEmuMigrationInit, pciEmuMigrationOps } from './migration-arcs.js';
export type { SnapshotMigrationHooks } from './migration-arcs.js';
