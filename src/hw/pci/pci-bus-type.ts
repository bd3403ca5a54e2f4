// The `pci` bus_type (drivers/pci/pci-driver.c): id tables, pci_match_device, pci_bus_match, and the
// asynchronous half of a driver's remove, which whoever removes the device awaits.
import { busRegister } from '../../base/bus.js';
import type { Bus } from '../../base/bus.js';
import type { Device } from '../../base/device.js';
import type { Driver } from '../../base/driver.js';
import type { Host } from '../../base/host.js';
import type { SysfsDir } from '../../base/sysfs.js';
import { PciDev } from './pci-dev.js';

/** PCI_ANY_ID (include/linux/mod_devicetable.h). */
export const PCI_ANY_ID = 0xffffffff;

/** struct pci_device_id: absent subvendor/subdevice mean PCI_ANY_ID, absent class/classMask mean 0. */
export interface PciDeviceId {
  readonly vendor: number;
  readonly device: number;
  readonly subvendor?: number;
  readonly subdevice?: number;
  readonly class?: number;
  readonly classMask?: number;
  readonly driverData?: number;
  /** Matches only a function whose driver_override names the driver (PCI_DRIVER_OVERRIDE_DEVICE_VFIO's override_only). */
  readonly overrideOnly?: boolean;
}

/** struct pci_driver. */
export interface PciDriver {
  readonly name: string;
  readonly idTable?: readonly PciDeviceId[];
  /** Binds `pdev`, matched by `id`; throw a VfioError to refuse. */
  probe(pdev: PciDev, id: PciDeviceId): void;
  /** Opposite of probe. A promise means remove goes on (waiting for users); device removal awaits it. */
  remove?(pdev: PciDev): void | Promise<void>;
  /** Enables `numVfs` VFs (0: disables them); resolves to the number enabled. */
  sriovConfigure?(pdev: PciDev, numVfs: number): number | Promise<number>;
}

/** A registered PCI driver: the base driver it became and its dynamic ids (new_id). */
export interface PciDriverState {
  readonly pdrv: PciDriver;
  readonly driver: Driver;
  readonly dynids: PciDeviceId[];
}

export interface PciHostState {
  readonly bus: Bus;
  readonly drivers: Map<Driver, PciDriverState>;
  readonly byDriver: Map<PciDriver, PciDriverState>;
  /** `/sys/bus/pci/slots`. */
  readonly slotsDir: SysfsDir;
}

const states = new WeakMap<Host, PciHostState>();
const pendingRemovals = new WeakMap<PciDev, Promise<void>>();

/** The fields an id table entry is matched against. */
export type PciIdentity = Pick<PciDev, 'vendor' | 'device' | 'subsystemVendor' | 'subsystemDevice' | 'classCode'>;

/** pci_match_one_device(). */
export function pciMatchOneDevice(id: PciDeviceId, pdev: PciIdentity): boolean {
  const any = (want: number | undefined, have: number): boolean => want === undefined || want === PCI_ANY_ID || want === have;
  return (
    any(id.vendor, pdev.vendor) &&
    any(id.device, pdev.device) &&
    any(id.subvendor, pdev.subsystemVendor) &&
    any(id.subdevice, pdev.subsystemDevice) &&
    (((id.class ?? 0) ^ pdev.classCode) & (id.classMask ?? 0)) === 0
  );
}

/** The catch-all id a driver_override bind probes with (pci_device_id_any). */
const PCI_DEVICE_ID_ANY: PciDeviceId = Object.freeze({ vendor: PCI_ANY_ID, device: PCI_ANY_ID });

/** pci_match_device(): driver_override first, then dynamic ids, then the id table. */
export function pciMatchDevice(s: PciDriverState, pdev: PciDev): PciDeviceId | null {
  if (pdev.driverOverride !== null && pdev.driverOverride !== s.pdrv.name) return null;
  const found =
    s.dynids.find((id) => pciMatchOneDevice(id, pdev)) ??
    s.pdrv.idTable?.find((id) => pciMatchOneDevice(id, pdev) && (id.overrideOnly !== true || pdev.driverOverride !== null));
  if (found !== undefined) return found;
  return pdev.driverOverride !== null ? PCI_DEVICE_ID_ANY : null;
}

/** The host's pci bus (`/sys/bus/pci`), registered on first use (pci_driver_init). */
export function pciHostState(host: Host): PciHostState {
  let s = states.get(host);
  if (s === undefined) {
    const drivers = new Map<Driver, PciDriverState>();
    const bus = busRegister(host, 'pci', {
      // pci_bus_match(): the base core already applied driver_override.
      match: (dev: Device, drv: Driver) => {
        const ds = drivers.get(drv);
        return ds !== undefined && dev instanceof PciDev && pciMatchDevice(ds, dev) !== null;
      },
    });
    const slotsDir = host.sysfs.mkdir(host.sysfs.mkdirp('/bus/pci'), 'slots', null);
    s = { bus, drivers, byDriver: new Map(), slotsDir };
    states.set(host, s);
  }
  return s;
}

/** The host's `pci` bus. */
export function pciBusType(host: Host): Bus {
  return pciHostState(host).bus;
}

/** Records the unfinished part of a driver's remove of `pdev`. */
export function pciTrackRemoval(host: Host, pdev: PciDev, done: Promise<void>, driver: string): void {
  const tracked = done.then(
    () => {
      if (pendingRemovals.get(pdev) === tracked) pendingRemovals.delete(pdev);
    },
    (err: unknown) => {
      if (pendingRemovals.get(pdev) === tracked) pendingRemovals.delete(pdev);
      host.logger.error({ device: pdev.bdf, driver, err: String(err) }, 'pci remove failed');
    },
  );
  pendingRemovals.set(pdev, tracked);
}

/** Resolves once a driver's remove of `pdev` under way (after an unbind) has finished; never rejects. */
export function pciPendingRemoval(pdev: PciDev): Promise<void> {
  return pendingRemovals.get(pdev) ?? Promise.resolve();
}
