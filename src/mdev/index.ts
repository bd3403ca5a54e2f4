// The mediated device framework's public surface (drivers/vfio/mdev/, include/linux/mdev.h).
export { MdevDevice, MdevParent, MdevType } from './mdev-objects.js';
export type { MdevDriver, MdevTypeSpec } from './mdev-objects.js';
export { mdevBus, mdevRegisterDriver, mdevUnregisterDriver } from './mdev-bus.js';
export { MDEV_NO_INSTANCES_ERRNO, mdevCreate, mdevFind, mdevRemove, mdevWaitRemoved } from './mdev-device.js';
export { mdevParentType, mdevParents, mdevRegisterParent, mdevUnregisterParent } from './mdev-parent.js';
export { mdevVfioDevice, mdevVfioDriver } from './mdev-vfio.js';
export type { MdevVfioDriverSpec } from './mdev-vfio.js';
export { parseMdevUuid, uuidIsValid, UUID_STRING_LEN } from './uuid.js';
