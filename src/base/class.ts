// struct class (drivers/base/class.c): `/sys/class/<name>/` with a link per member device.
import type { Host } from './host.js';
import type { SysfsDir } from './sysfs.js';

export class DeviceClass {
  constructor(
    readonly name: string,
    readonly dir: SysfsDir,
  ) {}
}

/** class_register(); registering a name twice returns the existing class (a subsystem's init is idempotent). */
export function classRegister(host: Host, name: string): DeviceClass {
  const existing = host.classes.get(name);
  if (existing) return existing;
  const cls = new DeviceClass(name, host.sysfs.mkdir(host.classDir, name, null));
  host.classes.set(name, cls);
  return cls;
}
