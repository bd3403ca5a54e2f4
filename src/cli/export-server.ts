// The vfio-user server as `serve` drives it: the one place src/cli touches src/vfio-user, behind a small
// interface, so a change in the server's API is a change here only.
import type { Logger } from '../base/log.js';
import type { VfioDevice } from '../vfio/vfio-device.js';
import { VfioProcess } from '../vfio/vfio-process.js';
import { VfioUserServer } from '../vfio-user/server.js';

export interface ExportServer {
  /** Listens on `socketPath` (which must not exist) and serves `device` to each client that connects. */
  export(device: VfioDevice, socketPath: string): Promise<void>;
  /** Stops listening and removes the socket file; connected clients stay until they leave. */
  unexport(device: VfioDevice): Promise<void>;
  /** Clients connected to `device` now. */
  clients(device: VfioDevice): number;
  /** Stops listening everywhere and disconnects every client. Safe to repeat. */
  close(): Promise<void>;
}

/** The vfio-user server: each connection runs as its own simulated process using the device's cdev. */
export function createExportServer(logger: Logger): ExportServer {
  const server = new VfioUserServer({ logger, createProcess: (h) => new VfioProcess(h) });
  return {
    export: (device, socketPath) => server.export(device, socketPath),
    unexport: (device) => {
      server.unexport(device);
      return Promise.resolve();
    },
    clients: (device) => server.connectionsOf(device).length,
    close: () => server.close(),
  };
}
