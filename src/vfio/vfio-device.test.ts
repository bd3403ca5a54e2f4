// Rules 1-3 of DESIGN.md section 3: allocation, init failure, the last put's order, index reuse, initDevice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Device } from '../base/device.js';
import { VfioError } from '../uapi/errno.js';
import { sanitizer, UseAfterFreeError } from '../sanitizer/index.js';
import { VfioDevice, allocDevice, initDevice, freeDevice, getVfioDevice, putVfioDevice } from './vfio-device.js';
import { assignDeviceSet } from './device-set.js';
import { vfioCore } from './core-state.js';
import { makeHost, recordEvents, recordingOps } from './recording-ops.test-kit.js';

class FakeState extends VfioDevice {
  ports = 0;
}

test('alloc runs init once and returns the driver object with one reference', (t) => {
  const { host, parent } = makeHost();
  const log: string[] = [];
  t.after(recordEvents(log));
  const dev = allocDevice(FakeState, parent, recordingOps<FakeState>(log, { init: (d) => (d.ports = 2) }));
  assert.ok(dev instanceof FakeState);
  assert.ok(dev instanceof VfioDevice);
  assert.equal(dev.index, 0);
  assert.equal(dev.ports, 2);
  assert.equal(dev.kref.value, 1);
  assert.equal(dev.dev, parent);
  assert.deepEqual(log, ['event:alloc:vfio0', 'init:vfio0', 'event:init:vfio0']);
  assert.ok(vfioCore(host).deviceIda.has(0));
  putVfioDevice(dev);
});

test('the last put leaves the set, frees the index, runs release, then frees the storage', (t) => {
  const { host, parent } = makeHost();
  const log: string[] = [];
  t.after(recordEvents(log));
  const core = vfioCore(host);
  const ops = recordingOps<FakeState>(log, {
    init: (d) => assignDeviceSet(d, 'slot-1'),
    release: (d) => {
      // By the time release runs the device has left its set and given back its index.
      log.push(`in-release: set=${d.devSet === null ? 'none' : 'still'} index-free=${!core.deviceIda.has(d.index)}`);
      log.push(`set-exists=${core.deviceSets.has('slot-1')}`);
    },
  });
  const dev = allocDevice(FakeState, parent, ops);
  getVfioDevice(dev);
  log.length = 0;
  putVfioDevice(dev);
  assert.deepEqual(log, [], 'a put that is not the last does nothing');
  putVfioDevice(dev);
  assert.deepEqual(log, [
    'event:release:vfio0',
    'release:vfio0',
    'in-release: set=none index-free=true',
    'set-exists=false',
    'event:free:vfio0',
  ]);
  if (sanitizer.enabled) assert.throws(() => dev.ports, UseAfterFreeError);
});

test('init failure undoes everything and does not call release', (t) => {
  const { host, parent } = makeHost();
  const log: string[] = [];
  t.after(recordEvents(log));
  const mark = sanitizer.mark();
  const ops = recordingOps<FakeState>(log, {
    init: (d) => {
      assignDeviceSet(d, 'shared');
      throw new VfioError('ENOSPC', 'no ports left');
    },
  });
  assert.throws(() => allocDevice(FakeState, parent, ops), (e: unknown) => VfioError.is(e, 'ENOSPC'));
  assert.deepEqual(log, ['event:alloc:vfio0', 'init:vfio0']);
  assert.equal(vfioCore(host).deviceIda.count, 0, 'index returned');
  assert.equal(vfioCore(host).deviceSets.size, 0, 'set left');
  sanitizer.assertNoLeaks(mark);
  // The index is free again.
  const ok = allocDevice(FakeState, parent, recordingOps<FakeState>([]));
  assert.equal(ok.index, 0);
  putVfioDevice(ok);
});

test('an index is reusable only after the last put, and the lowest free one is taken', () => {
  const { parent } = makeHost();
  const ops = recordingOps<FakeState>([]);
  const a = allocDevice(FakeState, parent, ops);
  const b = allocDevice(FakeState, parent, ops);
  assert.deepEqual([a.index, b.index], [0, 1]);
  getVfioDevice(a);
  putVfioDevice(a);
  const c = allocDevice(FakeState, parent, ops);
  assert.equal(c.index, 2, 'vfio0 still referenced');
  putVfioDevice(a);
  const d = allocDevice(FakeState, parent, ops);
  assert.equal(d.index, 0, 'vfio0 reused after its last put');
  for (const x of [b, c, d]) putVfioDevice(x);
});

test('alloc refuses a class that does not extend VfioDevice, and a parent that is not a device', () => {
  const { parent } = makeHost();
  class NotVfio {}
  // A JavaScript caller can pass anything; the core checks at run time.
  const bad: unknown = NotVfio;
  assert.throws(
    () => allocDevice(bad as typeof VfioDevice, parent, recordingOps([])),
    (e: unknown) => VfioError.is(e, 'EINVAL'),
  );
  assert.throws(() => allocDevice(FakeState, new Device(), recordingOps<FakeState>([])), (e: unknown) => VfioError.is(e, 'EINVAL'));
});

test('initDevice: driver-allocated storage is released by the last put and freed by the driver later', (t) => {
  const { parent } = makeHost();
  const log: string[] = [];
  t.after(recordEvents(log));
  const mark = sanitizer.mark();
  const priv = new FakeState();
  initDevice(priv, parent, recordingOps<FakeState>(log));
  assert.equal(priv.kref.value, 1);
  assert.throws(() => initDevice(priv, parent, recordingOps<FakeState>(log)), (e: unknown) => VfioError.is(e, 'EBUSY'));
  assert.throws(() => freeDevice(priv), /while 1 reference/);
  putVfioDevice(priv);
  assert.deepEqual(log, ['event:alloc:vfio0', 'init:vfio0', 'event:init:vfio0', 'event:release:vfio0', 'release:vfio0']);
  // Still usable between release and free (the ccw driver's completion hands the free over).
  priv.ports = 3;
  if (sanitizer.enabled) assert.equal(sanitizer.leaks().filter((l) => l.object.includes('awaiting freeDevice')).length, 1);
  freeDevice(priv);
  assert.deepEqual(log.slice(-1), ['event:free:vfio0']);
  sanitizer.assertNoLeaks(mark);
});
