// The asynchronous half of a driver's remove on the platform and AMBA buses: a VFIO driver's remove waits for its
// users (vfio_unregister_group_dev), so an unbind starts it and whoever removes the device or the driver awaits it.
// The kernel blocks in remove; here the bus records the promise (as drivers/pci's pci-bus-type.ts does).
import type { Device } from '../../base/device.js';
import type { Host } from '../../base/host.js';

const pending = new WeakMap<Device, Promise<void>>();

/** Records the unfinished part of a driver's remove of `dev`; a failure is logged, never thrown at the waiter. */
export function trackRemoval(host: Host, dev: Device, done: Promise<void>, driver: string): void {
  const tracked = done.then(
    () => {
      if (pending.get(dev) === tracked) pending.delete(dev);
    },
    (err: unknown) => {
      if (pending.get(dev) === tracked) pending.delete(dev);
      host.logger.error({ device: dev.name, driver, err: String(err) }, 'remove failed');
    },
  );
  pending.set(dev, tracked);
}

/** Resolves once a remove of `dev` under way has finished (at once if none is); never rejects. */
export function pendingRemoval(dev: Device): Promise<void> {
  return pending.get(dev) ?? Promise.resolve();
}
