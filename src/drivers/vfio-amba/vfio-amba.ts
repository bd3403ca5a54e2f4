// The vfio-amba driver (drivers/vfio/platform/vfio_amba.c): an AMBA driver whose id table matches nothing ({0, 0}),
// so devices bind by driver_override; probe allocates a VfioPlatformDevice with vfio_amba_init_dev (the name
// `vfio-amba-<periphid>` from the ID the bus read off the hardware, VFIO_DEVICE_FLAGS_AMBA, the one resource and
// the AMBA IRQs, reset_required false) and vfio_amba_release_dev, registers it and sets drvdata; remove
// unregisters (waiting while the device is open) and puts it.
import type { Driver } from '../../base/driver.js';
import type { Host } from '../../base/host.js';
import { AMBA_NR_IRQS, AmbaDevice, ambaDriverRegister, ambaDriverUnregister } from '../../hw/amba/amba-bus.js';
import { VfioError } from '../../uapi/errno.js';
import { VFIO_DEVICE_FLAGS_AMBA } from '../../uapi/device-info.js';
import { allocDevice, putVfioDevice } from '../../vfio/vfio-device.js';
import { registerGroupDev, unregisterGroupDev } from '../../vfio/registration.js';
import type { VfioDeviceOps } from '../../vfio/vfio-ops.js';
import { VfioPlatformDevice } from '../vfio-platform-common/private.js';
import { vfioPlatformCommonOps, vfioPlatformInitCommon, vfioPlatformReleaseCommon } from '../vfio-platform-common/common.js';

export interface VfioAmbaOptions {
  /** Milliseconds between the core's requests while a remove waits for users (the kernel's 10 s by default). */
  readonly requestIntervalMs?: number;
}

export interface VfioAmbaModule {
  readonly driver: Driver;
  /** amba_driver_unregister(): every bound device is removed, each waiting for its users. Idempotent. */
  unregister(): Promise<void>;
}

/** vfio_amba_init_dev(). */
function vfioAmbaInitDev(vdev: VfioPlatformDevice): void {
  const adev = vdev.dev;
  if (!(adev instanceof AmbaDevice)) throw new VfioError('EINVAL', 'vfio-amba drives AMBA devices only');
  vdev.devName = `vfio-amba-${adev.periphid.toString(16).padStart(8, '0')}`;
  vdev.flags = VFIO_DEVICE_FLAGS_AMBA;
  // get_amba_resource: the one window.
  vdev.getResource = (_v, i) => (i === 0 ? (adev.resources[0] ?? null) : null);
  // get_amba_irq: up to AMBA_NR_IRQS; an unset IRQ ends the list.
  vdev.getIrq = (_v, i) => (i < AMBA_NR_IRQS ? (adev.irqLines[i] ?? null) : null);
  // The kernel never requires a reset for AMBA devices.
  vdev.resetRequired = false;
  vfioPlatformInitCommon(vdev);
}

/** vfio_amba_release_dev(). */
function vfioAmbaReleaseDev(vdev: VfioPlatformDevice): void {
  vfioPlatformReleaseCommon(vdev);
  vdev.getResource = null;
  vdev.getIrq = null;
}

/** vfio_amba_ops. */
export const vfioAmbaOps: VfioDeviceOps<VfioPlatformDevice> = Object.freeze({
  ...vfioPlatformCommonOps,
  name: 'vfio-amba',
  init: vfioAmbaInitDev,
  release: vfioAmbaReleaseDev,
});

/** The VFIO device a bound AMBA device's drvdata points at. */
export function vfioAmbaDeviceOf(adev: AmbaDevice): VfioPlatformDevice | null {
  return adev.driverData instanceof VfioPlatformDevice ? adev.driverData : null;
}

/** vfio_amba_probe(). */
function vfioAmbaProbe(adev: AmbaDevice): void {
  const vdev = allocDevice(VfioPlatformDevice, adev, vfioAmbaOps);
  try {
    registerGroupDev(vdev);
  } catch (err) {
    // Balances allocDevice.
    putVfioDevice(vdev);
    throw err;
  }
  adev.driverData = vdev;
}

/** vfio_amba_remove(). */
async function vfioAmbaRemove(adev: AmbaDevice, opts: VfioAmbaOptions): Promise<void> {
  const vdev = vfioAmbaDeviceOf(adev);
  if (vdev === null) throw new VfioError('ENODEV', `${adev.name} has no vfio-amba device`);
  await unregisterGroupDev(vdev, opts.requestIntervalMs !== undefined ? { requestIntervalMs: opts.requestIntervalMs } : {});
  // Balances allocDevice in probe.
  putVfioDevice(vdev);
}

/** The module init: registers the `vfio-amba` AMBA driver. */
export function vfioAmbaRegister(host: Host, opts: VfioAmbaOptions = {}): VfioAmbaModule {
  const driver = ambaDriverRegister(host, {
    name: 'vfio-amba',
    idTable: [{ id: 0, mask: 0 }],
    probe: (adev) => vfioAmbaProbe(adev),
    remove: (adev) => vfioAmbaRemove(adev, opts),
  });
  let gone: Promise<void> | null = null;
  return { driver, unregister: () => (gone ??= ambaDriverUnregister(host, driver)) };
}
