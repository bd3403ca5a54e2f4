// The VFIO core's public surface: the driver API (life cycle, registration, device sets, DMA access) and the
// device-file API that the uAPI layer and the vfio-user server use.
export { VfioDevice, allocDevice, initDevice, freeDevice, getVfioDevice, putVfioDevice, deviceLabel, VFIO_DEVICE_MAJOR } from './vfio-device.js';
export type { VfioDeviceClass, RegistrationState } from './vfio-device.js';
export type { VfioDeviceOps, VfioMigrationFile, DmaLoggingRange, DirtyBitmapSink } from './vfio-ops.js';
export { registerGroupDev, registerEmulatedIommuDev, unregisterGroupDev, deviceTryGetRegistration, devicePutRegistration } from './registration.js';
export type { UnregisterOptions } from './registration.js';
export { VfioDeviceSet, assignDeviceSet, deviceSetOpenCount, deviceSetCanReset } from './device-set.js';
export { VfioGroup, vfioDeviceGetFromName } from './group.js';
export type { VfioGroupType, VfioGroupIommu } from './group.js';
export {
  VfioDeviceFile,
  openDeviceFile,
  deviceFileRelease,
  deviceFileRead,
  deviceFileWrite,
  deviceFileMmap,
  vfioDfOpen,
  vfioDfClose,
} from './device-file.js';
export type { DeviceFileBinding } from './device-file.js';
export { deviceFileRegionRw } from './device-region.js';
export { cdevOpen, cdevPath } from './cdev.js';
export { vfioDmaRw, vfioDmaRwAsync, vfioPinPages, vfioUnpinPages } from './dma-access.js';
export type { VfioDmaAccess } from './dma-access.js';
export { vfioCore, vfioConfigure } from './core-state.js';
export type { VfioCoreOptions } from './core-state.js';
export { subscribeLifecycle, lifecycleChannels, LIFECYCLE_STEPS } from './events.js';
export type { LifecycleEvent, LifecycleStep } from './events.js';
export { VfioProcess } from './vfio-process.js';
export type { VfioProcessOptions } from './vfio-process.js';
export { VfioFile } from './vfio-file.js';
export type { IoctlArg, VfioFdTable } from './vfio-file.js';
export { VfioContainer, VfioContainerFile } from './container.js';
export { VfioGroupFile } from './group-file.js';
export { VfioDeviceFops } from './device-fops.js';
export { VfioMigDataFile } from './mig-data-file.js';
export { IommufdFile } from './iommufd-file.js';
export { vfioDeviceCdevOpened } from './cdev-bind.js';
export { vfioPciSetHotResetPort, vfioPciHotResetPort } from './hot-reset.js';
export type { VfioPciHotResetPort, PciFunctionAddress, PciResetTarget } from './hot-reset.js';
