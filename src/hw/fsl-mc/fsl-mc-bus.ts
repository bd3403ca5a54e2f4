// The fsl-mc bus_type (drivers/bus/fsl-mc/fsl-mc-bus.c): `/sys/bus/fsl-mc`, matching by vendor and object type
// (driver_override first; unplugged objects match nothing but the root DPRC), fsl-mc drivers with an
// asynchronous remove whoever removes the device awaits, bus notifiers, fsl_mc_device_add/remove, and the
// physical address map through which a driver ioremaps an object's region.
import { busRegister } from '../../base/bus.js';
import type { Bus } from '../../base/bus.js';
import { deviceAdd, deviceDel, deviceInitialize, putDevice } from '../../base/device.js';
import type { Device } from '../../base/device.js';
import { driverRegister, driverUnregister } from '../../base/driver.js';
import type { Driver } from '../../base/driver.js';
import type { Host } from '../../base/host.js';
import { iommuGroupAddDevice, iommuGroupAlloc, iommuGroupPut, iommuGroupRemoveDevice } from '../../base/iommu-group.js';
import { VfioError } from '../../uapi/errno.js';
import { FSL_MC_OBJ_STATE_PLUGGED } from './mc-cmd.js';
import type { FslMcObjDesc } from './dprc.js';
import type { McRegionHw } from './mc-objects.js';
import { FSL_MC_IS_DPRC, FslMcDevice, fslMcDevAttrs } from './fsl-mc-device.js';
import type { FslMcResource } from './fsl-mc-device.js';

/** struct fsl_mc_device_id. */
export interface FslMcDeviceId {
  readonly vendor: number;
  readonly objType: string;
}

/** struct fsl_mc_driver. */
export interface FslMcDriver {
  readonly name: string;
  readonly matchIdTable?: readonly FslMcDeviceId[];
  /** Binds `mcDev`; throw a VfioError to refuse. */
  probe(mcDev: FslMcDevice): void;
  /** Opposite of probe. A promise means remove goes on (waiting for users); removal awaits it. */
  remove?(mcDev: FslMcDevice): void | Promise<void>;
}

/** BUS_NOTIFY_ADD_DEVICE (before any driver probes it) and BUS_NOTIFY_BOUND_DRIVER. */
export type FslMcBusEvent = 'add-device' | 'bound-driver';
export type FslMcBusNotifier = (event: FslMcBusEvent, mcDev: FslMcDevice) => void;

export interface FslMcHostState {
  readonly bus: Bus;
  readonly drivers: Map<Driver, FslMcDriver>;
  readonly byDriver: Map<FslMcDriver, Driver>;
  readonly notifiers: Set<FslMcBusNotifier>;
  /** Every object region by its physical start address (what ioremap reaches). */
  readonly mmio: Map<bigint, McRegionHw>;
}

const states = new WeakMap<Host, FslMcHostState>();
const pendingRemovals = new WeakMap<FslMcDevice, Promise<void>>();

const toMcDev = (dev: Device): FslMcDevice => {
  if (!(dev instanceof FslMcDevice)) throw new Error(`'${dev.name}' on the fsl-mc bus is not an fsl_mc_device`);
  return dev;
};

/** fsl_mc_is_root_dprc(): the DPRC whose parent is not on the fsl-mc bus (the MC's platform device). */
export function fslMcIsRootDprc(mcDev: FslMcDevice): boolean {
  return (mcDev.flags & FSL_MC_IS_DPRC) !== 0 && !(mcDev.parent instanceof FslMcDevice);
}

/** The host's fsl-mc bus (fsl_mc_bus_driver_init's bus_register), set up on first use. */
export function fslMcHostState(host: Host): FslMcHostState {
  let s = states.get(host);
  if (s === undefined) {
    const drivers = new Map<Driver, FslMcDriver>();
    // fsl_mc_bus_match(): the base bus checked driver_override already.
    const bus = busRegister(host, 'fsl-mc', {
      match: (dev, drv) => {
        const mdrv = drivers.get(drv);
        if (mdrv?.matchIdTable === undefined || !(dev instanceof FslMcDevice)) return false;
        if ((dev.objDesc.state & FSL_MC_OBJ_STATE_PLUGGED) === 0 && !fslMcIsRootDprc(dev)) return false;
        return mdrv.matchIdTable.some((id) => id.vendor === dev.objDesc.vendor && id.objType === dev.objDesc.type);
      },
    });
    s = { bus, drivers, byDriver: new Map(), notifiers: new Set(), mmio: new Map() };
    states.set(host, s);
  }
  return s;
}

/** bus_register_notifier(&fsl_mc_bus_type, nb). */
export function fslMcBusRegisterNotifier(host: Host, nb: FslMcBusNotifier): void {
  fslMcHostState(host).notifiers.add(nb);
}

/** bus_unregister_notifier(). */
export function fslMcBusUnregisterNotifier(host: Host, nb: FslMcBusNotifier): void {
  fslMcHostState(host).notifiers.delete(nb);
}

function notify(s: FslMcHostState, event: FslMcBusEvent, mcDev: FslMcDevice): void {
  for (const nb of [...s.notifiers]) nb(event, mcDev);
}

/** The region window at `start` (ioremap of an object's resource); ENOMEM when nothing is mapped there. */
export function fslMcIoremap(host: Host, start: bigint, size: number): McRegionHw {
  const hw = fslMcHostState(host).mmio.get(start);
  if (hw === undefined || size > hw.size) throw new VfioError('ENOMEM', `nothing to ioremap at 0x${start.toString(16)}`);
  return hw;
}

/** __fsl_mc_driver_register(): `/sys/bus/fsl-mc/drivers/<name>`; binds every matching device. */
export function fslMcDriverRegister(host: Host, mdrv: FslMcDriver): Driver {
  const s = fslMcHostState(host);
  if (s.byDriver.has(mdrv)) throw new VfioError('EBUSY', `fsl-mc driver '${mdrv.name}' is already registered`);
  const driver = driverRegister(s.bus, mdrv.name, {
    probe: (dev) => {
      // driverRegister binds before it returns: the tables must already name this driver.
      if (dev.driver !== null && !s.drivers.has(dev.driver)) s.drivers.set(dev.driver, mdrv);
      const mcDev = toMcDev(dev);
      mdrv.probe(mcDev);
      notify(s, 'bound-driver', mcDev);
    },
    remove: (dev) => {
      const mcDev = toMcDev(dev);
      const done = mdrv.remove?.(mcDev);
      if (done === undefined) return;
      const tracked = done.then(
        () => {
          if (pendingRemovals.get(mcDev) === tracked) pendingRemovals.delete(mcDev);
        },
        (err: unknown) => {
          if (pendingRemovals.get(mcDev) === tracked) pendingRemovals.delete(mcDev);
          host.logger.error({ device: mcDev.name, driver: mdrv.name, err: String(err) }, 'fsl-mc remove failed');
        },
      );
      pendingRemovals.set(mcDev, tracked);
    },
  });
  s.drivers.set(driver, mdrv);
  s.byDriver.set(mdrv, driver);
  return driver;
}

/** fsl_mc_driver_unregister(): unbinds every device; resolves once their removes have finished. */
export async function fslMcDriverUnregister(host: Host, mdrv: FslMcDriver): Promise<void> {
  const s = fslMcHostState(host);
  const driver = s.byDriver.get(mdrv);
  if (driver === undefined) throw new VfioError('ENODEV', `fsl-mc driver '${mdrv.name}' is not registered`);
  const bound = [...driver.devices].map(toMcDev);
  driverUnregister(driver);
  s.byDriver.delete(mdrv);
  s.drivers.delete(driver);
  await Promise.all(bound.map((d) => fslMcPendingRemoval(d)));
}

/** The unfinished remove of `mcDev`, if its driver's remove is still waiting. */
export function fslMcRemovalUnderWay(mcDev: FslMcDevice): Promise<void> | undefined {
  return pendingRemovals.get(mcDev);
}

/** Resolves once a driver's remove of `mcDev` under way has finished; never rejects. */
export function fslMcPendingRemoval(mcDev: FslMcDevice): Promise<void> {
  return pendingRemovals.get(mcDev) ?? Promise.resolve();
}

/** The fsl-mc devices whose parent is `mcDev` (device_for_each_child), in bus order. */
export function fslMcChildren(mcDev: FslMcDevice): FslMcDevice[] {
  const bus = mcDev.host === null ? undefined : states.get(mcDev.host)?.bus;
  if (bus === undefined) return [];
  return [...bus.devices].filter((d): d is FslMcDevice => d instanceof FslMcDevice && d.parent === mcDev);
}

export interface FslMcDeviceAddArgs {
  readonly objDesc: FslMcObjDesc;
  readonly parent: Device;
  readonly regions: readonly FslMcResource[];
  readonly icid: number;
}

/**
 * fsl_mc_device_add(): a device named `type.id` below `parent`; a DPRC gets an IOMMU group of its own (the SMMU
 * keys groups by ICID), any other object joins its container's. Notifiers hear ADD_DEVICE before a driver may bind.
 */
export function fslMcDeviceAdd(host: Host, args: FslMcDeviceAddArgs & { readonly mcIo?: FslMcDevice['mcIo'] }): FslMcDevice {
  const s = fslMcHostState(host);
  const mcDev = new FslMcDevice({ ...args.objDesc });
  mcDev.name = `${args.objDesc.type}.${args.objDesc.id}`;
  mcDev.parent = args.parent;
  mcDev.bus = s.bus;
  mcDev.groups = [fslMcDevAttrs];
  mcDev.icid = args.icid;
  mcDev.regions = [...args.regions];
  mcDev.mcIo = args.mcIo ?? null;
  // fsl_mc_device_release(): the regions go with the device.
  mcDev.release = (d) => {
    if (d instanceof FslMcDevice) d.regions = [];
  };
  if (args.objDesc.type === 'dprc') {
    mcDev.flags |= FSL_MC_IS_DPRC;
    mcDev.mcBus = { dprcAttr: null, irqPool: null };
  }
  deviceInitialize(mcDev, host);
  // iommu_probe_device() runs from the bus notifier, before a driver may bind (vfio needs the group at probe).
  joinIommuGroup(mcDev);
  notify(s, 'add-device', mcDev);
  try {
    deviceAdd(mcDev);
  } catch (err) {
    iommuGroupRemoveDevice(mcDev);
    putDevice(mcDev);
    throw err;
  }
  linkIommuGroup(mcDev);
  return mcDev;
}

/** The device joins its group before it has a sysfs directory: the group's links are made as deviceAdd makes it. */
function joinIommuGroup(mcDev: FslMcDevice): void {
  const host = mcDev.host;
  if (host === null) return;
  if ((mcDev.flags & FSL_MC_IS_DPRC) !== 0) {
    const group = iommuGroupAlloc(host);
    iommuGroupAddDevice(group, mcDev);
    // The device holds the group now; drop the allocation's reference.
    iommuGroupPut(group);
    return;
  }
  const cont = mcDev.parent;
  if (cont?.iommuGroup != null) iommuGroupAddDevice(cont.iommuGroup, mcDev);
}

/** The sysfs links iommuGroupAddDevice makes for a device that has its directory already. */
function linkIommuGroup(mcDev: FslMcDevice): void {
  const group = mcDev.iommuGroup;
  if (group === null || mcDev.kobj === null || mcDev.host === null) return;
  mcDev.host.sysfs.symlink(group.devicesDir, mcDev.name, mcDev.kobj);
  mcDev.host.sysfs.symlink(mcDev.kobj, 'iommu_group', group.dir);
}

/** fsl_mc_device_remove(): driver_override cleared, device_del (its driver's remove runs), the last put. */
export function fslMcDeviceRemove(mcDev: FslMcDevice): void {
  mcDev.driverOverride = null;
  deviceDel(mcDev);
  iommuGroupRemoveDevice(mcDev);
  putDevice(mcDev);
}
