// The uAPI surface in one import: errno, ioctl numbers, and every struct codec (include/uapi/linux/vfio.h, iommufd.h).
export * from './errno.js';
export * from './ioctl.js';
export * from './caps.js';
export * from './group.js';
export * from './device-info.js';
export * from './region-info.js';
export * from './region-caps.js';
export * from './irq-info.js';
export * from './irq-set.js';
export * from './reset-info.js';
export * from './gfx-plane.js';
export * from './ioeventfd.js';
export * from './feature.js';
export * from './feature-payloads.js';
export * from './migration.js';
export * from './iommu-type1.js';
export * from './iommufd.js';
