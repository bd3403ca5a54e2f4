// Rule 8 of DESIGN.md section 3: devices with one set id share one set, one lock and a summed open count;
// a set-wide reset runs only when no other member is open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioError } from '../uapi/errno.js';
import { VfioDevice, allocDevice, putVfioDevice } from './vfio-device.js';
import { registerEmulatedIommuDev, unregisterGroupDev } from './registration.js';
import { assignDeviceSet, deviceSetCanReset, deviceSetOpenCount } from './device-set.js';
import { deviceFileRelease, openDeviceFile } from './device-file.js';
import { vfioCore } from './core-state.js';
import { makeHost, makeParent, recordingOps } from './recording-ops.test-kit.js';

class Fn extends VfioDevice {
  resets = 0;
}

test('one set per id: shared lock and summed open count; singleton set by default', async () => {
  const { host, parent } = makeHost('0000:00:1f');
  const log: string[] = [];
  const inSlot = recordingOps<Fn>(log, { init: (d) => assignDeviceSet(d, 'slot 0000:00:1f') });
  const a = allocDevice(Fn, parent, inSlot);
  const b = allocDevice(Fn, makeParent(host, '0000:00:1f.1'), inSlot);
  const solo = allocDevice(Fn, makeParent(host, '0000:00:1f.2'), recordingOps<Fn>(log));
  for (const d of [a, b, solo]) registerEmulatedIommuDev(d);
  assert.equal(a.devSet, b.devSet);
  assert.notEqual(solo.devSet, a.devSet);
  // The slot's set is indexed; solo's singleton set (keyed by solo itself) is not: only solo names it.
  assert.equal(vfioCore(host).deviceSets.size, 1);
  const set = a.devSet;
  assert.ok(set);
  assert.equal(set.lock, b.devSet?.lock);
  const fa = openDeviceFile(a);
  const fb1 = openDeviceFile(b);
  const fb2 = openDeviceFile(b);
  set.lock.withLock(() => assert.equal(deviceSetOpenCount(set), 3));
  assert.throws(() => deviceSetOpenCount(set), /not held/);
  for (const f of [fa, fb1, fb2]) deviceFileRelease(f);
  for (const d of [a, b, solo]) await unregisterGroupDev(d);
  assert.throws(() => assignDeviceSet(solo, null), (e: unknown) => VfioError.is(e, 'EINVAL'));
  for (const d of [a, b, solo]) putVfioDevice(d);
  assert.equal(vfioCore(host).deviceSets.size, 0, 'the last member frees a set');
});

test('a device that names a registered device as its set id joins that device singleton set', async () => {
  const { host, parent } = makeHost();
  const solo = allocDevice(Fn, parent, recordingOps<Fn>([]));
  registerEmulatedIommuDev(solo);
  const soloSet = solo.devSet;
  assert.ok(soloSet);
  assert.equal(soloSet.setId, solo);
  const joiner = allocDevice(Fn, makeParent(host, 'parent1'), recordingOps<Fn>([], { init: (d) => assignDeviceSet(d, solo) }));
  assert.equal(joiner.devSet, soloSet);
  assert.equal(soloSet.deviceCount, 2);
  assert.deepEqual(soloSet.devices, [solo, joiner]);
  await unregisterGroupDev(solo);
  putVfioDevice(solo);
  assert.deepEqual(soloSet.devices, [joiner], 'the set outlives its first member');
  putVfioDevice(joiner);
  assert.equal(soloSet.deviceCount, 0);
  assert.equal(vfioCore(host).deviceSets.size, 0);
});

test('a set-wide reset happens on the last close only when no other member is open', async () => {
  const { host, parent } = makeHost();
  const resets: string[] = [];
  const ops = recordingOps<Fn>([], {
    init: (d) => assignDeviceSet(d, 'bus 01'),
    closeDevice: (d) => {
      if (deviceSetCanReset(d)) {
        for (const m of d.devSet?.devices ?? []) resets.push(`reset vfio${m.index}`);
      } else {
        resets.push(`skip vfio${d.index}`);
      }
    },
  });
  const a = allocDevice(Fn, parent, ops);
  const b = allocDevice(Fn, makeParent(host, 'parent1'), ops);
  registerEmulatedIommuDev(a);
  registerEmulatedIommuDev(b);
  const fa = openDeviceFile(a);
  const fb = openDeviceFile(b);
  deviceFileRelease(fa);
  assert.deepEqual(resets, ['skip vfio0'], 'b is still open');
  deviceFileRelease(fb);
  assert.deepEqual(resets, ['skip vfio0', 'reset vfio0', 'reset vfio1']);
  for (const d of [a, b]) await unregisterGroupDev(d);
  for (const d of [a, b]) putVfioDevice(d);
});
