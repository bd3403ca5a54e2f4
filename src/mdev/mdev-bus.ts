// The mdev bus and mdev drivers on it (drivers/vfio/mdev/mdev_driver.c): no automatic matching, probe and
// remove forwarded to the mdev_driver; the asynchronous half of remove is kept until someone awaits it.
import { busRegister } from '../base/bus.js';
import type { Bus } from '../base/bus.js';
import type { Device } from '../base/device.js';
import { driverRegister, driverUnregister } from '../base/driver.js';
import type { Driver } from '../base/driver.js';
import type { Host } from '../base/host.js';
import { VfioError } from '../uapi/errno.js';
import { MdevDevice } from './mdev-objects.js';
import type { MdevDriver } from './mdev-objects.js';

interface MdevBusState {
  readonly bus: Bus;
  readonly drivers: Map<MdevDriver, Driver>;
}

const buses = new WeakMap<Host, MdevBusState>();
/** The unfinished asynchronous part of a driver's remove, per mdev (settled promises are dropped). */
const pendingRemovals = new WeakMap<MdevDevice, Promise<void>>();

function busState(host: Host): MdevBusState {
  let s = buses.get(host);
  if (s === undefined) {
    // No driver matches by itself: mdev_device_create binds the parent's driver explicitly.
    s = { bus: busRegister(host, 'mdev', { match: () => false }), drivers: new Map() };
    buses.set(host, s);
  }
  return s;
}

/** The host's mdev bus (`/sys/bus/mdev`), registered on first use (mdev_init). */
export function mdevBus(host: Host): Bus {
  return busState(host).bus;
}

function toMdev(dev: Device): MdevDevice {
  if (!(dev instanceof MdevDevice)) throw new Error(`'${dev.name}' on the mdev bus is not an mdev`);
  return dev;
}

/** mdev_register_driver(): the driver appears in `/sys/bus/mdev/drivers/<name>`. EBUSY if the name is taken. */
export function mdevRegisterDriver(host: Host, drv: MdevDriver): void {
  const s = busState(host);
  if (s.drivers.has(drv)) throw new VfioError('EBUSY', `mdev driver '${drv.name}' is already registered`);
  const driver = driverRegister(s.bus, drv.name, {
    probe: (dev) => drv.probe(toMdev(dev)),
    remove: (dev) => {
      const mdev = toMdev(dev);
      const done = drv.remove(mdev);
      if (done === undefined) return;
      // The bus's remove cannot wait: whoever removes the mdev awaits this (mdevRemove does).
      const tracked = done.then(
        () => {
          if (pendingRemovals.get(mdev) === tracked) pendingRemovals.delete(mdev);
        },
        (err: unknown) => {
          if (pendingRemovals.get(mdev) === tracked) pendingRemovals.delete(mdev);
          host.logger.error({ driver: drv.name, err: String(err) }, 'mdev remove failed');
        },
      );
      pendingRemovals.set(mdev, tracked);
    },
  });
  s.drivers.set(drv, driver);
}

/** mdev_unregister_driver(): unbinds every mdev still bound (their removals finish asynchronously). */
export function mdevUnregisterDriver(host: Host, drv: MdevDriver): void {
  const s = buses.get(host);
  const driver = s?.drivers.get(drv);
  if (s === undefined || driver === undefined) throw new VfioError('ENODEV', `mdev driver '${drv.name}' is not registered`);
  driverUnregister(driver);
  s.drivers.delete(drv);
}

/** The base driver a registered mdev driver became on `host`, if any. */
export function mdevDriverOf(host: Host, drv: MdevDriver): Driver | undefined {
  return buses.get(host)?.drivers.get(drv);
}

/** Resolves once the driver's remove of `mdev` (if one is under way) has finished; never rejects. */
export function mdevPendingRemoval(mdev: MdevDevice): Promise<void> {
  return pendingRemovals.get(mdev) ?? Promise.resolve();
}
