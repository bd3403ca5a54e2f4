// struct bus_type (drivers/base/bus.c): `/sys/bus/<name>/{devices,drivers}`, membership and matching.
// Binding (probe, release) is dd.ts, above this file: device_add/device_del in device.ts call both in turn.
import type { Host } from './host.js';
import type { Device } from './device.js';
import type { Driver } from './driver.js';
import type { SysfsAttrTable, SysfsDir, SysfsLink } from './sysfs.js';
import { VfioError } from '../uapi/errno.js';

export interface BusOps {
  /** Whether `drv` can drive `dev` (driver_override is checked before this). */
  match(dev: Device, drv: Driver): boolean;
}

/** What a bus notifier hears (BUS_NOTIFY_ADD_DEVICE: a device joined the bus, before any driver probes it). */
export type BusNotifyAction = 'add-device';
/** A bus notifier callback (struct notifier_block on bus->p->bus_notifier). */
export type BusNotifier = (action: BusNotifyAction, dev: Device) => void;

export class Bus {
  readonly devices = new Set<Device>();
  /** bus_register_notifier() adds here; busAddDevice calls each. */
  readonly notifiers = new Set<BusNotifier>();
  readonly drivers = new Map<string, Driver>();
  readonly links = new Map<Device, SysfsLink>();

  constructor(
    readonly name: string,
    readonly ops: BusOps,
    readonly host: Host,
    readonly devicesDir: SysfsDir,
    readonly driversDir: SysfsDir,
  ) {}

  /** Finds a member device by name (bus_find_device_by_name). */
  find(name: string): Device | undefined {
    for (const d of this.devices) if (d.name === name) return d;
    return undefined;
  }
}

/** Attributes every device on a bus shows. */
const busDeviceAttrs: SysfsAttrTable<Device> = Object.freeze({
  driver_override: {
    show: (dev: Device) => `${dev.driverOverride ?? '(null)'}\n`,
    store: (dev: Device, value: string) => {
      const v = value.replace(/\n$/, '');
      if (v.length >= 4096) throw new VfioError('EINVAL', 'driver_override too long');
      dev.driverOverride = v === '' ? null : v;
    },
  },
});

/** bus_register(). */
export function busRegister(host: Host, name: string, ops: BusOps): Bus {
  if (host.buses.has(name)) throw new VfioError('EEXIST', `bus '${name}' exists`);
  const dir = host.sysfs.mkdir(host.busDir, name, null);
  const bus = new Bus(name, ops, host, host.sysfs.mkdir(dir, 'devices', null), host.sysfs.mkdir(dir, 'drivers', null));
  host.buses.set(name, bus);
  return bus;
}

/** The match rule with driver_override first (device_match_driver_override). */
export function busMatch(dev: Device, drv: Driver): boolean {
  if (dev.driverOverride !== null) return dev.driverOverride === drv.name;
  return drv.bus.ops.match(dev, drv);
}

/** bus_add_device(): joins the bus (the caller probes for a driver next). Returns whether it joined. */
export function busAddDevice(dev: Device): boolean {
  const bus = dev.bus;
  if (bus === null || dev.kobj === null) return false;
  bus.host.sysfs.addAttrs(dev.kobj, busDeviceAttrs);
  bus.links.set(dev, bus.host.sysfs.symlink(bus.devicesDir, dev.name, dev.kobj));
  bus.devices.add(dev);
  for (const nb of bus.notifiers) nb('add-device', dev);
  return true;
}

/** Whether `dev` is a member of its bus (added and not yet removed). */
export function busHasDevice(dev: Device): boolean {
  return dev.bus !== null && dev.bus.devices.has(dev);
}

/** bus_remove_device(): leaves the bus; the caller released the driver first. */
export function busRemoveDevice(dev: Device): void {
  const bus = dev.bus;
  if (bus === null || !bus.devices.has(dev)) return;
  bus.devices.delete(dev);
  const link = bus.links.get(dev);
  if (link) bus.host.sysfs.remove(link);
  bus.links.delete(dev);
  if (dev.kobj !== null) bus.host.sysfs.removeAttrs(dev.kobj, busDeviceAttrs);
}
