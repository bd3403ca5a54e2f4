// vfio-ts's one curated entry point (`import ... from 'vfio-ts'`): the driver API of the VFIO core, the uAPI
// process, mediated devices, the emulated-PCI device library, the driver registry, the vfio-user server and
// client, and the sanitizer. Deeper modules stay importable by path for tests and tools, but this is the API.

// Errors (include/uapi/asm-generic/errno.h): the one error class every layer throws.
export { VfioError, Errno, errnoName, check } from './uapi/errno.js';
export type { ErrnoName } from './uapi/errno.js';

// Region flags a driver's regions carry (include/uapi/linux/vfio.h).
export { VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE, VFIO_REGION_INFO_FLAG_MMAP } from './uapi/region-info.js';

// The simulated machine and its device model (drivers/base).
export { Host } from './base/host.js';
export type { HostOptions } from './base/host.js';
export { Device, deviceRegister, deviceUnregister, getDevice, putDevice } from './base/device.js';
export type { Logger } from './base/log.js';
export { silentLogger } from './base/log.js';

// The VFIO core's driver API (include/linux/vfio.h): life cycle, registration, device sets, DMA access, events.
export {
  VfioDevice,
  allocDevice,
  initDevice,
  freeDevice,
  getVfioDevice,
  putVfioDevice,
  registerGroupDev,
  registerEmulatedIommuDev,
  unregisterGroupDev,
  assignDeviceSet,
  vfioDmaRw,
  vfioPinPages,
  vfioUnpinPages,
  vfioConfigure,
  subscribeLifecycle,
  LIFECYCLE_STEPS,
} from './vfio/index.js';
export type {
  VfioDeviceOps,
  VfioDeviceClass,
  VfioMigrationFile,
  UnregisterOptions,
  VfioCoreOptions,
  LifecycleEvent,
  LifecycleStep,
} from './vfio/index.js';

// The VFIO uAPI as a userspace process sees it (include/uapi/linux/vfio.h): open, ioctl, pread/pwrite.
export { VfioProcess } from './vfio/index.js';
export type { VfioProcessOptions } from './vfio/index.js';

// Mediated devices (include/linux/mdev.h).
export {
  MdevDevice,
  MdevParent,
  MdevType,
  mdevRegisterDriver,
  mdevUnregisterDriver,
  mdevRegisterParent,
  mdevUnregisterParent,
  mdevCreate,
  mdevRemove,
  mdevFind,
  mdevParents,
  mdevVfioDevice,
  mdevVfioDriver,
} from './mdev/index.js';
export type { MdevDriver, MdevTypeSpec, MdevVfioDriverSpec } from './mdev/index.js';

// Writing an emulated PCI device: the library mtty, mdpy and mbochs are built on.
export { VfioPciEmuDevice, pciEmuInit, pciEmuSetRegion, pciEmuOps, pciEmuReset, pciEmuCloseDevice } from './emu/index.js';
export type { PciEmuSetup, PciEmuRegion } from './emu/index.js';

// The drivers: one registry the CLI reads too. Each built-in driver folder exports a descriptor (`driver`);
// its own API is `vfio-ts/drivers/<name>` (e.g. `import { mttyCreate } from 'vfio-ts/drivers/mtty'`).
export { DriverRegistry, builtinDrivers, loadDriverRegistry, loadDriverModule } from './drivers/registry.js';
export { isVfioDriverDescriptor, sampleModule } from './drivers/descriptor.js';
export type {
  VfioDriverDescriptor,
  VfioDriverModule,
  DriverModuleOptions,
  DriverConfigKeys,
  DriverParams,
  ConfigClaim,
  ConfigContext,
} from './drivers/descriptor.js';
export { parseParams } from './drivers/params.js';
export { mdevRegisterSample } from './mdev/sample-parent.js';
export type { MdevSample } from './mdev/sample-parent.js';

// vfio-user (QEMU docs/interop/vfio-user.rst): serve devices to VMMs, or drive one as a client.
export { VfioUserServer, VfioUserClient, MigrationError, migrateDevice } from './vfio-user/index.js';
export type { VfioUserServerOptions, VfioUserClientOptions, MigrateOptions, MigrationResult } from './vfio-user/index.js';

// The sanitizer (KASAN/kmemleak for core objects).
export { sanitizer, SanitizerError, UseAfterFreeError, DoubleFreeError, LeakError } from './sanitizer/index.js';
export type { LeakRecord, SanitizerReport } from './sanitizer/index.js';
