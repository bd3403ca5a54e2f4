// The simulated AP (adjunct processor, s390 crypto) hardware and the kernel's ap bus over it.
export * from './ap-defs.js';
export { ApMask, AP_DEVICES, AP_DOMAINS, apParseMask } from './ap-mask.js';
export { ApQueueHw, AP_MAX_MESSAGE_SIZE } from './ap-queue-hw.js';
export type { ApQueueHwOptions, ApQueueStateRecord } from './ap-queue-hw.js';
export * from './ap-message.js';
export { ApMachine } from './ap-machine.js';
export type { ApConfigInfo, ApMachineSpec } from './ap-machine.js';
export { ApCard, ApQueue } from './ap-devices.js';
export { apApqnInMatrixOwnedByDefDrv, apBusExit, apBusInit, apBusState, apDriverRegister, apDriverUnregister, apGetQdev, apOwnedByDefDrv } from './ap-bus.js';
export type { ApBusOptions, ApBusState, ApDriver } from './ap-bus.js';
export { zcryptRegisterDefaultDrivers } from './zcrypt-drivers.js';
export type { ZcryptDrivers } from './zcrypt-drivers.js';
