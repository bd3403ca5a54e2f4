// struct device_driver (drivers/base/driver.c): registration and the bind/unbind sysfs files.
import type { Device } from './device.js';
import type { Bus } from './bus.js';
import type { SysfsAttrTable, SysfsDir } from './sysfs.js';
import { deviceBind, deviceReleaseDriver, driverAttach } from './dd.js';
import { VfioError } from '../uapi/errno.js';

export interface DriverOps {
  /** Called to bind `dev`; throw (a VfioError) to refuse it. */
  probe(dev: Device): void;
  /**
   * Opposite of probe. A remove that must wait (for users of what the driver exported) returns a promise; the
   * device's drvdata stays until it settles.
   */
  remove?(dev: Device): void | Promise<void>;
}

export class Driver {
  readonly devices = new Set<Device>();
  dir: SysfsDir<Driver> | null = null;

  constructor(
    readonly name: string,
    readonly bus: Bus,
    readonly ops: DriverOps,
  ) {}
}

const driverAttrs: SysfsAttrTable<Driver> = Object.freeze({
  bind: {
    show: () => '',
    store: (drv: Driver, value: string) => {
      const dev = drv.bus.find(value.trim());
      if (dev === undefined) throw new VfioError('ENODEV', `no device '${value.trim()}' on ${drv.bus.name}`);
      deviceBind(drv, dev);
    },
  },
  unbind: {
    show: () => '',
    store: (drv: Driver, value: string) => {
      const dev = drv.bus.find(value.trim());
      if (dev === undefined || dev.driver !== drv) throw new VfioError('ENODEV', `'${value.trim()}' is not bound to ${drv.name}`);
      deviceReleaseDriver(dev);
    },
  },
});

/** driver_register(): adds the driver and binds every matching unbound device. */
export function driverRegister(bus: Bus, name: string, ops: DriverOps): Driver {
  if (bus.drivers.has(name)) throw new VfioError('EBUSY', `driver '${name}' is already registered on ${bus.name}`);
  const drv = new Driver(name, bus, ops);
  drv.dir = bus.host.sysfs.mkdir(bus.driversDir, name, drv, driverAttrs);
  bus.drivers.set(name, drv);
  driverAttach(drv);
  return drv;
}

/** driver_unregister(): unbinds every device, then removes the driver. */
export function driverUnregister(drv: Driver): void {
  for (const dev of [...drv.devices]) deviceReleaseDriver(dev);
  drv.bus.drivers.delete(drv.name);
  if (drv.dir !== null) drv.bus.host.sysfs.remove(drv.dir);
  drv.dir = null;
}
