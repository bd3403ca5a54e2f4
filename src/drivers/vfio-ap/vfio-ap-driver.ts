// vfio_ap's module init/exit and registry descriptor (drivers/s390/crypto/vfio_ap_drv.c vfio_ap_init/exit,
// vfio_ap_matrix_dev_create, vfio_ap_mdev_register): the simulated machine and its ap bus with the host's default
// drivers, the matrix device `/sys/devices/vfio_ap/matrix` on the `matrix` bus bound to its `vfio_ap` driver, the
// vfio_ap queue driver on the ap bus, and the mdev parent with the type `passthrough` (vfio_ap-passthrough).
import { busRegister } from '../../base/bus.js';
import { Device, deviceRegister, deviceUnregister } from '../../base/device.js';
import { driverRegister, driverUnregister } from '../../base/driver.js';
import type { Host } from '../../base/host.js';
import { ApMachine } from '../../hw/ap/ap-machine.js';
import { apBusExit, apBusInit, apDriverRegister, apDriverUnregister } from '../../hw/ap/ap-bus.js';
import { zcryptRegisterDefaultDrivers } from '../../hw/ap/zcrypt-drivers.js';
import { mdevRegisterDriver, mdevUnregisterDriver } from '../../mdev/mdev-bus.js';
import type { MdevDevice, MdevDriver, MdevParent } from '../../mdev/mdev-objects.js';
import { mdevRegisterParent, mdevUnregisterParent } from '../../mdev/mdev-parent.js';
import { mdevVfioDevice } from '../../mdev/mdev-vfio.js';
import { VfioError } from '../../uapi/errno.js';
import { VFIO_DEVICE_API_AP_STRING } from '../../uapi/device-info.js';
import { allocDevice, putVfioDevice } from '../../vfio/vfio-device.js';
import { registerEmulatedIommuDev, unregisterGroupDev } from '../../vfio/registration.js';
import type { DriverParams, VfioDriverDescriptor, VfioDriverModule } from '../descriptor.js';
import { parseParams } from '../params.js';
import { MatrixDev, VFIO_AP_MAX_INSTANCES, vfioApQueueDriver } from './matrix-dev.js';
import { ApMatrixMdev, vfioApMdevResetQueues } from './matrix-mdev.js';
import { vfioApMatrixDevOps } from './matrix-ops.js';
import { vfioApMdevAttrs } from './mdev-attrs.js';
import { VFIO_AP_DEFAULT_APMASK, VFIO_AP_DEFAULT_CARDS, VFIO_AP_DEFAULT_DOMAINS, vfioApConfigKeys, vfioApModuleOptions } from './vfio-ap-params.js';
import type { VfioApModuleOptions } from './vfio-ap-params.js';

/** The loaded module: what it registered. */
export interface VfioApModule extends VfioDriverModule {
  readonly machine: ApMachine;
  readonly matrixDev: MatrixDev;
  readonly parent: MdevParent;
}

/** vfio_ap_mdev_probe(): alloc (init builds the matrices), register, then join the mdev list with the sysfs files. */
function probe(mdev: MdevDevice): void {
  const m = allocDevice(ApMatrixMdev, mdev, vfioApMatrixDevOps);
  try {
    registerEmulatedIommuDev(m);
  } catch (err) {
    // Balances allocDevice: release runs.
    putVfioDevice(m);
    throw err;
  }
  mdev.driverData = m;
  m.matrixDev?.mdevs.add(m);
  if (mdev.kobj !== null) mdev.host?.sysfs.addAttrs(mdev.kobj, vfioApMdevAttrs);
}

/** vfio_ap_mdev_remove(): unregister (waiting for users), reset and unlink the queues, leave the list, put last. */
async function remove(mdev: MdevDevice): Promise<void> {
  const m = mdevVfioDevice(mdev);
  if (!(m instanceof ApMatrixMdev)) return;
  if (mdev.kobj !== null) mdev.host?.sysfs.removeAttrs(mdev.kobj, vfioApMdevAttrs);
  await unregisterGroupDev(m);
  await vfioApMdevResetQueues(m);
  for (const q of m.qtable.values()) q.matrixMdev = null;
  m.qtable.clear();
  m.matrixDev?.mdevs.delete(m);
  // Balances allocDevice in probe: release runs, and nothing touches m after it.
  putVfioDevice(m);
}

const vfioApMatrixDriver: MdevDriver = Object.freeze({
  name: 'vfio_ap_mdev',
  deviceApi: VFIO_DEVICE_API_AP_STRING,
  maxInstances: VFIO_AP_MAX_INSTANCES,
  probe,
  remove,
});

/** vfio_ap_init(): the machine of `opts` and everything on it; the module's unregister is vfio_ap_exit. */
export function vfioApRegister(host: Host, opts: VfioApModuleOptions = {}): VfioApModule {
  const undo: (() => void)[] = [];
  try {
    const machine = new ApMachine({ cards: opts.cards ?? VFIO_AP_DEFAULT_CARDS, domains: opts.domains ?? VFIO_AP_DEFAULT_DOMAINS });
    apBusInit(host, machine, { apmask: opts.apmask ?? VFIO_AP_DEFAULT_APMASK, ...(opts.aqmask !== undefined ? { aqmask: opts.aqmask } : {}) });
    undo.push(() => apBusExit(host));
    const zcrypt = zcryptRegisterDefaultDrivers(host);
    undo.push(() => zcrypt.unregister());
    // vfio_ap_matrix_dev_create(): root device, the matrix bus and its vfio_ap driver, the matrix device.
    const root = new Device();
    root.name = 'vfio_ap';
    root.release = () => {};
    deviceRegister(root, host);
    undo.push(() => deviceUnregister(root));
    const matrixBus = busRegister(host, 'matrix', { match: (dev) => dev instanceof MatrixDev });
    undo.push(() => {
      // No bus_unregister in the base core: the empty bus's directory and entry go.
      const dir = host.sysfs.lookup('/bus/matrix');
      if (dir !== undefined) host.sysfs.remove(dir);
      host.buses.delete('matrix');
    });
    const matrixDriver = driverRegister(matrixBus, 'vfio_ap', { probe: () => {} });
    undo.push(() => driverUnregister(matrixDriver));
    const md = new MatrixDev(machine, machine.config());
    md.parent = root;
    md.bus = matrixBus;
    md.release = () => {};
    deviceRegister(md, host);
    undo.push(() => deviceUnregister(md));
    const queueDriver = apDriverRegister(host, vfioApQueueDriver(md));
    undo.push(() => apDriverUnregister(host, queueDriver));
    mdevRegisterDriver(host, vfioApMatrixDriver);
    undo.push(() => mdevUnregisterDriver(host, vfioApMatrixDriver));
    const parent = mdevRegisterParent(host, md, vfioApMatrixDriver, [{ sysfsName: 'passthrough', prettyName: 'VFIO AP Passthrough Device' }]);
    let exiting: Promise<void> | null = null;
    return {
      name: 'vfio-ap',
      machine,
      matrixDev: md,
      parent,
      parents: () => [parent],
      unregister(): Promise<void> {
        exiting ??= (async () => {
          await mdevUnregisterParent(parent);
          // Balances every step above, in reverse.
          for (const u of undo.reverse()) u();
          // The queues' removes ran above; their resets end before the module is gone.
          await Promise.all([...md.removing]);
        })();
        return exiting;
      },
    };
  } catch (err) {
    for (const u of undo.reverse()) u();
    throw err;
  }
}

/** The registry's entry for vfio-ap. */
export const driver: VfioDriverDescriptor = Object.freeze({
  name: 'vfio-ap',
  bus: 'mdev',
  summary: 's390 crypto adapters x domains (AP queues) passed through as a matrix mdev (drivers/s390/crypto/vfio_ap_ops.c)',
  config: vfioApConfigKeys,
  module: { shape: () => vfioApModuleOptions.shape },
  register: (host: Host, options: DriverParams) => {
    const opts = parseParams(vfioApModuleOptions, options, 'vfio-ap module');
    try {
      return vfioApRegister(host, opts);
    } catch (err) {
      if (err instanceof RangeError) throw new VfioError('EINVAL', `vfio-ap module: ${err.message}`);
      throw err;
    }
  },
});
