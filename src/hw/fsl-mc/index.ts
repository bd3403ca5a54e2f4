// The simulated DPAA2 management complex and the kernel's fsl-mc bus over it.
export * from './mc-cmd.js';
export { McObject, McContainer, DpniHw, DpioHw, DpbpHw, DpconHw, QBMAN_CENA_BASE, QBMAN_CINH_BASE, QBMAN_PORTAL_STRIDE } from './mc-objects.js';
export type { McIrqState, McMsiSink, McObjectRecord, McRegionHw } from './mc-objects.js';
export { ManagementComplex, McPortal, DpmcpHw, MC_PORTALS_BASE, MC_PORTAL_STRIDE } from './mc-firmware.js';
export type { ManagementComplexOptions } from './mc-firmware.js';
export { MC_FW_VERSION, DPRC_API_VERSION } from './mc-commands.js';
export { fslCreateMcIo, mcSendCommand } from './mc-sys.js';
export type { FslMcIo } from './mc-sys.js';
export * from './dprc.js';
export { FslMcDevice, FSL_MC_IS_DPRC, fslMcContDev, fslMcModalias, isFslMcBusDprc } from './fsl-mc-device.js';
export type { FslMcBusState, FslMcDeviceIrq, FslMcIrqPool, FslMcResource } from './fsl-mc-device.js';
export {
  fslMcBusRegisterNotifier,
  fslMcBusUnregisterNotifier,
  fslMcChildren,
  fslMcDeviceAdd,
  fslMcDeviceRemove,
  fslMcDriverRegister,
  fslMcDriverUnregister,
  fslMcHostState,
  fslMcIoremap,
  fslMcIsRootDprc,
  fslMcPendingRemoval,
  fslMcRemovalUnderWay,
} from './fsl-mc-bus.js';
export type { FslMcBusEvent, FslMcBusNotifier, FslMcDeviceId, FslMcDriver, FslMcHostState } from './fsl-mc-bus.js';
export {
  FSL_MC_IRQ_POOL_MAX_TOTAL_IRQS,
  FSL_MC_MSI_DOORBELL,
  fslMcAllocateIrqs,
  fslMcCleanupIrqPool,
  fslMcFreeIrq,
  fslMcFreeIrqs,
  fslMcMsiDeliver,
  fslMcPopulateIrqPool,
  fslMcRequestIrq,
} from './fsl-mc-msi.js';
export { dprcCleanup, dprcDriver, dprcDriverExit, dprcDriverInit, dprcRemoveDevices, dprcScanContainer, dprcScanObjects, dprcSetup } from './dprc-driver.js';
export { FSL_MC_OBJECT_TYPES, fslMcMachineCreate } from './fsl-mc-machine.js';
export type { FslMcContainerSpec, FslMcMachine, FslMcMachineSpec, FslMcObjectSpec, FslMcObjectType } from './fsl-mc-machine.js';
export { fslMcBuildMachine, fslMcConfigSchema } from './machine-spec.js';
export type { BuiltFslMcMachine, FslMcConfig, FslMcContainerConfig } from './machine-spec.js';
