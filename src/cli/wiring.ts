// The one place the CLI touches the layers it serves: the sample mdev parents (src/mdev, src/drivers), the
// vfio-user server (src/vfio-user) and the display drivers' screenshots. Everything else in src/cli goes
// through the small interfaces below, so a change in those layers' APIs is a change here only.
import type { Host } from '../base/host.js';
import type { Logger } from '../base/log.js';
import type { MdevParent } from '../mdev/mdev-objects.js';
import type { VfioDevice } from '../vfio/vfio-device.js';
import { VfioError } from '../uapi/errno.js';
import type { PortBackendSpec } from './config.js';

/** The vfio-user server as `serve` drives it. */
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

/** The sample parents (mtty, mdpy, mbochs) registered on a host. */
export interface SampleParents {
  readonly parents: readonly MdevParent[];
  /** Removes every mdev left (waiting for their users), then the parents. */
  unregister(): Promise<void>;
}

export interface SampleParentOptions {
  /** mtty: how port `port` of the mdev named `uuid` talks to the outside; loopback unless set. */
  readonly portBackend: (uuid: string, port: number) => PortBackendSpec;
}

/** Registers the sample mdev parents and their drivers on `host`. */
export function registerSampleParents(host: Host, opts: SampleParentOptions): SampleParents {
  void host;
  void opts;
  throw new VfioError('ENOSYS', 'the sample mdev parents are not available in this build');
}

/** The vfio-user server for `host`. */
export function createExportServer(host: Host, logger: Logger): ExportServer {
  void host;
  void logger;
  throw new VfioError('ENOSYS', 'the vfio-user server is not available in this build');
}

/** A PNG of the device's current scanout (mdpy, mbochs); EINVAL for a device without a display. */
export function screenshotPng(device: VfioDevice): Buffer {
  void device;
  throw new VfioError('ENOSYS', 'screenshots are not available in this build');
}
