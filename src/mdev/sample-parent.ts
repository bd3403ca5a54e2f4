// What each samples/vfio-mdev module's init/exit does around the mdev core: a class-device parent
// (`/sys/devices/virtual/<name>/<name>`), its mdev driver on the mdev bus, and mdev_register_parent; exit
// undoes it in reverse after every mdev is gone.
import { Device, deviceRegister, deviceUnregister } from '../base/device.js';
import type { Host } from '../base/host.js';
import { classRegister } from '../base/class.js';
import { mdevRegisterDriver, mdevUnregisterDriver } from './mdev-bus.js';
import type { MdevDriver, MdevParent, MdevTypeSpec } from './mdev-objects.js';
import { mdevRegisterParent, mdevUnregisterParent } from './mdev-parent.js';

/** A registered sample parent; `unregister` is the module's exit. */
export interface MdevSample {
  readonly name: string;
  /** The parent device, `/sys/devices/virtual/<name>/<name>`. */
  readonly device: Device;
  readonly parent: MdevParent;
  readonly driver: MdevDriver;
  /** Removes every mdev (waiting for their users), then the parent, its device and the driver. */
  unregister(): Promise<void>;
}

/** A sample module's init: class `name`, device `name` in it, `driver` on the mdev bus, the parent with `types`. */
export function mdevRegisterSample(host: Host, name: string, driver: MdevDriver, types: readonly MdevTypeSpec[]): MdevSample {
  const undo: (() => void)[] = [];
  try {
    mdevRegisterDriver(host, driver);
    undo.push(() => mdevUnregisterDriver(host, driver));
    const device = new Device();
    device.name = name;
    device.class = classRegister(host, name);
    // A static device in the kernel samples: nothing to free.
    device.release = () => {};
    deviceRegister(device, host);
    undo.push(() => deviceUnregister(device));
    const parent = mdevRegisterParent(host, device, driver, types);
    let exiting: Promise<void> | null = null;
    return {
      name,
      device,
      parent,
      driver,
      unregister(): Promise<void> {
        exiting ??= (async () => {
          await mdevUnregisterParent(parent);
          // Balances deviceRegister and mdevRegisterDriver above.
          deviceUnregister(device);
          mdevUnregisterDriver(host, driver);
        })();
        return exiting;
      },
    };
  } catch (err) {
    for (const u of undo.reverse()) u();
    throw err;
  }
}
