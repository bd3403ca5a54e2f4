// vfio-pci-core: the library vfio-pci and its variant drivers build on (drivers/vfio/pci/vfio_pci_core.c,
// vfio_pci_config.c, vfio_pci_intrs.c, vfio_pci_rdwr.c). It has no registry descriptor: it is not a driver.
export { VfioPciCoreDevice, pdevOf } from './core-device.js';
export type { VfioPciIrqType, VfioPciIoeventfd } from './core-device.js';
export { vfioPciCoreInitDev, vfioPciCoreReleaseDev, vfioPciCoreRegisterDevice, vfioPciCoreUnregisterDevice, vfioPciCoreRequest, vfioPciCoreMatch, vfioPciDeviceSetId } from './core.js';
export { vfioPciCoreEnable, vfioPciCoreDisable, vfioPciDevSetResettable } from './core-enable.js';
export { vfioPciCoreIoctl, vfioPciCoreOps } from './core-ioctl.js';
export { vfioPciConfigRw, vfioBarFixup } from './config-rw.js';
export { vfioConfigInit, vfioConfigFree } from './config-init.js';
export { CAP_PERMS, ECAP_PERMS, PCI_CAP_LENGTH, PCI_EXT_CAP_LENGTH, PermBits, vfioMsiPerms } from './config-perms.js';
export { vfioPciGetIrqCount, vfioPciIoctlSetIrqs, vfioPciInterruptSink } from './intrs.js';
export { vfioPciIntxMask, vfioPciIntxUnmask } from './intrs-intx.js';
export { vfioPciRegionRw, vfioPciRw, vfioPciIoctlIoeventfd, VFIO_PCI_IOEVENTFD_MAX } from './rdwr.js';
export { vfioPciResetScope } from './reset-scope.js';
export { vfioPciSetPowerState } from './power.js';
export { vfioPciCoreSriovConfigure, vfioPciCoreFeatureToken, vfioPciValidateVfToken, vfioPciVfInit, vfioPciVfUninit, vfioPciVfTokenUserAdd } from './sriov.js';
export type { VfioPciVfToken } from './sriov.js';
export { vfioPciCoreIoctlFeature } from './core-feature.js';
