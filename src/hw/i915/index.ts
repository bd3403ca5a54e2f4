// The simulated Intel GPU: the PCI function, its display engine and register numbers.
export { I915Gpu, dwordAccess } from './i915-gpu.js';
export type { I915GpuOptions, I915GpuStateRecord } from './i915-gpu.js';
export { I915Display } from './display-engine.js';
export type { I915DisplayRecord, I915PlaneDecode, I915PlaneInfo } from './display-engine.js';
export * from './i915-regs.js';
