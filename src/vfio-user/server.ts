// The vfio-user server: exports registered VFIO devices on UNIX sockets; every accepted connection is a
// client process using its device (QEMU docs/interop/vfio-user.rst; libvfio-user's vfu_attach_ctx and
// vfu_run_ctx, with many devices and connections in one event loop).
import { existsSync, chmodSync, unlinkSync } from 'node:fs';
import { hostOf } from '../base/device.js';
import { silentLogger, type Logger } from '../base/log.js';
import * as native from '../native/index.js';
import { VfioError, check } from '../uapi/errno.js';
import type { VfioDevice } from '../vfio/vfio-device.js';
import { VfioProcess } from '../vfio/vfio-process.js';
import { Connection } from './connection.js';
import { DEFAULT_HOT_PATH, type ConnectionHost, type HotPathOptions } from './connection-host.js';
import type { DeviceProcessFactory } from './device-process.js';
import { DeviceUser } from './device-user.js';
import { commandTable, type CommandTable } from './handler.js';
import { deviceHandlers } from './handlers-device.js';
import { dmaHandlers } from './handlers-dma.js';
import { featureHandlers } from './handlers-feature.js';
import { regionHandlers } from './handlers-region.js';
import { versionHandlers } from './handlers-version.js';
import { DEFAULT_SERVER_LIMITS, type DmaRwLayout, type ServerCapabilityLimits } from './protocol/index.js';

/** How long close() lets clients read their last replies before cutting them off. */
const CLOSE_GRACE_MS = 1000;
/** A connection counts as active for busy-poll decisions this long after its last bytes. */
const ACTIVE_WINDOW_MS = 2;

/** The command table: command number -> handler, one file per command family. */
const HANDLERS: CommandTable = commandTable([versionHandlers, dmaHandlers, deviceHandlers, regionHandlers, featureHandlers]);

export interface VfioUserServerOptions {
  readonly logger?: Logger;
  /** Makes the process each connection runs as; a VfioProcess by default. */
  readonly createProcess?: DeviceProcessFactory;
  /** What VERSION offers at most (defaults: 16 fds, 1 MiB transfers, 65535 maps, write_multiple). */
  readonly limits?: Readonly<ServerCapabilityLimits>;
  /** Hot-path budgets and busy-poll window. */
  readonly hotPath?: Partial<HotPathOptions>;
  /**
   * DMA_READ/DMA_WRITE payload layout for clients that share memory without fds. 'qemu' (the default)
   * is what QEMU 10.x's vfio-user-pci speaks; 'spec' is the document's and libvfio-user's.
   */
  readonly dmaLayout?: DmaRwLayout;
  /**
   * Connections open at once, all devices together (default 1024) and per device (default 8: one client uses a
   * device, the others are refused with EBUSY after VERSION). A connection past either is closed at accept, with
   * a log line, so clients that connect and say nothing cannot take every fd of the server.
   */
  readonly maxConnections?: number;
  readonly maxConnectionsPerDevice?: number;
}

const DEFAULT_MAX_CONNECTIONS = 1024;
const DEFAULT_MAX_CONNECTIONS_PER_DEVICE = 8;

interface Export {
  readonly device: VfioDevice;
  readonly path: string;
  readonly listenFd: number;
  readonly watcher: native.FdWatcher;
}

export class VfioUserServer {
  readonly #log: Logger;
  readonly #createProcess: DeviceProcessFactory;
  readonly #exports = new Map<VfioDevice, Export>();
  readonly #connections = new Set<Connection>();
  readonly #host: ConnectionHost;
  #lastActive: Connection | undefined;
  #otherActiveAt = 0;
  #closing = false;
  #idle: (() => void) | undefined;
  readonly #maxConnections: number;
  readonly #maxPerDevice: number;
  /** Connections refused at accept since the last log line about it. */
  #refused = 0;

  constructor(opts: VfioUserServerOptions = {}) {
    this.#log = opts.logger ?? silentLogger;
    this.#createProcess = opts.createProcess ?? ((host) => new VfioProcess(host, { logger: this.#log }));
    this.#maxConnections = opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    this.#maxPerDevice = opts.maxConnectionsPerDevice ?? DEFAULT_MAX_CONNECTIONS_PER_DEVICE;
    this.#host = {
      logger: this.#log,
      hotPath: { ...DEFAULT_HOT_PATH, ...opts.hotPath },
      dmaLayout: opts.dmaLayout ?? 'qemu',
      limits: opts.limits ?? DEFAULT_SERVER_LIMITS,
      handlers: HANDLERS,
      openUser: (conn) => this.#openUser(conn),
      noteActivity: (conn) => this.#noteActivity(conn),
      mayBusyPoll: (conn, now) => this.#mayBusyPoll(conn, now),
      connectionClosed: (conn) => this.#connectionClosed(conn),
    };
  }

  /** Connections currently open. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Open connections of `device`. */
  connectionsOf(device: VfioDevice): Connection[] {
    return [...this.#connections].filter((c) => c.device === device);
  }

  /**
   * Listens for clients of `device` on `socketPath` (mode 0600). A stale socket file (no server behind it)
   * is replaced; a live one is EADDRINUSE, as is a device already exported.
   */
  async export(device: VfioDevice, socketPath: string): Promise<void> {
    check(!this.#closing, 'EINVAL', 'server is closing');
    check(!this.#exports.has(device), 'EADDRINUSE', 'device already exported');
    check(device.cdevPath !== null, 'ENODEV', 'device is not registered');
    if (existsSync(socketPath)) {
      let probe = -1;
      try {
        probe = native.unixConnect(socketPath);
      } catch (err) {
        if (!native.NativeError.is(err, 'ECONNREFUSED')) {
          if (native.NativeError.is(err, 'EAGAIN')) throw new VfioError('EADDRINUSE', `${socketPath} has a live server`);
          throw err;
        }
      }
      if (probe >= 0) {
        native.close(probe);
        throw new VfioError('EADDRINUSE', `${socketPath} has a live server`);
      }
      unlinkSync(socketPath); // stale: nobody listens
    }
    const listenFd = native.unixListen(socketPath);
    try {
      chmodSync(socketPath, 0o600);
    } catch (err) {
      native.close(listenFd);
      throw err;
    }
    const watcher = new native.FdWatcher(listenFd, () => this.#accept(device, listenFd));
    watcher.start(native.POLLIN);
    this.#exports.set(device, { device, path: socketPath, listenFd, watcher });
    this.#log.info({ device: device.name, socket: socketPath }, 'vfio-user: exported');
  }

  /** Stops accepting clients of `device` and removes its socket file; connected clients stay until they leave. */
  unexport(device: VfioDevice): void {
    const e = this.#exports.get(device);
    if (e === undefined) return;
    this.#exports.delete(device);
    e.watcher.close();
    native.close(e.listenFd); // balances unixListen in export
    try {
      unlinkSync(e.path);
    } catch {
      /* already gone */
    }
  }

  /** Stops listening, asks every client to leave (flush, then EOF) and resolves when all are gone. */
  async close(): Promise<void> {
    this.#closing = true;
    for (const d of [...this.#exports.keys()]) this.unexport(d);
    if (this.#connections.size === 0) return;
    const gone = new Promise<void>((resolve) => (this.#idle = resolve));
    for (const c of this.#connections) c.close();
    const timer = setTimeout(() => {
      for (const c of this.#connections) c.destroy(new Error('server closing'));
    }, CLOSE_GRACE_MS);
    await gone;
    clearTimeout(timer);
  }

  #accept(device: VfioDevice, listenFd: number): void {
    for (;;) {
      const fd = native.accept(listenFd);
      if (fd === -native.EAGAIN) return;
      if (fd < 0) {
        this.#log.warn({ errno: -fd }, 'vfio-user: accept failed');
        return;
      }
      if (this.#connections.size >= this.#maxConnections || this.connectionsOf(device).length >= this.#maxPerDevice) {
        native.close(fd);
        // One line per burst: a flood of connections must not become a flood of log lines.
        if (this.#refused++ === 0) {
          this.#log.warn(
            { device: device.name, open: this.#connections.size, maxConnections: this.#maxConnections, maxConnectionsPerDevice: this.#maxPerDevice },
            'vfio-user: connection refused: too many open connections',
          );
        }
        continue;
      }
      this.#refused = 0;
      const conn = new Connection(this.#host, device, fd, this.#host.limits.maxMsgFds);
      this.#connections.add(conn);
      this.#log.debug({ conn: conn.id, device: device.name }, 'vfio-user: client connected');
    }
  }

  #openUser(conn: Connection): DeviceUser {
    const path = conn.device.cdevPath;
    check(path !== null, 'ENODEV', 'device is being unregistered');
    // The process is the user's from here: DeviceUser.close (at disconnect) ends it.
    return DeviceUser.open(this.#createProcess(hostOf(conn.device)), path);
  }

  #noteActivity(conn: Connection): void {
    if (conn !== this.#lastActive) {
      this.#otherActiveAt = performance.now();
      this.#lastActive = conn;
    }
  }

  /** Busy polling is for a connection that has the server to itself: never while another is active. */
  #mayBusyPoll(conn: Connection, now: number): boolean {
    return conn === this.#lastActive && now - this.#otherActiveAt > ACTIVE_WINDOW_MS;
  }

  #connectionClosed(conn: Connection): void {
    this.#connections.delete(conn);
    if (this.#lastActive === conn) this.#lastActive = undefined;
    this.#log.debug({ conn: conn.id }, 'vfio-user: client gone');
    if (this.#connections.size === 0 && this.#idle !== undefined) {
      const idle = this.#idle;
      this.#idle = undefined;
      idle();
    }
  }
}
