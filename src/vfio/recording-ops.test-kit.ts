// Test support: ops that record every call (and the core's life-cycle events) in one log, in order.
import { Device, deviceRegister } from '../base/device.js';
import { Host } from '../base/host.js';
import type { VfioDevice } from './vfio-device.js';
import { deviceLabel } from './vfio-device.js';
import type { VfioDeviceOps } from './vfio-ops.js';
import { subscribeLifecycle } from './events.js';
import { vfioConfigure } from './core-state.js';

/** Ops whose hooks append `hook:vfioN` to `log`; `overrides` replace hooks (their calls are logged too). */
export function recordingOps<D extends VfioDevice>(
  log: string[],
  overrides: Partial<Omit<VfioDeviceOps<D>, 'name'>> = {},
  name = 'fake',
): VfioDeviceOps<D> {
  const rec = (hook: string, d: D, extra?: string | number): void => {
    log.push(extra === undefined ? `${hook}:${deviceLabel(d)}` : `${hook}:${deviceLabel(d)}:${extra}`);
  };
  return Object.freeze({
    name,
    init(d: D) {
      rec('init', d);
      overrides.init?.(d);
    },
    release(d: D) {
      rec('release', d);
      overrides.release?.(d);
    },
    openDevice(d: D) {
      rec('openDevice', d);
      overrides.openDevice?.(d);
    },
    closeDevice(d: D) {
      rec('closeDevice', d);
      overrides.closeDevice?.(d);
    },
    request(d: D, count: number) {
      rec('request', d, count);
      overrides.request?.(d, count);
    },
    ...(overrides.read ? { read: overrides.read } : {}),
    ...(overrides.write ? { write: overrides.write } : {}),
    ...(overrides.ioctl ? { ioctl: overrides.ioctl } : {}),
    ...(overrides.match ? { match: overrides.match } : {}),
  });
}

/** Records core life-cycle events as `event:<step>:vfioN` in `log` until the returned function is called. */
export function recordEvents(log: string[]): () => void {
  return subscribeLifecycle((e) => log.push(`event:${e.event}:${e.name}`));
}

/** Another added parent device on `host` (each emulated device needs a parent of its own). */
export function makeParent(host: Host, name: string): Device {
  const parent = new Device();
  parent.name = name;
  parent.release = () => {};
  deviceRegister(parent, host);
  return parent;
}

/** A fresh host with one added parent device named `name` (an mdev or PCI function stand-in). */
export function makeHost(name = 'parent0', requestIntervalMs = 20): { host: Host; parent: Device } {
  const host = new Host();
  vfioConfigure(host, { requestIntervalMs });
  return { host, parent: makeParent(host, name) };
}
