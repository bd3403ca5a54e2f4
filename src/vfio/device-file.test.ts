// Rule 7 of DESIGN.md section 3: open/close counting, openDevice under the set lock, unwinding, the cdev's
// single open against the group path's many.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioError } from '../uapi/errno.js';
import { VfioDevice, allocDevice, putVfioDevice } from './vfio-device.js';
import { registerEmulatedIommuDev, unregisterGroupDev } from './registration.js';
import { deviceFileRead, deviceFileRelease, openDeviceFile, vfioDfClose, vfioDfOpen } from './device-file.js';
import type { DeviceFileBinding } from './device-file.js';
import { cdevOpen } from './cdev.js';
import { makeHost, makeParent, recordingOps } from './recording-ops.test-kit.js';

class Dev extends VfioDevice {}

async function withDevice(
  log: string[],
  overrides: Parameters<typeof recordingOps<Dev>>[1] = {},
): Promise<{ dev: Dev; done: () => Promise<void>; host: ReturnType<typeof makeHost>['host'] }> {
  const { host, parent } = makeHost();
  const dev = allocDevice(Dev, parent, recordingOps<Dev>(log, overrides));
  registerEmulatedIommuDev(dev);
  return {
    dev,
    host,
    done: async () => {
      await unregisterGroupDev(dev);
      putVfioDevice(dev);
    },
  };
}

test('first open runs openDevice under the set lock, last close runs closeDevice; the group path opens many times', async () => {
  const log: string[] = [];
  const { dev, done } = await withDevice(log, {
    openDevice: (d) => {
      d.devSet?.lock.assertHeld();
      log.push('lock held');
    },
    closeDevice: (d) => d.devSet?.lock.assertHeld(),
  });
  const a = openDeviceFile(dev);
  const b = openDeviceFile(dev);
  assert.equal(dev.openCount, 2);
  deviceFileRelease(a);
  deviceFileRelease(a);
  assert.equal(dev.openCount, 1, 'release is idempotent');
  deviceFileRelease(b);
  assert.equal(dev.openCount, 0);
  assert.deepEqual(log, ['init:vfio0', 'openDevice:vfio0', 'lock held', 'closeDevice:vfio0']);
  await done();
});

test('openDevice failure leaves open count 0, no registration held, and unwinds the binding', async () => {
  const log: string[] = [];
  const { dev, done } = await withDevice(log, {
    openDevice: () => {
      throw new VfioError('EIO', 'hardware said no');
    },
  });
  const binding: DeviceFileBinding = { use: () => log.push('use'), unuse: () => log.push('unuse') };
  assert.throws(() => openDeviceFile(dev, binding), (e: unknown) => VfioError.is(e, 'EIO'));
  assert.equal(dev.openCount, 0);
  assert.equal(dev.registration.value, 1, 'only the initial registration reference');
  assert.equal(dev.fileCount, 0);
  assert.deepEqual(log, ['init:vfio0', 'use', 'openDevice:vfio0', 'unuse']);
  await done();
});

test('a binding is used on the first open and released after closeDevice on the last', async () => {
  const log: string[] = [];
  const { dev, done } = await withDevice(log);
  const binding: DeviceFileBinding = { use: () => log.push('use'), unuse: () => log.push('unuse') };
  const a = openDeviceFile(dev, binding);
  const b = openDeviceFile(dev, binding);
  deviceFileRelease(a);
  deviceFileRelease(b);
  assert.deepEqual(log, ['init:vfio0', 'use', 'openDevice:vfio0', 'closeDevice:vfio0', 'unuse']);
  await done();
});

test('a close at open count 0 is ignored', async () => {
  const log: string[] = [];
  const { dev, done } = await withDevice(log);
  const f = openDeviceFile(dev);
  deviceFileRelease(f);
  vfioDfClose(f);
  assert.equal(dev.openCount, 0);
  assert.deepEqual(log, ['init:vfio0', 'openDevice:vfio0', 'closeDevice:vfio0']);
  await done();
});

test('the cdev allows one open; a second bind or an open while group-opened is EINVAL; unbound files refuse I/O', async () => {
  const log: string[] = [];
  const { dev, host, done } = await withDevice(log, { read: () => 4 });
  const c1 = cdevOpen(host, '/dev/vfio/devices/vfio0');
  const c2 = cdevOpen(host, '/dev/vfio/devices/vfio0');
  assert.equal(dev.registration.value, 3, 'each cdev file holds a registration reference');
  assert.throws(() => deviceFileRead(c1, new Uint8Array(4), 0), (e: unknown) => VfioError.is(e, 'EINVAL'));
  vfioDfOpen(c1);
  c1.accessGranted = true;
  assert.equal(deviceFileRead(c1, new Uint8Array(4), 0), 4);
  assert.throws(() => vfioDfOpen(c2), (e: unknown) => VfioError.is(e, 'EINVAL'));
  assert.throws(() => cdevOpen(host, '/dev/vfio/devices/vfio9'), (e: unknown) => VfioError.is(e, 'ENOENT'));
  deviceFileRelease(c1);
  deviceFileRelease(c2);
  assert.throws(() => deviceFileRead(c1, new Uint8Array(4), 0), (e: unknown) => VfioError.is(e, 'EBADF'));
  const g = openDeviceFile(dev);
  const c3 = cdevOpen(host, '/dev/vfio/devices/vfio0');
  assert.throws(() => vfioDfOpen(c3), (e: unknown) => VfioError.is(e, 'EINVAL'));
  deviceFileRelease(c3);
  deviceFileRelease(g);
  assert.equal(dev.registration.value, 1);
  assert.deepEqual(log, ['init:vfio0', 'openDevice:vfio0', 'closeDevice:vfio0', 'openDevice:vfio0', 'closeDevice:vfio0']);
  await done();
});

test('openDevice that opens another device of its own set is a self-deadlock, reported as a bug', async () => {
  const log: string[] = [];
  const { host, parent } = makeHost();
  let other: Dev | null = null;
  const ops = recordingOps<Dev>(log, {
    init: (d) => {
      // Both devices in one set, as a driver does for functions that reset together.
      void d;
    },
    openDevice: () => {
      if (other) openDeviceFile(other);
    },
  });
  const a = allocDevice(Dev, parent, ops);
  const b = allocDevice(Dev, makeParent(host, 'parent1'), recordingOps<Dev>([]));
  const { assignDeviceSet } = await import('./device-set.js');
  assignDeviceSet(a, 'set');
  assignDeviceSet(b, 'set');
  registerEmulatedIommuDev(a);
  registerEmulatedIommuDev(b);
  other = b;
  assert.throws(() => openDeviceFile(a), /deadlock/);
  assert.equal(a.openCount, 0);
  assert.equal(b.openCount, 0);
  await unregisterGroupDev(a);
  await unregisterGroupDev(b);
  putVfioDevice(a);
  putVfioDevice(b);
});

test('a closeDevice that throws still closes the device and releases the binding', async () => {
  const log: string[] = [];
  const { dev, done } = await withDevice(log, {
    closeDevice: () => {
      throw new Error('driver bug');
    },
  });
  const binding: DeviceFileBinding = { use: () => log.push('use'), unuse: () => log.push('unuse') };
  const f = openDeviceFile(dev, binding);
  assert.throws(() => deviceFileRelease(f), /driver bug/);
  assert.equal(dev.openCount, 0);
  assert.equal(dev.openBinding, null);
  assert.deepEqual(log.slice(-2), ['closeDevice:vfio0', 'unuse']);
  await done();
});
