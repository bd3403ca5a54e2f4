// The registration count (vfio_device_try_get_registration / vfio_device_put_registration in vfio_main.c):
// every open device file holds one; unregister waits for the completion at 0.
import type { VfioDevice } from './vfio-device.js';

/** Takes a registration reference unless the count already reached 0 (unregister under way or done). */
export function deviceTryGetRegistration(device: VfioDevice): boolean {
  return device.registration.incNotZero();
}

/** Drops a registration reference; the last one completes `device.comp`. */
export function devicePutRegistration(device: VfioDevice): void {
  if (device.registration.decAndTest()) device.comp.complete();
}
