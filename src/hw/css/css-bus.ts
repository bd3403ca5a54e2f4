// The channel subsystem's bus (drivers/s390/cio/css.c): `/sys/bus/css`, the root device `css0`, css drivers with
// probe/remove/irq/chp_event/sch_event, and the asynchronous half of a driver's remove (awaited by whoever
// removes the subchannel). Drivers bind by driver_override only: there is no io_subchannel driver here.
import { busRegister } from '../../base/bus.js';
import type { Bus } from '../../base/bus.js';
import { Device, deviceRegister } from '../../base/device.js';
import { driverRegister, driverUnregister } from '../../base/driver.js';
import type { Driver } from '../../base/driver.js';
import type { Host } from '../../base/host.js';
import { VfioError } from '../../uapi/errno.js';
import type { ErrnoName } from '../../uapi/errno.js';
import type { Irb } from '../../uapi/s390-cio.js';
import { Subchannel } from './subchannel.js';

/** Channel-path events a css driver hears (include/asm/chpid.h CHP_*). */
export type ChpEvent = 'vary-off' | 'vary-on' | 'offline' | 'online';

/** struct css_driver. */
export interface CssDriver {
  readonly name: string;
  /** Binds `sch`; throw a VfioError to refuse. */
  probe(sch: Subchannel): void;
  /** Opposite of probe. A promise means remove goes on (waiting for users); removal awaits it. */
  remove?(sch: Subchannel): void | Promise<void>;
  /** An I/O interruption: the css handler already did TEST SUBCHANNEL; `irb` is what it stored. */
  irq?(sch: Subchannel, irb: Irb): void;
  /**
   * A channel path of `sch` changed (`mask`: its path bit). A non-zero answer to 'offline' (the SCHIB could not be
   * stored) makes the css drop every path (lpm 0) and evaluate the subchannel (s390_subchannel_remove_chpid).
   */
  chpEvent?(sch: Subchannel, chpid: number, mask: number, event: ChpEvent): ErrnoName | 0;
  /** The subchannel's state changed (a device came or went: css_evaluate_subchannel). */
  schEvent?(sch: Subchannel): void;
}

export interface CssHostState {
  readonly bus: Bus;
  /** `/sys/devices/css0`. */
  readonly root: Device;
  readonly drivers: Map<Driver, CssDriver>;
  readonly byDriver: Map<CssDriver, Driver>;
}

const states = new WeakMap<Host, CssHostState>();
const pendingRemovals = new WeakMap<Subchannel, Promise<void>>();

/** The host's css bus and root (css_bus_init), set up on first use. */
export function cssHostState(host: Host): CssHostState {
  let s = states.get(host);
  if (s === undefined) {
    // No automatic matching: vfio_ccw binds what driver_override gives it (busMatch checks the override first).
    const bus = busRegister(host, 'css', { match: () => false });
    const root = new Device();
    root.name = 'css0';
    // The root lives as long as the host.
    root.release = () => {};
    deviceRegister(root, host);
    s = { bus, root, drivers: new Map(), byDriver: new Map() };
    states.set(host, s);
  }
  return s;
}

/** The css driver bound to `sch`, if any. */
export function cssDriverOf(sch: Subchannel): CssDriver | undefined {
  const drv = sch.driver;
  if (drv === null || sch.host === null) return undefined;
  return states.get(sch.host)?.drivers.get(drv);
}

/** css_driver_register(): `/sys/bus/css/drivers/<name>`; binds every subchannel whose driver_override names it. */
export function cssDriverRegister(host: Host, cdrv: CssDriver): Driver {
  const hs = cssHostState(host);
  if (hs.byDriver.has(cdrv)) throw new VfioError('EBUSY', `css driver '${cdrv.name}' is already registered`);
  const toSch = (dev: Device): Subchannel => {
    if (!(dev instanceof Subchannel)) throw new Error(`'${dev.name}' on the css bus is not a subchannel`);
    return dev;
  };
  const driver = driverRegister(hs.bus, cdrv.name, {
    probe: (dev) => {
      // driverRegister binds before it returns: the tables must already name this driver.
      if (dev.driver !== null && !hs.drivers.has(dev.driver)) hs.drivers.set(dev.driver, cdrv);
      cdrv.probe(toSch(dev));
    },
    remove: (dev) => {
      const sch = toSch(dev);
      const done = cdrv.remove?.(sch);
      if (done === undefined) return;
      const tracked = done.then(
        () => {
          if (pendingRemovals.get(sch) === tracked) pendingRemovals.delete(sch);
        },
        (err: unknown) => {
          if (pendingRemovals.get(sch) === tracked) pendingRemovals.delete(sch);
          host.logger.error({ device: sch.name, driver: cdrv.name, err: String(err) }, 'css remove failed');
        },
      );
      pendingRemovals.set(sch, tracked);
    },
  });
  hs.drivers.set(driver, cdrv);
  hs.byDriver.set(cdrv, driver);
  return driver;
}

/** css_driver_unregister(): unbinds every subchannel; resolves once their removes have finished. */
export async function cssDriverUnregister(host: Host, cdrv: CssDriver): Promise<void> {
  const hs = cssHostState(host);
  const driver = hs.byDriver.get(cdrv);
  if (driver === undefined) throw new VfioError('ENODEV', `css driver '${cdrv.name}' is not registered`);
  const bound = [...driver.devices].filter((d): d is Subchannel => d instanceof Subchannel);
  driverUnregister(driver);
  hs.byDriver.delete(cdrv);
  hs.drivers.delete(driver);
  await Promise.all(bound.map((s) => cssPendingRemoval(s)));
}

/** Resolves once a driver's remove of `sch` under way has finished; never rejects. */
export function cssPendingRemoval(sch: Subchannel): Promise<void> {
  return pendingRemovals.get(sch) ?? Promise.resolve();
}
