// The vfio-user wire protocol codec: header, framer and one module per command family.
export * from './header.js';
export * from './message.js';
export * from './framer.js';
export * from './version.js';
export * from './dma.js';
export * from './region.js';
export * from './device-info.js';
export * from './feature.js';
export * from './migration.js';
export * from './dma-logging.js';
