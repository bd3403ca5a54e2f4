// Transitional: the device fd class is VfioDeviceFops in device-fops.ts. This alias keeps vfio-process.ts (being
// changed in parallel) compiling; delete this file once vfio-process.ts imports VfioDeviceFops from there.
export { VfioDeviceFops as VfioDeviceFdFile } from './device-fops.js';
