// The one place the CLI touches the layers it serves: the sample mdev parents (src/mdev, src/drivers), the
// vfio-user server (src/vfio-user) and the display drivers' screenshots. Everything else in src/cli goes
// through the small interfaces below, so a change in those layers' APIs is a change here only.
import type { Host } from '../base/host.js';
import type { Logger } from '../base/log.js';
import type { MdevParent } from '../mdev/mdev-objects.js';
import { Device, deviceRegister, deviceUnregister } from '../base/device.js';
import { classRegister } from '../base/class.js';
import { mdevRegisterDriver, mdevRegisterParent, mdevUnregisterDriver, mdevUnregisterParent, mdevVfioDriver } from '../mdev/index.js';
import { MTTY_TYPES, mttyAvailableInstances, mttyCreate, mttyType } from '../drivers/mtty/index.js';
import type { MttyBackendSpec } from '../drivers/mtty/index.js';
import type { VfioDevice } from '../vfio/vfio-device.js';
import { VfioError } from '../uapi/errno.js';
import type { PortBackendSpec } from './config.js';
import { VfioUserServer } from '../vfio-user/server.js';
import { VfioProcess } from '../vfio/vfio-process.js';

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
  // Provisional until src/mdev's sample-parent helper lands: mtty only, as samples/vfio-mdev/mtty.c sets it up
  // (a class "mtty" and a virtual device "mtty" as the parent, types mtty-1 and mtty-2 on a shared budget).
  const cls = classRegister(host, 'mtty');
  const dev = new Device();
  dev.name = 'mtty';
  dev.class = cls;
  // Nothing to free: the parent is plain state, dropped with the host.
  dev.release = () => {};
  deviceRegister(dev, host);
  const driver = mdevVfioDriver({
    name: 'vfio_mtty',
    getAvailable: (type) => mttyAvailableInstances(host, mttyType(type.sysfsName)),
    create: (mdev, type) =>
      mttyCreate(mdev, mttyType(type.sysfsName).sysfsName, {
        backends: [0, 1].map((i) => toMttyBackend(opts.portBackend(mdev.uuid, i))),
      }),
  });
  mdevRegisterDriver(host, driver);
  const parent = mdevRegisterParent(host, dev, driver, MTTY_TYPES);
  return {
    parents: [parent],
    unregister: async () => {
      await mdevUnregisterParent(parent);
      mdevUnregisterDriver(host, driver);
      deviceUnregister(dev);
    },
  };
}

function toMttyBackend(spec: PortBackendSpec): MttyBackendSpec {
  switch (spec.kind) {
    case 'loopback':
    case 'stdio':
      return spec.kind;
    case 'unix':
      return { unix: spec.path };
    case 'tcp':
      return { tcp: spec.port };
  }
}

/** The vfio-user server for `host`: each connection runs as its own simulated process using the device's cdev. */
export function createExportServer(host: Host, logger: Logger): ExportServer {
  const server = new VfioUserServer({ logger, createProcess: (h) => new VfioProcess(h) });
  void host;
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

/** A PNG of the device's current scanout (mdpy, mbochs); EINVAL for a device without a display. */
export function screenshotPng(device: VfioDevice): Buffer {
  void device;
  throw new VfioError('ENOSYS', 'screenshots are not available in this build');
}
