// The DPRC driver (drivers/bus/fsl-mc/dprc-driver.c): dprc_setup/dprc_cleanup (a DPRC's MC portal and session),
// dprc_scan_container/dprc_scan_objects (the container's objects, asked of the MC, become devices on the bus:
// allocatable ones first; gone ones are removed) and the `fsl_mc_dprc` driver that binds every plugged DPRC.
import type { Driver } from '../../base/driver.js';
import type { Host } from '../../base/host.js';
import { VfioError } from '../../uapi/errno.js';
import { FSL_MC_VENDOR_FREESCALE } from './mc-cmd.js';
import { dprcClose, dprcGetApiVersion, dprcGetAttributes, dprcGetObj, dprcGetObjCount, dprcGetObjRegion, dprcOpen } from './dprc.js';
import type { FslMcObjDesc } from './dprc.js';
import { fslCreateMcIo } from './mc-sys.js';
import { FslMcDevice, isFslMcBusDprc } from './fsl-mc-device.js';
import type { FslMcResource } from './fsl-mc-device.js';
import {
  fslMcChildren,
  fslMcDeviceAdd,
  fslMcDeviceRemove,
  fslMcDriverRegister,
  fslMcDriverUnregister,
  fslMcIoremap,
  fslMcIsRootDprc,
  fslMcRemovalUnderWay,
} from './fsl-mc-bus.js';
import type { FslMcDriver } from './fsl-mc-bus.js';
import { FSL_MC_IRQ_POOL_MAX_TOTAL_IRQS, fslMcCleanupIrqPool, fslMcPopulateIrqPool } from './fsl-mc-msi.js';

/** DPRC_MIN_VER_MAJOR. */
const DPRC_MIN_VER_MAJOR = 6;

function hostOf(mcDev: FslMcDevice): Host {
  if (mcDev.host === null) throw new Error(`${mcDev.name} is not initialized`);
  return mcDev.host;
}

/** dprc_setup(): a child DPRC's MC I/O over its region 0 portal, the session (dprc_open), attributes, API check. */
export function dprcSetup(mcDev: FslMcDevice): void {
  if (!isFslMcBusDprc(mcDev) || mcDev.mcBus === null) throw new VfioError('EINVAL', `${mcDev.name} is not a DPRC`);
  let created = false;
  if (mcDev.mcIo === null) {
    const r = mcDev.regions[0];
    if (!(mcDev.parent instanceof FslMcDevice) || r === undefined) throw new VfioError('EINVAL', `${mcDev.name} has no MC portal`);
    mcDev.mcIo = fslCreateMcIo(mcDev, fslMcIoremap(hostOf(mcDev), r.start, r.size), r.start);
    created = true;
  }
  let opened = false;
  try {
    mcDev.mcHandle = dprcOpen(mcDev.mcIo, mcDev.objDesc.id);
    opened = true;
    mcDev.mcBus.dprcAttr = dprcGetAttributes(mcDev.mcIo, mcDev.mcHandle);
    const v = dprcGetApiVersion(mcDev.mcIo);
    if (v.major < DPRC_MIN_VER_MAJOR) throw new VfioError('EOPNOTSUPP', `DPRC version ${v.major}.${v.minor} not supported`);
  } catch (err) {
    if (opened) closeQuietly(mcDev);
    if (created) mcDev.mcIo = null;
    throw err;
  }
}

function closeQuietly(mcDev: FslMcDevice): void {
  if (mcDev.mcIo === null) return;
  try {
    dprcClose(mcDev.mcIo, mcDev.mcHandle);
  } catch (err) {
    hostOf(mcDev).logger.error({ device: mcDev.name, err: String(err) }, 'dprc_close() failed');
  }
  mcDev.mcHandle = 0;
}

/** dprc_cleanup(): the irq pool, the session (dprc_close), and a child DPRC's MC I/O. */
export function dprcCleanup(mcDev: FslMcDevice): void {
  if (!isFslMcBusDprc(mcDev)) throw new VfioError('EINVAL', `${mcDev.name} is not a DPRC`);
  fslMcCleanupIrqPool(mcDev);
  if (mcDev.mcIo === null) throw new VfioError('EINVAL', `${mcDev.name}: mc_io is NULL, tear down cannot be performed in firmware`);
  closeQuietly(mcDev);
  if (mcDev.mcBus !== null) mcDev.mcBus.dprcAttr = null;
  if (!fslMcIsRootDprc(mcDev)) mcDev.mcIo = null;
}

const sameObj = (a: FslMcObjDesc, b: FslMcObjDesc): boolean => a.id === b.id && a.type === b.type;

/**
 * dprc_remove_devices(): removes the children of `mcBusDev` not in `present` (all of them when null). Returns the
 * removes still under way (drivers waiting for users); empty when every child is gone already.
 */
export function dprcRemoveDevices(mcBusDev: FslMcDevice, present: readonly FslMcObjDesc[] | null = null): Promise<void>[] {
  const gone = fslMcChildren(mcBusDev).filter((c) => present === null || !present.some((d) => d.type !== '' && sameObj(c.objDesc, d)));
  const waiting: Promise<void>[] = [];
  for (const c of gone) {
    fslMcDeviceRemove(c);
    const w = fslMcRemovalUnderWay(c);
    if (w !== undefined) waiting.push(w);
  }
  return waiting;
}

/** fsl_mc_obj_desc_is_allocatable(). */
const isAllocatable = (d: FslMcObjDesc): boolean => d.type === 'dpmcp' || d.type === 'dpcon' || d.type === 'dpbp';

/** get_dprc_icid(): a child DPRC's ICID, asked through its parent's portal. */
function childDprcIcid(parent: FslMcDevice, id: number): number {
  if (parent.mcIo === null) throw new VfioError('ENODEV', `${parent.name} has no MC portal`);
  const token = dprcOpen(parent.mcIo, id);
  try {
    return dprcGetAttributes(parent.mcIo, token).icid;
  } finally {
    dprcClose(parent.mcIo, token);
  }
}

/** fsl_mc_device_get_mmio_regions(): the object's regions from the MC, through its container's session. */
function mmioRegions(parent: FslMcDevice, d: FslMcObjDesc): FslMcResource[] {
  if (parent.mcIo === null) throw new VfioError('ENODEV', `${parent.name} has no MC portal`);
  const out: FslMcResource[] = [];
  for (let i = 0; i < d.regionCount; i++) {
    const r = dprcGetObjRegion(parent.mcIo, parent.mcHandle, d.type, d.id, i);
    // The base address comes with DPRC API 6.3; older firmware needs the device tree's ranges (not simulated).
    if (r.baseAddress === 0n) throw new VfioError('EFAULT', `invalid MC offset 0x${r.baseOffset.toString(16)} for ${d.type}.${d.id}'s region ${i}`);
    out.push({ start: r.baseAddress + BigInt(r.baseOffset), size: r.size, flags: r.flags });
  }
  return out;
}

/** fsl_mc_obj_device_add(): a new device for `d` (a known one only has its plugged state followed). */
function objDeviceAdd(mcBusDev: FslMcDevice, d: FslMcObjDesc): void {
  const known = fslMcChildren(mcBusDev).find((c) => sameObj(c.objDesc, d));
  if (known !== undefined) {
    known.objDesc.state = d.state;
    return;
  }
  try {
    fslMcDeviceAdd(hostOf(mcBusDev), {
      objDesc: d,
      parent: mcBusDev,
      regions: d.regionCount > 0 ? mmioRegions(mcBusDev, d) : [],
      icid: d.type === 'dprc' ? childDprcIcid(mcBusDev, d.id) : mcBusDev.icid,
    });
  } catch (err) {
    hostOf(mcBusDev).logger.error({ device: `${d.type}.${d.id}`, err: String(err) }, 'fsl_mc_device_add() failed');
  }
}

/** dprc_scan_objects(): asks the MC what the container holds; removes the gone, adds the new (allocatable first). */
export function dprcScanObjects(mcBusDev: FslMcDevice, allocInterrupts: boolean): void {
  if (mcBusDev.mcIo === null || mcBusDev.mcBus === null) throw new VfioError('EINVAL', `${mcBusDev.name} is not set up`);
  const count = dprcGetObjCount(mcBusDev.mcIo, mcBusDev.mcHandle);
  const descs: FslMcObjDesc[] = [];
  for (let i = 0; i < count; i++) {
    try {
      descs.push(dprcGetObj(mcBusDev.mcIo, mcBusDev.mcHandle, i));
    } catch (err) {
      // An entry that could not be read is marked invalid with an empty type, as the kernel does.
      hostOf(mcBusDev).logger.error({ device: mcBusDev.name, index: i, err: String(err) }, 'dprc_get_obj() failed');
      descs.push({ type: '', id: -1, vendor: 0, verMajor: 0, verMinor: 0, irqCount: 0, regionCount: 0, state: 0, label: '', flags: 0 });
    }
  }
  if (allocInterrupts) fslMcPopulateIrqPool(mcBusDev, FSL_MC_IRQ_POOL_MAX_TOTAL_IRQS);
  void dprcRemoveDevices(mcBusDev, descs);
  for (const d of descs) if (d.type !== '' && isAllocatable(d)) objDeviceAdd(mcBusDev, d);
  for (const d of descs) if (d.type !== '' && !isAllocatable(d)) objDeviceAdd(mcBusDev, d);
}

/** dprc_scan_container(). */
export function dprcScanContainer(mcBusDev: FslMcDevice, allocInterrupts: boolean): void {
  dprcScanObjects(mcBusDev, allocInterrupts);
}

/** The kernel's own DPRC driver: binds plugged DPRCs of the vendor, sets them up and scans them. */
export const dprcDriver: FslMcDriver = Object.freeze({
  name: 'fsl_mc_dprc',
  matchIdTable: [{ vendor: FSL_MC_VENDOR_FREESCALE, objType: 'dprc' }],
  /** dprc_probe() (without the DPRC's own change interrupt: a rescan is asked for by calling dprcScanContainer). */
  probe(mcDev: FslMcDevice) {
    dprcSetup(mcDev);
    try {
      dprcScanContainer(mcDev, true);
    } catch (err) {
      dprcRemoveDevices(mcDev);
      dprcCleanup(mcDev);
      throw err;
    }
  },
  /**
   * dprc_remove(): the children leave, then the DPRC is cleaned up: at once, or once the children's drivers
   * finished removing (the kernel's remove blocks; here the bus awaits the promise).
   */
  remove(mcDev: FslMcDevice): void | Promise<void> {
    const waiting = dprcRemoveDevices(mcDev);
    if (waiting.length === 0) return dprcCleanup(mcDev);
    return Promise.all(waiting).then(() => dprcCleanup(mcDev));
  },
});

/** dprc_driver_init(). */
export function dprcDriverInit(host: Host): Driver {
  return fslMcDriverRegister(host, dprcDriver);
}

/** dprc_driver_exit(). */
export function dprcDriverExit(host: Host): Promise<void> {
  return fslMcDriverUnregister(host, dprcDriver);
}
