// The one place the CLI touches the layers it serves: the sample mdev parents (src/mdev, src/drivers), the
// vfio-user server (src/vfio-user) and the display drivers' screenshots. Everything else in src/cli goes
// through the small interfaces below, so a change in those layers' APIs is a change here only.
import type { Host } from '../base/host.js';
import type { Logger } from '../base/log.js';
import type { MdevDriver, MdevParent } from '../mdev/mdev-objects.js';
import { mdevVfioDriver } from '../mdev/mdev-vfio.js';
import { mdevRegisterSample } from '../mdev/sample-parent.js';
import type { MdevSample } from '../mdev/sample-parent.js';
import { MdpyState, mdpyRegister, screenshot as mdpyScreenshot } from '../drivers/mdpy/index.js';
import { MbochsState, mbochsRegister, screenshot as mbochsScreenshot } from '../drivers/mbochs/index.js';
import { MTTY_TYPES, mttyAvailableInstances, mttyCreate, mttyType } from '../drivers/mtty/index.js';
import type { MttyBackendSpec } from '../drivers/mtty/index.js';
import type { VfioDevice } from '../vfio/vfio-device.js';
import { VfioError } from '../uapi/errno.js';
import { VfioProcess } from '../vfio/vfio-process.js';
import { VfioUserServer } from '../vfio-user/server.js';
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

/**
 * Registers the sample mdev parents and their drivers on `host` (each sample module's init), unwinding on
 * failure.
 */
export function registerSampleParents(host: Host, opts: SampleParentOptions): SampleParents {
  const samples: MdevSample[] = [];
  try {
    samples.push(mdevRegisterSample(host, 'mtty', mttyDriver(host, opts), MTTY_TYPES));
    samples.push(mdpyRegister(host));
    samples.push(mbochsRegister(host));
  } catch (err) {
    void Promise.all(samples.reverse().map((x) => x.unregister()));
    throw err;
  }
  return {
    parents: samples.map((x) => x.parent),
    unregister: async () => {
      // Module exits run in reverse order of init.
      for (const x of [...samples].reverse()) await x.unregister();
    },
  };
}

/** mtty's mdev driver (mtty.c mtty_driver): the shared port budget decides available instances. */
function mttyDriver(host: Host, opts: SampleParentOptions): MdevDriver {
  return mdevVfioDriver({
    name: 'vfio_mtty',
    getAvailable: (type) => mttyAvailableInstances(host, mttyType(type.sysfsName)),
    create: (mdev, type) =>
      mttyCreate(mdev, mttyType(type.sysfsName).sysfsName, {
        backends: Array.from({ length: MTTY_MAX_PORTS_PER_DEVICE }, (_, i) => toMttyBackend(opts.portBackend(mdev.uuid, i))),
      }),
  });
}

/** An mtty card has at most two ports (type "2"). */
const MTTY_MAX_PORTS_PER_DEVICE = 2;

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
  if (device instanceof MdpyState) return mdpyScreenshot(device);
  // ENODATA (with the reason) while the guest has not set a mode.
  if (device instanceof MbochsState) return mbochsScreenshot(device);
  throw new VfioError('EINVAL', `${device.name} (${device.ops?.name ?? '?'}) has no display to take a screenshot of`);
}
