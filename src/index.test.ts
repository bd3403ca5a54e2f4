// Tests for the curated entry point: the README's driver sketch runs through `vfio-ts`'s public API alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as api from './index.js';
import { Device, Host, VfioDevice, allocDevice, deviceRegister, deviceUnregister, putVfioDevice, registerEmulatedIommuDev, subscribeLifecycle, unregisterGroupDev } from './index.js';
import type { LifecycleEvent, VfioDeviceOps } from './index.js';

class MyState extends VfioDevice {
  counter = 0;
}

test("the README's driver sketch works through the entry point, in life-cycle order", async (t) => {
  const host = new Host();
  const parent = new Device();
  parent.name = 'my-parent';
  parent.release = () => {};
  deviceRegister(parent, host);
  t.after(() => deviceUnregister(parent));
  const calls: string[] = [];
  const ops: VfioDeviceOps<MyState> = Object.freeze({
    name: 'my-driver',
    init: (dev: MyState) => {
      dev.counter = 1;
      calls.push('init');
    },
    release: () => calls.push('release'),
  });
  const events: LifecycleEvent[] = [];
  const stop = subscribeLifecycle((e) => {
    if (e.driver === 'my-driver') events.push(e);
  });
  t.after(stop);
  const dev = allocDevice(MyState, parent, ops);
  assert.equal(dev.counter, 1);
  registerEmulatedIommuDev(dev);
  assert.ok(host.sysfs.exists(`/sys/devices/my-parent/vfio-dev/${dev.name}`));
  assert.deepEqual(host.sysfs.ls('/sys/class/vfio-dev'), [dev.name]);
  await unregisterGroupDev(dev);
  putVfioDevice(dev);
  assert.deepEqual(calls, ['init', 'release']);
  assert.deepEqual(
    events.map((e) => e.event),
    ['alloc', 'init', 'register', 'unregister', 'release', 'free'],
  );
});

test('the entry point offers each layer and nothing undefined', () => {
  for (const name of ['VfioError', 'VfioProcess', 'mdevCreate', 'builtinDrivers', 'DriverRegistry', 'VfioUserServer', 'VfioUserClient', 'sanitizer', 'pciEmuInit']) {
    assert.ok(name in api, name);
  }
  for (const [name, value] of Object.entries(api)) assert.notEqual(value, undefined, name);
});

test("each built-in driver is in the registry and its own API is the package's drivers/<name> entry", async () => {
  const names = (await api.builtinDrivers()).map((d) => d.name);
  assert.deepEqual(names, ['gvt', 'mbochs', 'mdpy', 'mtty']);
  const entries: Record<string, readonly string[]> = { mtty: ['mttyCreate', 'mttyRegister'], mdpy: ['mdpyRegister'], mbochs: ['mbochsRegister'], gvt: ['gvtRegister'] };
  for (const [driver, exported] of Object.entries(entries)) {
    const mod: unknown = await import(`vfio-ts/drivers/${driver}`);
    assert.ok(typeof mod === 'object' && mod !== null);
    for (const name of [...exported, 'driver']) assert.ok(name in mod, `vfio-ts/drivers/${driver} exports ${name}`);
  }
});
