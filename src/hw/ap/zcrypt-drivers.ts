// The host's default AP drivers (drivers/s390/crypto/zcrypt_cex4.c cex4card and cex4queue, both
// AP_DRIVER_FLAG_DEFAULT): they take the cards and queues apmask/aqmask keep for the host. Here they only bind;
// the host's own use of its queues (zcrypt requests) is not modelled.
import type { Driver } from '../../base/driver.js';
import type { Host } from '../../base/host.js';
import { apDriverRegister, apDriverUnregister } from './ap-bus.js';

/** The registered default drivers; `unregister` is zcrypt's module exit. */
export interface ZcryptDrivers {
  readonly card: Driver;
  readonly queue: Driver;
  unregister(): void;
}

export function zcryptRegisterDefaultDrivers(host: Host): ZcryptDrivers {
  const card = apDriverRegister(host, { name: 'cex4card', kind: 'card', isDefault: true, probe: () => {} });
  let queue: Driver;
  try {
    queue = apDriverRegister(host, { name: 'cex4queue', kind: 'queue', isDefault: true, probe: () => {} });
  } catch (err) {
    apDriverUnregister(host, card);
    throw err;
  }
  return {
    card,
    queue,
    unregister: () => {
      // Balances the registrations above, in reverse.
      apDriverUnregister(host, queue);
      apDriverUnregister(host, card);
    },
  };
}
