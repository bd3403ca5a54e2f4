// The `platform` bus_type (drivers/base/platform.c): platform_match (driver_override, then the driver's OF match
// table by compatible, then its id table, then the device name), platform drivers with probe/remove, the root
// device `/sys/devices/platform`, and the device attributes `modalias` and `of_node/` (drivers/of/device.c).
import { busRegister } from '../../base/bus.js';
import type { Bus } from '../../base/bus.js';
import { Device, deviceRegister } from '../../base/device.js';
import type { Driver } from '../../base/driver.js';
import { driverRegister, driverUnregister } from '../../base/driver.js';
import { driverAttach } from '../../base/dd.js';
import type { Host } from '../../base/host.js';
import type { SysfsAttrTable } from '../../base/sysfs.js';
import { VfioError } from '../../uapi/errno.js';
import { MmioDevice } from './mmio-device.js';
import type { OfNode } from './mmio-device.js';
import { pendingRemoval, trackRemoval } from './pending-remove.js';

/** struct platform_device: a device the firmware described, on the platform bus. */
export class PlatformDevice extends MmioDevice {}

/** struct platform_driver, the part modelled. */
export interface PlatformDriver {
  readonly name: string;
  /** of_match_table: compatible strings it drives. */
  readonly ofMatchTable?: readonly string[];
  /** id_table: device names it drives. */
  readonly idTable?: readonly string[];
  /** Binds `pdev`; throw a VfioError to refuse. */
  probe(pdev: PlatformDevice): void;
  /** Opposite of probe. A promise means remove goes on (waiting for users); removals await it. */
  remove?(pdev: PlatformDevice): void | Promise<void>;
}

interface PlatformHostState {
  readonly bus: Bus;
  readonly root: Device;
  readonly drivers: Map<Driver, PlatformDriver>;
}

const states = new WeakMap<Host, PlatformHostState>();

/** of_driver_match_device(): any of the node's compatible strings in the table. */
export function ofMatch(node: OfNode | null, table: readonly string[] | undefined): boolean {
  return node !== null && table !== undefined && node.compatible.some((c) => table.includes(c));
}

/** platform_match() after the base core's driver_override check. */
function platformMatch(dev: Device, pdrv: PlatformDriver): boolean {
  if (!(dev instanceof PlatformDevice)) return false;
  if (ofMatch(dev.ofNode, pdrv.ofMatchTable)) return true;
  if (pdrv.idTable?.includes(dev.name) === true) return true;
  return dev.name === pdrv.name;
}

/** `/sys/devices/platform`: the parent of every platform and AMBA device (platform_bus). */
export function platformRootDevice(host: Host): Device {
  return platformHostState(host).root;
}

/** The host's platform bus (`/sys/bus/platform`), registered on first use (platform_bus_init). */
export function platformHostState(host: Host): PlatformHostState {
  let s = states.get(host);
  if (s === undefined) {
    const drivers = new Map<Driver, PlatformDriver>();
    const bus = busRegister(host, 'platform', {
      match: (dev: Device, drv: Driver) => {
        const pdrv = drivers.get(drv);
        return pdrv !== undefined && platformMatch(dev, pdrv);
      },
    });
    const root = new Device();
    root.name = 'platform';
    // The root lives as long as the host, as the kernel's static platform_bus does.
    root.release = () => {};
    deviceRegister(root, host);
    s = { bus, root, drivers };
    states.set(host, s);
  }
  return s;
}

/** The host's `platform` bus. */
export function platformBusType(host: Host): Bus {
  return platformHostState(host).bus;
}

/** The DT modalias (of_device_modalias): `of:N<name>T(null)C<compat>C<compat>...`. */
export function ofModalias(node: OfNode): string {
  return `of:N${node.name}T(null)${node.compatible.map((c) => `C${c}`).join('')}`;
}

/** `modalias` of a platform device: the OF one when it has a node, else `platform:<name>`. */
export const platformDevAttrs: SysfsAttrTable<Device> = Object.freeze({
  modalias: {
    show: (dev: Device) => (dev instanceof MmioDevice && dev.ofNode !== null ? `${ofModalias(dev.ofNode)}\n` : `platform:${dev.name}\n`),
  },
});

/** `of_node/`'s files: `name`, and `compatible` as the DT property (NUL-terminated strings). */
export const ofNodeAttrs: SysfsAttrTable<MmioDevice> = Object.freeze({
  name: { show: (dev: MmioDevice) => `${dev.ofNode?.name ?? ''}\0` },
  compatible: { show: (dev: MmioDevice) => (dev.ofNode?.compatible ?? []).map((c) => `${c}\0`).join('') },
});

function toPlatformDevice(dev: Device): PlatformDevice {
  if (!(dev instanceof PlatformDevice)) throw new Error(`'${dev.name}' on the platform bus is not a platform_device`);
  return dev;
}

/** platform_driver_register(): `/sys/bus/platform/drivers/<name>` with bind/unbind; binds matching devices. */
export function platformDriverRegister(host: Host, pdrv: PlatformDriver): Driver {
  const s = platformHostState(host);
  for (const d of s.drivers.values()) if (d === pdrv) throw new VfioError('EBUSY', `platform driver '${pdrv.name}' is already registered`);
  const driver = driverRegister(s.bus, pdrv.name, {
    probe: (dev) => pdrv.probe(toPlatformDevice(dev)),
    remove: (dev) => {
      const done = pdrv.remove?.(toPlatformDevice(dev));
      if (done !== undefined) trackRemoval(host, dev, done, pdrv.name);
    },
  });
  s.drivers.set(driver, pdrv);
  // driverRegister offered the devices before the match tables were known here: offer them again.
  driverAttach(driver);
  return driver;
}

/** platform_driver_unregister(): unbinds every device; resolves once their removes have finished. */
export async function platformDriverUnregister(host: Host, driver: Driver): Promise<void> {
  const s = platformHostState(host);
  if (!s.drivers.has(driver)) throw new VfioError('ENODEV', `'${driver.name}' is not a registered platform driver`);
  const bound = [...driver.devices];
  driverUnregister(driver);
  s.drivers.delete(driver);
  await Promise.all(bound.map((d) => pendingRemoval(d)));
}

/** The platform devices of `host`, by name. */
export function platformDevices(host: Host): PlatformDevice[] {
  const s = states.get(host);
  if (s === undefined) return [];
  return [...s.bus.devices].filter((d): d is PlatformDevice => d instanceof PlatformDevice).sort((a, b) => a.name.localeCompare(b.name));
}
