// What `status` shows of a device while an unregister (or remove, or unbind) waits for its users: the kernel's
// vfio_unregister_group_dev has already made the device unreachable (no sysfs node, no socket), but it exists,
// clients still hold it and requests go out. The runtime records each such wait here, keyed by the bus device.
import type { Device } from '../base/device.js';
import { subscribeLifecycle } from '../vfio/events.js';
import type { VfioDevice } from '../vfio/vfio-device.js';

/** One wait for users, as status reports it. */
export interface PendingUnregister {
  /** `vfioN`. */
  readonly name: string;
  /** The VFIO driver (ops.name). */
  readonly driver: string;
  readonly startedAt: number;
  /** Requests sent so far (ops.request calls). */
  readonly requests: number;
  /** The open count, as the life-cycle events last reported it. */
  readonly openCount: number;
  /** Clients attached now. */
  clients(): number;
}

interface Entry {
  readonly name: string;
  readonly driver: string;
  readonly startedAt: number;
  requests: number;
  openCount: number;
  readonly clients: () => number;
}

export class PendingUnregisters {
  readonly #byDevice = new Map<Device, Entry>();

  /**
   * Records that `vdev` (driven for `busDev`) is being unregistered; returns the function that ends the record.
   * `clients` may only compare `vdev` by identity: the device is freed before the record ends.
   */
  begin(busDev: Device, vdev: VfioDevice, clients: () => number): () => void {
    const entry: Entry = {
      name: vdev.name,
      driver: vdev.ops?.name ?? '',
      startedAt: Date.now(),
      requests: 0,
      openCount: vdev.openCount,
      clients,
    };
    this.#byDevice.set(busDev, entry);
    // From here on the device is read only through its events: the wait ends with its release and free.
    const stop = subscribeLifecycle((e) => {
      if (e.name !== entry.name) return;
      if (e.event === 'request') entry.requests = (e.value ?? 0) + 1;
      else if (e.event === 'open' || e.event === 'close') entry.openCount = e.value ?? entry.openCount;
    });
    return () => {
      stop();
      if (this.#byDevice.get(busDev) === entry) this.#byDevice.delete(busDev);
    };
  }

  /** The wait under way for `busDev`, if any. */
  of(busDev: Device): PendingUnregister | undefined {
    const e = this.#byDevice.get(busDev);
    if (e === undefined) return undefined;
    return { name: e.name, driver: e.driver, startedAt: e.startedAt, requests: e.requests, openCount: e.openCount, clients: e.clients };
  }
}
