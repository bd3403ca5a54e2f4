// The vfio-user server as `serve` drives it: the one place src/cli touches src/vfio-user, behind a small
// interface, so a change in the server's API is a change here only; and the socket each device is exported on.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from '../base/log.js';
import type { VfioDevice } from '../vfio/vfio-device.js';
import { VfioProcess } from '../vfio/vfio-process.js';
import { VfioUserServer } from '../vfio-user/server.js';
import { DEFAULT_HOT_PATH } from '../vfio-user/connection-host.js';
import type { VfioUserTuning } from './config.js';
import { prepareSocketPath } from './socket-files.js';

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

/**
 * The vfio-user server: each connection runs as its own simulated process using the device's cdev. `tuning` is
 * the config's `vfioUser` (a pollMaxNs below the default lower bound lowers that bound with it).
 */
export function createExportServer(logger: Logger, tuning: VfioUserTuning = {}): ExportServer {
  const hotPath = { ...tuning };
  if (hotPath.pollMaxNs !== undefined && hotPath.pollMinNs === undefined) hotPath.pollMinNs = Math.min(DEFAULT_HOT_PATH.pollMinNs, hotPath.pollMaxNs);
  const server = new VfioUserServer({ logger, createProcess: (h) => new VfioProcess(h), hotPath });
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

/** The devices `serve` exports, each on its socket. */
export class DeviceExports {
  readonly #server: ExportServer;
  readonly #log: Logger;
  /** Socket path per exported VFIO device. */
  readonly #sockets = new Map<VfioDevice, string>();

  constructor(log: Logger, tuning: VfioUserTuning = {}) {
    this.#log = log;
    this.#server = createExportServer(log, tuning);
  }

  /** Exports `vdev` on a vfio-user socket (a stale socket file there is replaced). */
  async export(vdev: VfioDevice, socketPath: string): Promise<void> {
    await prepareSocketPath(socketPath, this.#log);
    await this.#server.export(vdev, socketPath);
    this.#sockets.set(vdev, socketPath);
    this.#log.info({ device: vdev.name, socket: socketPath }, 'device exported');
  }

  /** Stops exporting `vdev` (its socket goes; connected clients stay until they leave). */
  async unexport(vdev: VfioDevice): Promise<void> {
    if (!this.#sockets.has(vdev)) return;
    this.#sockets.delete(vdev);
    await this.#server.unexport(vdev);
  }

  /** Every exported device. */
  devices(): VfioDevice[] {
    return [...this.#sockets.keys()];
  }

  socketOf(vdev: VfioDevice): string | null {
    return this.#sockets.get(vdev) ?? null;
  }

  clients(vdev: VfioDevice): number {
    return this.#server.clients(vdev);
  }

  /** `<runDir>/<prefix><n>.sock` with the lowest n no export uses and no file occupies. */
  nextSocketPath(runDir: string, prefix: string): string {
    const used = new Set(this.#sockets.values());
    for (let n = 0; ; n++) {
      const p = resolve(runDir, `${prefix}${n}.sock`);
      if (!used.has(p) && !existsSync(p)) return p;
    }
  }

  /** Stops listening everywhere and disconnects every client. Safe to repeat. */
  close(): Promise<void> {
    return this.#server.close();
  }
}
