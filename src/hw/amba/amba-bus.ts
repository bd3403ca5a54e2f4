// The `amba` bus_type (drivers/amba/bus.c): devices identified by the PrimeCell ID registers at the top of their
// window (amba_read_periphid, done when the device is added), drivers matching by id/mask tables (amba_lookup),
// driver_override first (the base core's rule), and the device attributes id, irq0, irq1 and resource.
import { busRegister } from '../../base/bus.js';
import type { Bus } from '../../base/bus.js';
import type { Device } from '../../base/device.js';
import { driverAttach } from '../../base/dd.js';
import type { Driver } from '../../base/driver.js';
import { driverRegister, driverUnregister } from '../../base/driver.js';
import type { Host } from '../../base/host.js';
import type { SysfsAttrTable } from '../../base/sysfs.js';
import { VfioError } from '../../uapi/errno.js';
import { mmioDeviceAdd, mmioDeviceRemove } from '../platform/device-add.js';
import { MmioDevice } from '../platform/mmio-device.js';
import type { MmioHw, OfNode } from '../platform/mmio-device.js';
import { pendingRemoval, trackRemoval } from '../platform/pending-remove.js';
import { AMBA_CID, CORESIGHT_CID } from './primecell-id.js';

/** AMBA_NR_IRQS (include/linux/amba/bus.h). */
export const AMBA_NR_IRQS = 9;

/** struct amba_device. */
export class AmbaDevice extends MmioDevice {
  periphid = 0;
  cid = 0;
}

/** struct amba_id: a device matches when (periphid & mask) === id. */
export interface AmbaId {
  readonly id: number;
  readonly mask: number;
}

/** struct amba_driver, the part modelled. */
export interface AmbaDriver {
  readonly name: string;
  readonly idTable: readonly AmbaId[];
  /** Binds `adev` matched by `id` (null when bound by driver_override); throw a VfioError to refuse. */
  probe(adev: AmbaDevice, id: AmbaId | null): void;
  /** Opposite of probe. A promise means remove goes on (waiting for users); removals await it. */
  remove?(adev: AmbaDevice): void | Promise<void>;
}

interface AmbaHostState {
  readonly bus: Bus;
  readonly drivers: Map<Driver, AmbaDriver>;
}

const states = new WeakMap<Host, AmbaHostState>();

/** amba_lookup(): the first entry whose masked id matches; the table ends at the first zero mask. */
export function ambaLookup(table: readonly AmbaId[], periphid: number): AmbaId | null {
  for (const t of table) {
    if (t.mask === 0) break;
    if (((periphid & t.mask) >>> 0) === t.id >>> 0) return t;
  }
  return null;
}

function ambaHostState(host: Host): AmbaHostState {
  let s = states.get(host);
  if (s === undefined) {
    const drivers = new Map<Driver, AmbaDriver>();
    const bus = busRegister(host, 'amba', {
      // amba_match() after the base core's driver_override check.
      match: (dev: Device, drv: Driver) => {
        const adrv = drivers.get(drv);
        return adrv !== undefined && dev instanceof AmbaDevice && ambaLookup(adrv.idTable, dev.periphid) !== null;
      },
    });
    s = { bus, drivers };
    states.set(host, s);
  }
  return s;
}

/** The host's `amba` bus. */
export function ambaBusType(host: Host): Bus {
  return ambaHostState(host).bus;
}

const hex = (n: number, w: number): string => n.toString(16).padStart(w, '0');

/** The attributes drivers/amba/bus.c shows. */
export const ambaDevAttrs: SysfsAttrTable<Device> = Object.freeze({
  id: { show: (d: Device) => `${hex(d instanceof AmbaDevice ? d.periphid : 0, 8)}\n` },
  irq0: { show: (d: Device) => `${d instanceof AmbaDevice ? (d.irqLines[0]?.hwirq ?? 0) : 0}\n` },
  irq1: { show: (d: Device) => `${d instanceof AmbaDevice ? (d.irqLines[1]?.hwirq ?? 0) : 0}\n` },
  resource: {
    show: (d: Device) => {
      const r = d instanceof AmbaDevice ? d.resources[0] : undefined;
      return r === undefined ? '' : `\t${hex(r.start, 16)}\t${hex(r.start + r.size - 1, 16)}\t${hex(r.flags, 16)}\n`;
    },
  },
});

/**
 * amba_read_periphid(): the peripheral and cell ID bytes from the last 32 bytes of the first window. A cell ID other
 * than the PrimeCell or CoreSight one leaves the periphid 0.
 */
export function ambaReadPeriphid(hw: MmioHw, windowSize: number): { periphid: number; cid: number } {
  let pid = 0;
  let cid = 0;
  for (let i = 0; i < 4; i++) pid |= (hw.read(0, windowSize - 0x20 + 4 * i, 4) & 0xff) << (i * 8);
  for (let i = 0; i < 4; i++) cid |= (hw.read(0, windowSize - 0x10 + 4 * i, 4) & 0xff) << (i * 8);
  cid >>>= 0;
  return cid === AMBA_CID || cid === CORESIGHT_CID ? { periphid: pid >>> 0, cid } : { periphid: 0, cid };
}

/**
 * amba_device_add() for a DT node (of_amba_device_create): the ID registers are read from the hardware (unless the
 * node's `arm,primecell-periphid` gives one), a device with no periphid is refused with ENODEV, the IRQs are the
 * node's first AMBA_NR_IRQS, and the device joins the bus (a matching driver binds at once).
 */
export function ambaDeviceAdd(host: Host, node: OfNode, hw: MmioHw, periphidOverride?: number): AmbaDevice {
  const first = node.reg[0];
  if (first === undefined || first.size < 0x20) throw new VfioError('EINVAL', `${node.name}: an AMBA device needs a window of at least 32 bytes`);
  if (node.interrupts.length > AMBA_NR_IRQS) throw new VfioError('EINVAL', `${node.name}: at most ${AMBA_NR_IRQS} interrupts`);
  const ids = periphidOverride !== undefined ? { periphid: periphidOverride >>> 0, cid: AMBA_CID } : ambaReadPeriphid(hw, first.size);
  if (ids.periphid === 0) throw new VfioError('ENODEV', `${node.name}: no PrimeCell ID (cid ${hex(ids.cid, 8)})`);
  const adev = new AmbaDevice();
  adev.periphid = ids.periphid;
  adev.cid = ids.cid;
  // The AMBA core uses the first window only (adev->res).
  mmioDeviceAdd(host, ambaBusType(host), adev, { ...node, reg: [first] }, hw, [ambaDevAttrs], 'amba_device');
  return adev;
}

/** amba_device_unregister(): resolves once the driver's remove (which may wait for users) has finished. */
export function ambaDeviceUnregister(adev: AmbaDevice): Promise<void> {
  return mmioDeviceRemove(adev);
}

function toAmbaDevice(dev: Device): AmbaDevice {
  if (!(dev instanceof AmbaDevice)) throw new Error(`'${dev.name}' on the amba bus is not an amba_device`);
  return dev;
}

/** amba_driver_register(): `/sys/bus/amba/drivers/<name>` with bind/unbind; binds matching devices. */
export function ambaDriverRegister(host: Host, adrv: AmbaDriver): Driver {
  const s = ambaHostState(host);
  for (const d of s.drivers.values()) if (d === adrv) throw new VfioError('EBUSY', `amba driver '${adrv.name}' is already registered`);
  const driver = driverRegister(s.bus, adrv.name, {
    probe: (dev) => {
      const adev = toAmbaDevice(dev);
      adrv.probe(adev, ambaLookup(adrv.idTable, adev.periphid));
    },
    remove: (dev) => {
      const done = adrv.remove?.(toAmbaDevice(dev));
      if (done !== undefined) trackRemoval(host, dev, done, adrv.name);
    },
  });
  s.drivers.set(driver, adrv);
  // driverRegister offered the devices before the id table was known here: offer them again.
  driverAttach(driver);
  return driver;
}

/** amba_driver_unregister(): unbinds every device; resolves once their removes have finished. */
export async function ambaDriverUnregister(host: Host, driver: Driver): Promise<void> {
  const s = ambaHostState(host);
  if (!s.drivers.has(driver)) throw new VfioError('ENODEV', `'${driver.name}' is not a registered amba driver`);
  const bound = [...driver.devices];
  driverUnregister(driver);
  s.drivers.delete(driver);
  await Promise.all(bound.map((d) => pendingRemoval(d)));
}

/** The AMBA devices of `host`, by name. */
export function ambaDevices(host: Host): AmbaDevice[] {
  const s = states.get(host);
  if (s === undefined) return [];
  return [...s.bus.devices].filter((d): d is AmbaDevice => d instanceof AmbaDevice).sort((a, b) => a.name.localeCompare(b.name));
}
