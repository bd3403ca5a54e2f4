// The probe/remove pair every VFIO mdev driver has (samples/vfio-mdev/*.c *_probe/*_remove): probe
// allocates the VFIO device with the mdev as parent and registers it on the emulated IOMMU; remove
// unregisters it (waiting for its users) and drops the reference probe took.
import { VfioDevice, putVfioDevice } from '../vfio/vfio-device.js';
import { registerEmulatedIommuDev, unregisterGroupDev } from '../vfio/registration.js';
import type { UnregisterOptions } from '../vfio/registration.js';
import type { MdevDevice, MdevDriver, MdevType } from './mdev-objects.js';

/** A VFIO mdev driver's description: its mdev_driver fields and the factory for its devices. */
export interface MdevVfioDriverSpec {
  readonly name: string;
  /** Defaults to 'vfio-pci'. */
  readonly deviceApi?: string;
  /** Core-counted instances per parent (see MdevDriver.maxInstances). */
  readonly maxInstances?: number;
  getAvailable?(type: MdevType): number;
  showDescription?(type: MdevType): string;
  /**
   * Creates the mdev's VFIO device: allocDevice(DriverClass, mdev, ops), whose init takes budget and
   * builds state. It may also register it; if it does not, probe registers it on the emulated IOMMU.
   * Throwing fails the create with that errno.
   */
  create(mdev: MdevDevice, type: MdevType): VfioDevice;
  /** How unregister waits (request interval); the host's setting when absent. */
  readonly unregisterOptions?: UnregisterOptions;
}

/** The VFIO device probe made for `mdev` (dev_get_drvdata), or null when unbound. */
export function mdevVfioDevice(mdev: MdevDevice): VfioDevice | null {
  const data = mdev.driverData;
  return data instanceof VfioDevice ? data : null;
}

/** An MdevDriver whose probe creates and registers a VFIO device and whose remove unregisters and puts it. */
export function mdevVfioDriver(spec: MdevVfioDriverSpec): MdevDriver {
  const drv: MdevDriver = {
    name: spec.name,
    deviceApi: spec.deviceApi ?? 'vfio-pci',
    ...(spec.maxInstances !== undefined ? { maxInstances: spec.maxInstances } : {}),
    ...(spec.getAvailable !== undefined ? { getAvailable: spec.getAvailable } : {}),
    ...(spec.showDescription !== undefined ? { showDescription: spec.showDescription } : {}),
    probe(mdev: MdevDevice): void {
      const vdev = spec.create(mdev, mdev.type);
      if (vdev.regState === 'unregistered') {
        try {
          registerEmulatedIommuDev(vdev);
        } catch (err) {
          // Balances the reference allocDevice returned.
          putVfioDevice(vdev);
          throw err;
        }
      }
      mdev.driverData = vdev;
    },
    async remove(mdev: MdevDevice): Promise<void> {
      // Read before the first await: the bus clears driverData once remove returns.
      const vdev = mdevVfioDevice(mdev);
      if (vdev === null) return;
      await unregisterGroupDev(vdev, spec.unregisterOptions ?? {});
      // Balances allocDevice in create: the last put runs the driver's release.
      putVfioDevice(vdev);
    },
  };
  return Object.freeze(drv);
}
