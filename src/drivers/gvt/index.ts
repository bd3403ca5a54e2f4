// The gvt driver's public surface: its registry descriptor, the module init, the vGPU device and its types.
export { driver, gvtMdevDriver, gvtRegister } from './gvt-driver.js';
export type { GvtIgdPlacement } from './gvt-driver.js';
export { GvtVgpu, gvtOf, gvtVgpuCreate, gvtVgpuOps } from './vgpu.js';
export { gvtGetDmabuf, gvtPlaneInfo, gvtQueryPlane, gvtScreenshot } from './vgpu-dmabuf.js';
export { IntelGvt } from './gvt-resources.js';
export type { GvtVgpuResources } from './gvt-resources.js';
export { GvtVgpuMmio } from './vgpu-mmio.js';
export { gvtBuildOpregion, OPREGION_SIGNATURE } from './opregion.js';
export * from './gvt-defs.js';
export { I915Gpu } from '../../hw/i915/i915-gpu.js';
export type { I915GpuOptions } from '../../hw/i915/i915-gpu.js';
