// The vfio-fsl-mc driver (drivers/vfio/fsl-mc/vfio_fsl_mc.c after "Tidy up vfio_device life cycle"): init puts a
// DPRC in a device set of its own and every other object in its container's (vfio_assign_device_set); a DPRC's
// init registers a bus notifier (its children get driver_override so they bind here) and sets up its MC portal;
// probe allocates, registers and scans a DPRC; remove unregisters (waiting for users), removes a DPRC's children
// and puts; release undoes init.
import type { Driver } from '../../base/driver.js';
import type { Host } from '../../base/host.js';
import { dprcCleanup, dprcRemoveDevices, dprcScanContainer, dprcSetup } from '../../hw/fsl-mc/dprc-driver.js';
import { FslMcDevice, isFslMcBusDprc } from '../../hw/fsl-mc/fsl-mc-device.js';
import { fslMcBusRegisterNotifier, fslMcBusUnregisterNotifier, fslMcDriverRegister, fslMcDriverUnregister } from '../../hw/fsl-mc/fsl-mc-bus.js';
import type { FslMcBusEvent, FslMcDriver } from '../../hw/fsl-mc/fsl-mc-bus.js';
import { VfioError } from '../../uapi/errno.js';
import { assignDeviceSet } from '../../vfio/device-set.js';
import { registerGroupDev, unregisterGroupDev } from '../../vfio/registration.js';
import { allocDevice, putVfioDevice } from '../../vfio/vfio-device.js';
import type { VfioDeviceOps } from '../../vfio/vfio-ops.js';
import { VfioFslMcDevice, mcDevOf } from './vfio-fsl-mc-private.js';
import { vfioFslMcCloseDevice, vfioFslMcIoctl, vfioFslMcMmap, vfioFslMcOpenDevice, vfioFslMcRead, vfioFslMcWrite } from './vfio-fsl-mc-ops.js';

/** The driver's name on the fsl-mc bus, and what children of a vfio-bound DPRC get as driver_override. */
export const VFIO_FSL_MC_DRIVER = 'vfio-fsl-mc';

/** vfio_fsl_mc_bus_notifier(): a DPRC bound here hands its new children to this driver. */
function busNotifier(vdev: VfioFslMcDevice, event: FslMcBusEvent, dev: FslMcDevice): void {
  if (dev.parent !== vdev.mcDev) return;
  if (event === 'add-device') {
    dev.driverOverride = VFIO_FSL_MC_DRIVER;
    dev.host?.logger.info({ device: dev.name, dprc: vdev.mcDev?.name }, 'VFIO_FSL_MC: Setting driver override for device in dprc');
  } else if (dev.driver !== null && dev.driver.name !== VFIO_FSL_MC_DRIVER) {
    dev.host?.logger.warn({ device: dev.name, driver: dev.driver.name }, 'VFIO_FSL_MC: Object bound to another driver while DPRC bound to vfio-fsl-mc');
  }
}

/** vfio_fsl_mc_init_device(): objects share their container's portal; a DPRC gets the notifier and its own. */
function initDevice(vdev: VfioFslMcDevice): void {
  const mcDev = mcDevOf(vdev);
  const host = mcDev.host;
  if (host === null) throw new VfioError('ENODEV', `${mcDev.name} is not initialized`);
  if (!isFslMcBusDprc(mcDev)) {
    if (!(mcDev.parent instanceof FslMcDevice)) throw new VfioError('EINVAL', `${mcDev.name} is not in a container`);
    mcDev.mcIo = mcDev.parent.mcIo;
    return;
  }
  const nb = (event: FslMcBusEvent, dev: FslMcDevice): void => busNotifier(vdev, event, dev);
  fslMcBusRegisterNotifier(host, nb);
  vdev.nb = nb;
  try {
    // Open the DPRC, with an MC I/O object over its portal.
    dprcSetup(mcDev);
  } catch (err) {
    fslMcBusUnregisterNotifier(host, nb);
    vdev.nb = null;
    throw err;
  }
}

/** vfio_fsl_mc_init_dev(). */
function vfioFslMcInitDev(vdev: VfioFslMcDevice): void {
  const mcDev = vdev.dev;
  if (!(mcDev instanceof FslMcDevice)) throw new VfioError('EINVAL', 'vfio-fsl-mc drives fsl-mc objects');
  vdev.mcDev = mcDev;
  // A DPRC is the set of every object inside it. The core releases the set if init fails.
  assignDeviceSet(vdev, isFslMcBusDprc(mcDev) ? mcDev : mcDev.parent);
  initDevice(vdev);
}

/** vfio_fsl_uninit_device() from vfio_fsl_mc_release_dev(): a DPRC's portal and session, then its notifier. */
function vfioFslMcReleaseDev(vdev: VfioFslMcDevice): void {
  const mcDev = mcDevOf(vdev);
  if (!isFslMcBusDprc(mcDev)) return;
  dprcCleanup(mcDev);
  if (vdev.nb !== null && mcDev.host !== null) fslMcBusUnregisterNotifier(mcDev.host, vdev.nb);
  vdev.nb = null;
}

/** vfio_fsl_mc_ops (no request: the kernel's driver has none, so a remove waits silently). */
export const vfioFslMcOps: VfioDeviceOps<VfioFslMcDevice> = Object.freeze({
  name: VFIO_FSL_MC_DRIVER,
  init: vfioFslMcInitDev,
  release: vfioFslMcReleaseDev,
  openDevice: vfioFslMcOpenDevice,
  closeDevice: vfioFslMcCloseDevice,
  ioctl: vfioFslMcIoctl,
  read: (vdev: VfioFslMcDevice, buf: Uint8Array, pos: number) => vfioFslMcRead(vdev, buf, pos),
  write: (vdev: VfioFslMcDevice, buf: Uint8Array, pos: number) => vfioFslMcWrite(vdev, buf, pos),
  mmap: vfioFslMcMmap,
});

/** The vfio-fsl-mc device a bound object's drvdata points at. */
export function vfioFslMcDeviceOf(mcDev: FslMcDevice): VfioFslMcDevice | null {
  return mcDev.driverData instanceof VfioFslMcDevice ? mcDev.driverData : null;
}

/** vfio_fsl_mc_probe(): alloc, register, scan a DPRC (its children bind here); any failure undoes the rest. */
function vfioFslMcProbe(mcDev: FslMcDevice): void {
  const vdev = allocDevice(VfioFslMcDevice, mcDev, vfioFslMcOps);
  try {
    registerGroupDev(vdev);
  } catch (err) {
    // Balances allocDevice.
    putVfioDevice(vdev);
    throw err;
  }
  try {
    if (isFslMcBusDprc(mcDev)) dprcScanContainer(mcDev, false);
  } catch (err) {
    dprcRemoveDevices(mcDev);
    // Nothing has the device open yet: the unregister finishes before it returns.
    unregisterGroupDev(vdev).catch(() => {});
    putVfioDevice(vdev);
    throw err;
  }
  mcDev.driverData = vdev;
}

/** vfio_fsl_mc_remove(): unregister (waits for users), remove a DPRC's children (waits for theirs), the last put. */
async function vfioFslMcRemove(mcDev: FslMcDevice, requestIntervalMs: number | undefined): Promise<void> {
  const vdev = vfioFslMcDeviceOf(mcDev);
  if (vdev === null) throw new VfioError('ENODEV', `${mcDev.name} has no vfio-fsl-mc device`);
  await unregisterGroupDev(vdev, requestIntervalMs !== undefined ? { requestIntervalMs } : {});
  await Promise.all(dprcRemoveDevices(mcDev));
  mcDev.driverData = null;
  // Balances allocDevice in probe.
  putVfioDevice(vdev);
}

export interface VfioFslMcOptions {
  /** Milliseconds between the core's request steps while a remove waits for users (the kernel's 10 s by default). */
  readonly requestIntervalMs?: number;
}

/** The vfio-fsl-mc module loaded: the driver, and the module exit. */
export interface VfioFslMcModule {
  readonly driver: Driver;
  readonly mdrv: FslMcDriver;
  /** fsl_mc_driver_unregister(): every bound object is removed, each waiting for its users. Idempotent. */
  unregister(): Promise<void>;
}

/** vfio_fsl_mc_driver_init(): objects with driver_override `vfio-fsl-mc` bind at once, or later through `bind`. */
export function vfioFslMcRegister(host: Host, opts: VfioFslMcOptions = {}): VfioFslMcModule {
  const mdrv: FslMcDriver = Object.freeze({
    name: VFIO_FSL_MC_DRIVER,
    probe: vfioFslMcProbe,
    remove: (mcDev: FslMcDevice) => vfioFslMcRemove(mcDev, opts.requestIntervalMs),
  });
  const driver = fslMcDriverRegister(host, mdrv);
  let gone: Promise<void> | null = null;
  return { driver, mdrv, unregister: () => (gone ??= fslMcDriverUnregister(host, mdrv)) };
}
