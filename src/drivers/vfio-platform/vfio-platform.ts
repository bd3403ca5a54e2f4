// The vfio-platform driver (drivers/vfio/platform/vfio_platform.c): a platform driver with no match table (devices
// bind to it by driver_override) whose probe allocates a VfioPlatformDevice with vfio_platform_init_dev (name,
// VFIO_DEVICE_FLAGS_PLATFORM, resources and IRQs of the platform device, the module's reset_required) and
// vfio_platform_release_dev, registers it behind the device's IOMMU group and points drvdata at it; whose remove
// unregisters (waiting while the device is open) and puts it.
import type { Driver } from '../../base/driver.js';
import type { Host } from '../../base/host.js';
import { PlatformDevice, platformDriverRegister, platformDriverUnregister } from '../../hw/platform/platform-bus.js';
import { VfioError } from '../../uapi/errno.js';
import { VFIO_DEVICE_FLAGS_PLATFORM } from '../../uapi/device-info.js';
import { allocDevice, putVfioDevice } from '../../vfio/vfio-device.js';
import { registerGroupDev, unregisterGroupDev } from '../../vfio/registration.js';
import type { VfioDeviceOps } from '../../vfio/vfio-ops.js';
import { VfioPlatformDevice } from '../vfio-platform-common/private.js';
import { vfioPlatformCommonOps, vfioPlatformInitCommon, vfioPlatformReleaseCommon } from '../vfio-platform-common/common.js';

export interface VfioPlatformOptions {
  /** The module parameter reset_required (default true): a device without a reset handler is refused. */
  readonly resetRequired?: boolean;
  /** Milliseconds between the core's requests while a remove waits for users (the kernel's 10 s by default). */
  readonly requestIntervalMs?: number;
}

/** The loaded module: its platform driver and its exit. */
export interface VfioPlatformModule {
  readonly driver: Driver;
  /** platform_driver_unregister(): every bound device is removed, each waiting for its users. Idempotent. */
  unregister(): Promise<void>;
}

/** vfio_platform_init_dev(): what the platform device is, then vfio_platform_init_common. */
function vfioPlatformInitDev(vdev: VfioPlatformDevice, resetRequired: boolean): void {
  const pdev = vdev.dev;
  if (!(pdev instanceof PlatformDevice)) throw new VfioError('EINVAL', 'vfio-platform drives platform devices only');
  vdev.devName = pdev.name;
  vdev.flags = VFIO_DEVICE_FLAGS_PLATFORM;
  vdev.getResource = (_v, i) => pdev.resources[i] ?? null;
  vdev.getIrq = (_v, i) => pdev.irqLines[i] ?? null;
  vdev.resetRequired = resetRequired;
  vfioPlatformInitCommon(vdev);
}

/** vfio_platform_release_dev(). */
function vfioPlatformReleaseDev(vdev: VfioPlatformDevice): void {
  vfioPlatformReleaseCommon(vdev);
  vdev.getResource = null;
  vdev.getIrq = null;
}

/** vfio_platform_ops for a module loaded with `opts` (the module parameter is read at init, as the kernel's global). */
export function vfioPlatformOps(opts: VfioPlatformOptions = {}): VfioDeviceOps<VfioPlatformDevice> {
  const resetRequired = opts.resetRequired ?? true;
  return Object.freeze({
    ...vfioPlatformCommonOps,
    name: 'vfio-platform',
    init: (vdev: VfioPlatformDevice) => vfioPlatformInitDev(vdev, resetRequired),
    release: vfioPlatformReleaseDev,
  });
}

/** The VFIO device a bound platform device's drvdata points at. */
export function vfioPlatformDeviceOf(pdev: PlatformDevice): VfioPlatformDevice | null {
  return pdev.driverData instanceof VfioPlatformDevice ? pdev.driverData : null;
}

/** vfio_platform_probe(): alloc (init ran), register, drvdata; a failure puts the device again. */
function vfioPlatformProbe(pdev: PlatformDevice, ops: VfioDeviceOps<VfioPlatformDevice>): void {
  const vdev = allocDevice(VfioPlatformDevice, pdev, ops);
  try {
    registerGroupDev(vdev);
  } catch (err) {
    // Balances allocDevice: release runs, the index is free again.
    putVfioDevice(vdev);
    throw err;
  }
  pdev.driverData = vdev;
}

/** vfio_platform_remove(): unregister (the unbind or removal awaits it), then the last put. */
async function vfioPlatformRemove(pdev: PlatformDevice, opts: VfioPlatformOptions): Promise<void> {
  const vdev = vfioPlatformDeviceOf(pdev);
  if (vdev === null) throw new VfioError('ENODEV', `${pdev.name} has no vfio-platform device`);
  await unregisterGroupDev(vdev, opts.requestIntervalMs !== undefined ? { requestIntervalMs: opts.requestIntervalMs } : {});
  // Balances allocDevice in probe.
  putVfioDevice(vdev);
}

/** The module init: registers the `vfio-platform` platform driver. */
export function vfioPlatformRegister(host: Host, opts: VfioPlatformOptions = {}): VfioPlatformModule {
  const ops = vfioPlatformOps(opts);
  const driver = platformDriverRegister(host, {
    name: 'vfio-platform',
    probe: (pdev) => vfioPlatformProbe(pdev, ops),
    remove: (pdev) => vfioPlatformRemove(pdev, opts),
  });
  let gone: Promise<void> | null = null;
  return { driver, unregister: () => (gone ??= platformDriverUnregister(host, driver)) };
}
