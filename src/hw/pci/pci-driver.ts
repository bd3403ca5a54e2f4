// Registering PCI drivers and their dynamic ids (drivers/pci/pci-driver.c): probe through pci_match_device,
// `new_id` / `remove_id` in `/sys/bus/pci/drivers/<name>/`, VFs probed only when their PF allows it.
import type { Device } from '../../base/device.js';
import { driverAttach } from '../../base/dd.js';
import { driverRegister, driverUnregister } from '../../base/driver.js';
import type { Driver } from '../../base/driver.js';
import type { Host } from '../../base/host.js';
import type { SysfsAttrTable } from '../../base/sysfs.js';
import { VfioError } from '../../uapi/errno.js';
import { PciDev } from './pci-dev.js';
import { PCI_ANY_ID, pciHostState, pciMatchDevice, pciMatchOneDevice, pciPendingRemoval, pciTrackRemoval } from './pci-bus-type.js';
import type { PciDeviceId, PciDriver, PciDriverState } from './pci-bus-type.js';

function toPciDev(dev: Device): PciDev {
  if (!(dev instanceof PciDev)) throw new Error(`'${dev.name}' on the pci bus is not a pci_dev`);
  return dev;
}

/** Parses sysfs hex fields as sscanf("%x %x %x %x %x %x %lx"): EINVAL when fewer than `min`. */
function parseIdFields(text: string, min: number, max: number): number[] {
  const parts = text.trim().split(/\s+/).filter((p) => p !== '');
  const out: number[] = [];
  for (const p of parts.slice(0, max)) {
    const m = /^(?:0[xX])?([0-9a-fA-F]+)/.exec(p);
    if (m === null || m[1] === undefined) break;
    out.push(parseInt(m[1], 16) >>> 0);
  }
  if (out.length < min) throw new VfioError('EINVAL', `expected at least ${min} hex fields`);
  return out;
}

function idFromFields(f: number[]): PciDeviceId {
  return {
    vendor: f[0] ?? PCI_ANY_ID,
    device: f[1] ?? PCI_ANY_ID,
    subvendor: f[2] ?? PCI_ANY_ID,
    subdevice: f[3] ?? PCI_ANY_ID,
    class: f[4] ?? 0,
    classMask: f[5] ?? 0,
    driverData: f[6] ?? 0,
  };
}

const sameId = (a: PciDeviceId, b: PciDeviceId): boolean =>
  a.vendor === b.vendor &&
  a.device === b.device &&
  (a.subvendor ?? PCI_ANY_ID) === (b.subvendor ?? PCI_ANY_ID) &&
  (a.subdevice ?? PCI_ANY_ID) === (b.subdevice ?? PCI_ANY_ID) &&
  (a.class ?? 0) === (b.class ?? 0) &&
  (a.classMask ?? 0) === (b.classMask ?? 0);

function stateOf(drv: Driver): PciDriverState {
  const s = pciHostState(drv.bus.host).drivers.get(drv);
  if (s === undefined) throw new VfioError('ENODEV', `${drv.name} is not a pci driver`);
  return s;
}

/** new_id_store(): "vendor device [subvendor subdevice class class_mask driver_data]". */
function newIdStore(drv: Driver, text: string): void {
  const s = stateOf(drv);
  const fields = parseIdFields(text, 2, 7);
  const id = idFromFields(fields);
  if (fields.length !== 7) {
    // A device with exactly these ids that the driver already matches makes the new id pointless.
    const table = s.pdrv.idTable ?? [];
    const probe = { vendor: id.vendor, device: id.device, subsystemVendor: id.subvendor ?? PCI_ANY_ID, subsystemDevice: id.subdevice ?? PCI_ANY_ID, classCode: id.class ?? 0 };
    if (table.some((t) => pciMatchOneDevice(t, probe)) || s.dynids.some((t) => pciMatchOneDevice(t, probe))) {
      throw new VfioError('EEXIST', `${drv.name} already matches ${id.vendor.toString(16)}:${id.device.toString(16)}`);
    }
  } else if (s.pdrv.idTable !== undefined && !s.pdrv.idTable.some((t) => (t.driverData ?? 0) === id.driverData)) {
    // Only driver_data values of the static table are accepted.
    throw new VfioError('EINVAL', 'driver_data not in the id table');
  }
  s.dynids.push(id);
  driverAttach(drv);
}

/** remove_id_store(): ENODEV when no dynamic id is equal. */
function removeIdStore(drv: Driver, text: string): void {
  const s = stateOf(drv);
  const id = idFromFields(parseIdFields(text, 2, 6));
  const i = s.dynids.findIndex((d) => sameId(d, id));
  if (i < 0) throw new VfioError('ENODEV', 'no such dynamic id');
  s.dynids.splice(i, 1);
}

const pciDriverAttrs: SysfsAttrTable<Driver> = Object.freeze({
  new_id: { show: () => '', store: newIdStore },
  remove_id: { show: () => '', store: removeIdStore },
});

/** pci_device_can_probe(): a VF binds only when its PF's sriov_drivers_autoprobe is on, or by driver_override. */
function pciDeviceCanProbe(pdev: PciDev): boolean {
  return !pdev.isVirtfn || (pdev.physfn !== null && sriovAutoprobe.get(pdev.physfn) !== false) || pdev.driverOverride !== null;
}

/** Per PF: sriov_drivers_autoprobe (default on). */
export const sriovAutoprobe = new WeakMap<PciDev, boolean>();

/** pci_register_driver(): `/sys/bus/pci/drivers/<name>` with bind, unbind, new_id, remove_id; binds matching devices. */
export function pciRegisterDriver(host: Host, pdrv: PciDriver): Driver {
  const hs = pciHostState(host);
  if (hs.byDriver.has(pdrv)) throw new VfioError('EBUSY', `pci driver '${pdrv.name}' is already registered`);
  const driver = driverRegister(hs.bus, pdrv.name, {
    probe: (dev) => {
      const pdev = toPciDev(dev);
      const s = hs.drivers.get(driver);
      const id = s === undefined ? null : pciMatchDevice(s, pdev);
      if (id === null) throw new VfioError('ENODEV', `${pdrv.name} does not match ${pdev.bdf}`);
      if (!pciDeviceCanProbe(pdev)) throw new VfioError('ENODEV', `${pdev.bdf}: VF autoprobe is off`);
      pdrv.probe(pdev, id);
    },
    remove: (dev) => {
      const pdev = toPciDev(dev);
      const done = pdrv.remove?.(pdev);
      if (done === undefined) return undefined;
      pciTrackRemoval(host, pdev, done, pdrv.name);
      return pciPendingRemoval(pdev);
    },
  });
  const state: PciDriverState = { pdrv, driver, dynids: [] };
  hs.drivers.set(driver, state);
  hs.byDriver.set(pdrv, state);
  if (driver.dir !== null) host.sysfs.addAttrs(driver.dir, pciDriverAttrs);
  // driverRegister offered the devices before the id tables were known here (nothing matched): offer them now.
  driverAttach(driver);
  return driver;
}

/** pci_unregister_driver(): unbinds every device; resolves once their removes have finished. */
export async function pciUnregisterDriver(host: Host, pdrv: PciDriver): Promise<void> {
  const hs = pciHostState(host);
  const s = hs.byDriver.get(pdrv);
  if (s === undefined) throw new VfioError('ENODEV', `pci driver '${pdrv.name}' is not registered`);
  const bound = [...s.driver.devices].map(toPciDev);
  driverUnregister(s.driver);
  hs.byDriver.delete(pdrv);
  hs.drivers.delete(s.driver);
  await Promise.all(bound.map((p) => pciPendingRemoval(p)));
}

/** The PCI driver bound to `pdev`, if any. */
export function pciDriverOf(pdev: PciDev): PciDriver | null {
  const drv = pdev.driver;
  if (drv === null) return null;
  return pciHostState(drv.bus.host).drivers.get(drv)?.pdrv ?? null;
}
