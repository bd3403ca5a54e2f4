// Device-driver binding (drivers/base/dd.c): probe on add, bind/unbind by hand, release on removal.
import type { Device } from './device.js';
import type { Driver } from './driver.js';
import { busMatch } from './bus.js';
import { VfioError } from '../uapi/errno.js';

function reallyProbe(dev: Device, drv: Driver): void {
  dev.driver = drv;
  try {
    drv.ops.probe(dev);
  } catch (err) {
    dev.driver = null;
    throw err;
  }
  drv.devices.add(dev);
  if (dev.kobj !== null && drv.dir !== null) {
    drv.bus.host.sysfs.symlink(dev.kobj, 'driver', drv.dir);
    drv.bus.host.sysfs.symlink(drv.dir, dev.name, dev.kobj);
  }
}

/** device_attach(): binds the first matching driver whose probe accepts. Probe failures are logged, not thrown. */
export function deviceAttach(dev: Device): boolean {
  const bus = dev.bus;
  if (bus === null || dev.driver !== null) return dev.driver !== null;
  for (const drv of bus.drivers.values()) {
    if (!busMatch(dev, drv)) continue;
    try {
      reallyProbe(dev, drv);
      return true;
    } catch (err) {
      bus.host.logger.debug({ device: dev.name, driver: drv.name, err: String(err) }, 'probe failed');
    }
  }
  return false;
}

/** driver_attach(): offers every unbound device on the bus to a new driver. */
export function driverAttach(drv: Driver): void {
  for (const dev of drv.bus.devices) {
    if (dev.driver !== null || !busMatch(dev, drv)) continue;
    try {
      reallyProbe(dev, drv);
    } catch (err) {
      drv.bus.host.logger.debug({ device: dev.name, driver: drv.name, err: String(err) }, 'probe failed');
    }
  }
}

/** The sysfs `bind` file: EBUSY if bound, ENODEV if the driver does not match; probe errors propagate. */
export function deviceBind(drv: Driver, dev: Device): void {
  if (dev.driver !== null) throw new VfioError('EBUSY', `${dev.name} is bound to ${dev.driver.name}`);
  if (!busMatch(dev, drv)) throw new VfioError('ENODEV', `${drv.name} does not match ${dev.name}`);
  reallyProbe(dev, drv);
}

/**
 * device_release_driver(): the sysfs links go, remove runs, then (device_unbind_cleanup) drvdata is cleared: only
 * once an asynchronous remove has finished, since the kernel's remove blocks and clears it after returning. A new
 * driver bound meanwhile keeps its own drvdata.
 */
export function deviceReleaseDriver(dev: Device): void {
  const drv = dev.driver;
  if (drv === null) return;
  drv.bus.host.sysfs.removeChild(dev.kobj, 'driver');
  drv.bus.host.sysfs.removeChild(drv.dir, dev.name);
  const done = drv.ops.remove?.(dev);
  drv.devices.delete(dev);
  dev.driver = null;
  if (!(done instanceof Promise)) {
    dev.driverData = null;
    return;
  }
  const data = dev.driverData;
  const cleanup = (): void => {
    if (dev.driverData === data) dev.driverData = null;
  };
  // The remove's failure is its caller's to report (the bus tracks the promise); drvdata goes either way.
  done.then(cleanup, cleanup);
}
