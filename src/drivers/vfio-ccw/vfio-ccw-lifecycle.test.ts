// The series' vfio-ccw life cycle: the css probe allocates the private, the mdev probe initDevice()s it, release
// clears the core part and completes release_comp, the mdev remove waits for it, the css remove frees it with
// freeDevice. Every order of removal ends with no leak and the freed private poisoned (use after free throws).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mdevRemove } from '../../mdev/mdev-device.js';
import { UseAfterFreeError } from '../../sanitizer/errors.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { channel } from 'node:diagnostics_channel';
import { ccwRig, signalled } from './vfio-ccw.test-kit.js';

function recordSteps(t: { after(fn: () => void): void }): string[] {
  const seen: string[] = [];
  for (const step of ['release', 'free']) {
    const ch = channel(`vfio-ts:device:${step}`);
    const fn = (m: unknown): void => {
      // The free of a released private names no driver any more: release cleared its ops with the core part.
      if (typeof m === 'object' && m !== null && 'driver' in m && (m.driver === 'vfio-ccw' || (step === 'free' && m.driver === ''))) seen.push(step);
    };
    ch.subscribe(fn);
    t.after(() => ch.unsubscribe(fn));
  }
  return seen;
}

test('mdev first: remove waits for release; the private outlives it and serves a second mdev; the css remove frees it', async (t) => {
  const r = ccwRig();
  const steps = recordSteps(t);
  assert.equal(r.host.sysfs.read('/sys/devices/css0/0.0.0100/mdev_supported_types/vfio_ccw-io/device_api'), 'vfio-ccw\n');
  assert.equal(r.host.sysfs.read('/sys/devices/css0/0.0.0100/mdev_supported_types/vfio_ccw-io/available_instances'), '1\n');
  const first = r.create('0.0.0100');
  const d = r.open(first.priv);
  d.close();
  await mdevRemove(first.mdev);
  assert.deepEqual(steps, ['release'], 'released, not freed: the storage is the css side\'s');
  assert.equal(first.priv.releaseComp.completed, false, 'the remove consumed the completion');
  const second = r.create('0.0.0100');
  assert.equal(second.priv, first.priv, 'the same storage, initialized again');
  assert.equal(r.host.sysfs.read('/sys/devices/css0/0.0.0100/mdev_supported_types/vfio_ccw-io/available_instances'), '0\n');
  await mdevRemove(second.mdev);
  await r.done();
  // Both subchannels' privates are freed by their css removes; only 0.0.0100's was ever a vfio device.
  assert.deepEqual(steps, ['release', 'release', 'free', 'free']);
  if (sanitizer.enabled) assert.throws(() => first.priv.state, UseAfterFreeError);
});

test('subchannel first, mdev open: the device goes away, NOT_OPER, REQ asks the user; closing lets everything go', async () => {
  const r = ccwRig();
  const { priv } = r.create('0.0.0100');
  const d = r.open(priv);
  r.mod.machine.detachDevice('0.0.0100');
  assert.equal(priv.state, 'NOT_OPER');
  assert.throws(() => d.start({ intparm: 0, key: 0, spnd: false, fmt: true, pfch: true, isic: false, alcc: false, ssic: false, tm: false, c64: false, i2k: false, lpm: 0, ils: false, cpa: 0x1000 }), (e: unknown) => e instanceof Error && /EIO/.test(e.message));
  await signalled(d.reqEfd, 'REQ eventfd');
  assert.deepEqual(r.mod.parents().map((p) => p.dev.name), ['0.0.0101'], 'the subchannel unregisters');
  d.close();
  for (let i = 0; i < 50 && r.mod.machine.subchannel('0.0.0100') !== undefined; i++) await new Promise((res) => setTimeout(res, 2));
  assert.equal(r.mod.machine.subchannel('0.0.0100'), undefined);
  assert.equal(r.host.sysfs.exists('/sys/devices/css0/0.0.0100'), false);
  if (sanitizer.enabled) assert.throws(() => priv.cp, UseAfterFreeError);
  await r.done();
});

test('module exit with an mdev busy: unregister waits for the user, then frees; an idle private is freed too', async () => {
  const r = ccwRig();
  const { priv } = r.create('0.0.0101');
  const d = r.open(priv);
  let finished = false;
  const exit = r.mod.unregister().then(() => {
    finished = true;
  });
  await signalled(d.reqEfd, 'REQ eventfd');
  assert.equal(finished, false);
  d.close();
  await exit;
  assert.equal(r.host.sysfs.ls('/sys/bus/css/devices').length, 0);
  await r.done();
});
