// The sanitizer: use after free (with the device and field named), double free, refcount warnings, leaks,
// files open at free, and a replay of the bug v4 of the series fixed in mtty/mbochs release.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sanitizer, Sanitizer, UseAfterFreeError, DoubleFreeError, LeakError } from './index.js';
import { Refcount, refcountWarnChannel } from '../base/refcount.js';
import { VfioDevice, allocDevice, initDevice, freeDevice, putVfioDevice, getVfioDevice } from '../vfio/vfio-device.js';
import { registerEmulatedIommuDev, unregisterGroupDev } from '../vfio/registration.js';
import { openDeviceFile, deviceFileRelease } from '../vfio/device-file.js';
import { makeHost, recordingOps } from '../vfio/recording-ops.test-kit.js';

class Mtty extends VfioDevice {
  nrPorts = 2;
  describe(): string {
    return `${this.nrPorts} ports`;
  }
}

test('the sanitizer is on under node --test', () => {
  assert.equal(sanitizer.enabled, true);
});

test('any access to a freed device throws UseAfterFreeError naming the device, the field and where it was freed', () => {
  const { parent } = makeHost();
  const dev = allocDevice(Mtty, parent, recordingOps<Mtty>([]));
  putVfioDevice(dev);
  assert.throws(() => dev.nrPorts, (e: unknown) => e instanceof UseAfterFreeError && e.object === 'vfio0' && e.field === 'nrPorts' && /putVfioDevice|putDevice/.test(e.freedAt));
  assert.throws(() => dev.describe(), (e: unknown) => e instanceof UseAfterFreeError && e.field === 'describe');
  assert.throws(() => {
    dev.nrPorts = 5;
  }, UseAfterFreeError);
  assert.throws(() => putVfioDevice(dev), (e: unknown) => e instanceof UseAfterFreeError && e.field === 'putDevice');
  assert.throws(() => getVfioDevice(dev), UseAfterFreeError);
  assert.ok(dev instanceof Mtty, 'identity checks still work');
  // A freed device can still be resolved by a promise without a report (`then` is not a use).
  return Promise.resolve(dev).then((d) => assert.equal(d, dev));
});

test('replay of the v4 bug: release that reads its state after freeDevice is caught, naming device and field', () => {
  const { parent } = makeHost();
  let availPorts = 24;
  // The driver owns its storage (initDevice) and frees it in release, then reads a field: the v4 bug.
  const buggy = recordingOps<Mtty>([], {
    release: (d) => {
      freeDevice(d);
      availPorts += d.nrPorts;
    },
  });
  const dev = new Mtty();
  initDevice(dev, parent, buggy);
  availPorts -= dev.nrPorts;
  assert.throws(() => putVfioDevice(dev), (e: unknown) => {
    assert.ok(e instanceof UseAfterFreeError);
    assert.equal(e.object, 'vfio0');
    assert.equal(e.field, 'nrPorts');
    assert.match(e.message, /vfio0\.nrPorts accessed after vfio0 was freed/);
    return true;
  });
  assert.equal(availPorts, 22, 'the ports never came back');

  // The fixed driver gives the ports back before the free.
  const fixed = recordingOps<Mtty>([], {
    release: (d) => {
      availPorts += d.nrPorts;
      freeDevice(d);
    },
  });
  const ok = new Mtty();
  initDevice(ok, parent, fixed);
  putVfioDevice(ok);
  assert.equal(availPorts, 24);
});

test('freeing core-allocated storage in release is a double free', () => {
  const { parent } = makeHost();
  const dev = allocDevice(Mtty, parent, recordingOps<Mtty>([], { release: (d) => freeDevice(d) }));
  assert.throws(() => putVfioDevice(dev), DoubleFreeError);
});

test('refcount_t: underflow, increment on zero and overflow warn and saturate', (t) => {
  const seen: string[] = [];
  const fn = (m: unknown): void => {
    if (typeof m === 'object' && m !== null && 'kind' in m) seen.push(String(m.kind));
  };
  refcountWarnChannel.subscribe(fn);
  t.after(() => refcountWarnChannel.unsubscribe(fn));
  const r = new Refcount(1, 'test');
  assert.equal(r.decAndTest(), true);
  assert.equal(r.decAndTest(), false);
  assert.equal(r.saturated, true);
  assert.equal(r.decAndTest(), false, 'a saturated count never frees again');
  const z = new Refcount(0, 'zero');
  z.inc();
  assert.equal(z.saturated, true);
  const big = new Refcount(0x7fffffff, 'big');
  big.inc();
  assert.equal(big.saturated, true);
  assert.equal(new Refcount(0, 'x').incNotZero(), false);
  assert.deepEqual(seen, ['refcount-underflow', 'refcount-inc-on-zero', 'refcount-overflow']);
  const before = sanitizer.reports.length;
  const mark = sanitizer.reportsOf('refcount-underflow', before).length;
  assert.equal(mark, 0);
  assert.ok(sanitizer.reportsOf('refcount-underflow').length >= 1, 'the sanitizer records refcount warnings');
});

test('leaks: a device never put is listed with where it was allocated', () => {
  const { parent } = makeHost();
  const mark = sanitizer.mark();
  const dev = allocDevice(Mtty, parent, recordingOps<Mtty>([]));
  assert.throws(() => sanitizer.assertNoLeaks(mark), (e: unknown) => e instanceof LeakError && e.leaks.length === 1 && e.leaks[0]?.object === 'vfio0');
  putVfioDevice(dev);
  sanitizer.assertNoLeaks(mark);
});

test('a file still open when the device is released is reported', async () => {
  const { parent } = makeHost();
  const dev = allocDevice(Mtty, parent, recordingOps<Mtty>([]));
  registerEmulatedIommuDev(dev);
  const f = openDeviceFile(dev);
  const from = sanitizer.reports.length;
  // A driver bug: it drops its reference while registered and in use.
  putVfioDevice(dev);
  assert.equal(sanitizer.reportsOf('freed-while-registered', from).length, 1);
  assert.equal(sanitizer.reportsOf('open-file-at-free', from).length, 1);
  void f;
  void unregisterGroupDev;
  void deviceFileRelease;
});

test('off, the sanitizer tracks nothing and touches no object', () => {
  const s = new Sanitizer();
  s.enabled = false;
  const o = { a: 1 };
  s.track(o, 'obj', 'o');
  s.free(o);
  assert.equal(o.a, 1);
  assert.equal(s.liveCount(), 0);
});
