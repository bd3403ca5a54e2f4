// The vfio-user surface (QEMU docs/interop/vfio-user.rst): a server that exports devices to VMMs, a client
// that drives one, and the wire codec for those who speak the protocol themselves.
export { VfioUserServer } from './server.js';
export type { VfioUserServerOptions } from './server.js';
export { VfioUserClient } from './client.js';
export type { VfioUserClientOptions } from './client.js';
export * as protocol from './protocol/index.js';
export { MigrationError, migrateDevice } from './migrate.js';
export type { MigrateOptions, MigrationMemory, MigrationProgress, MigrationResult } from './migrate.js';
export * as migration from './client-migration.js';
