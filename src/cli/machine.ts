// The simulated machine `serve` runs (the config's `machine`): one entry per bus that has hardware (PCI today's
// roots, and the other buses VFIO drivers bind on), each built at start, and binding done the way a user does
// it through sysfs on any of them: driver_override, then the driver's bind file; the driver's unbind file, then
// waiting for its remove (a VFIO driver's remove waits for the device's users).
import type { Device } from '../base/device.js';
import type { Host } from '../base/host.js';
import type { VfioDriverBus } from '../drivers/descriptor.js';
import { VfioError } from '../uapi/errno.js';

/** A bus of the simulated machine, as serve drives it. */
export interface MachineBus {
  /** The bus name in `/sys/bus/`. */
  readonly name: Exclude<VfioDriverBus, 'mdev'>;
  /** How messages name the bus: `PCI`, `AMBA`... */
  readonly title: string;
  /** Every device on the bus, in bus order. */
  devices(): readonly Device[];
  /** What `status` shows as a device's type (a PCI function's model, a platform device's compatible...). */
  model(dev: Device): string;
  /** Resolves once the remove a driver's unbind of `dev` started has finished; never rejects. */
  pendingRemoval(dev: Device): Promise<void>;
  /** Removes the bus's hardware (unbinding drivers, waiting for them). Idempotent. */
  close(): Promise<void>;
}

export class Machine {
  readonly #host: Host;
  readonly #buses: MachineBus[] = [];

  constructor(host: Host) {
    this.#host = host;
  }

  /** Adds a built bus (closed with the machine, in reverse order). */
  add(bus: MachineBus): void {
    this.#buses.push(bus);
  }

  bus(name: string): MachineBus | undefined {
    return this.#buses.find((b) => b.name === name);
  }

  /** Every device of every bus. */
  devices(): { readonly bus: MachineBus; readonly dev: Device }[] {
    return this.#buses.flatMap((bus) => bus.devices().map((dev) => ({ bus, dev })));
  }

  /** The device named `name` on any bus (`0000:00:03.0`, `fff51000.ethernet`, `dprc.1`); ENODEV if none. */
  device(name: string): { readonly bus: MachineBus; readonly dev: Device } {
    const hit = this.devices().find((d) => d.dev.name === name);
    if (hit === undefined) {
      const hint = this.#buses.map((b) => `/sys/bus/${b.name}/devices`).join(', ');
      throw new VfioError('ENODEV', `no device ${name} on the simulated machine${hint === '' ? '' : ` (see 'vfio-ts ls' of ${hint})`}`);
    }
    return hit;
  }

  /** Binds `name` to its bus's driver `driver`: driver_override, then the driver's bind file. EBUSY if bound. */
  bind(name: string, driver: string): { readonly bus: MachineBus; readonly dev: Device } {
    const hit = this.device(name);
    const { bus, dev } = hit;
    if (dev.driver !== null) throw new VfioError('EBUSY', `${dev.name} is bound to ${dev.driver.name} (unbind it first)`);
    const sysfs = this.#host.sysfs;
    if (!sysfs.exists(`/sys/bus/${bus.name}/drivers/${driver}`)) throw new VfioError('ENODEV', `no ${bus.title} driver '${driver}'`);
    sysfs.write(`/sys/bus/${bus.name}/devices/${dev.name}/driver_override`, driver);
    try {
      sysfs.write(`/sys/bus/${bus.name}/drivers/${driver}/bind`, dev.name);
    } catch (err) {
      sysfs.write(`/sys/bus/${bus.name}/devices/${dev.name}/driver_override`, '\n');
      throw err;
    }
    return hit;
  }

  /** Unbinds `dev` from its driver and waits for the driver's remove. */
  async unbind(bus: MachineBus, dev: Device): Promise<void> {
    // Gone with its parent already (a DPRC's objects leave when the DPRC is unbound): only its remove to wait for.
    if (!bus.devices().includes(dev)) return bus.pendingRemoval(dev);
    const drv = dev.driver;
    if (drv === null) throw new VfioError('ENODEV', `${dev.name} has no driver`);
    this.#host.sysfs.write(`/sys/bus/${bus.name}/drivers/${drv.name}/unbind`, dev.name);
    await bus.pendingRemoval(dev);
    // Balances the driver_override bind set, so the device is free for any driver again (if it is still there).
    if (bus.devices().includes(dev)) this.#host.sysfs.write(`/sys/bus/${bus.name}/devices/${dev.name}/driver_override`, '\n');
  }

  /** Removes every bus's hardware, last built first. Idempotent. */
  async close(): Promise<void> {
    for (const bus of this.#buses.splice(0).reverse()) await bus.close();
  }
}
