// Rules 4-6 of DESIGN.md section 3: registration, sysfs and cdev nodes, the registration count, and
// unregister's wait with ops.request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { VfioError } from '../uapi/errno.js';
import { VfioDevice, allocDevice, putVfioDevice } from './vfio-device.js';
import { registerEmulatedIommuDev, registerGroupDev, unregisterGroupDev, deviceTryGetRegistration } from './registration.js';
import { openDeviceFile, deviceFileRelease } from './device-file.js';
import { cdevOpen } from './cdev.js';
import { vfioDeviceGetFromName } from './group.js';
import { makeHost, recordEvents, recordingOps } from './recording-ops.test-kit.js';
import { iommuGroupAddDevice, iommuGroupAlloc, iommuGroupPut } from '../base/iommu-group.js';

class Dev extends VfioDevice {}

test('register adds vfio-dev/vfioN under the parent, the class link, the cdev and the group node', () => {
  const { host, parent } = makeHost('mdev0');
  const dev = allocDevice(Dev, parent, recordingOps<Dev>([]));
  assert.equal(host.sysfs.exists('/sys/devices/mdev0/vfio-dev/vfio0'), false);
  registerEmulatedIommuDev(dev);
  assert.equal(dev.registration.value, 1);
  assert.deepEqual(host.sysfs.ls('/sys/devices/mdev0/vfio-dev'), ['vfio0']);
  assert.equal(host.sysfs.readlink('/sys/class/vfio-dev/vfio0'), '/sys/devices/mdev0/vfio-dev/vfio0');
  assert.equal(host.sysfs.read('/sys/class/vfio-dev/vfio0/dev'), '511:0\n');
  assert.ok(host.devfs.has('/dev/vfio/devices/vfio0'));
  const group = dev.group;
  assert.ok(group);
  assert.equal(group.type, 'emulated-iommu');
  assert.ok(host.devfs.has(group.devPath));
  assert.equal(host.sysfs.readlink('/sys/devices/mdev0/iommu_group'), `/sys/kernel/iommu_groups/${group.id}`);
  return unregisterGroupDev(dev).then(() => {
    assert.equal(host.sysfs.exists('/sys/devices/mdev0/vfio-dev'), false, 'node and glue dir gone');
    assert.equal(host.sysfs.exists('/sys/class/vfio-dev/vfio0'), false);
    assert.equal(host.devfs.has('/dev/vfio/devices/vfio0'), false);
    assert.equal(host.devfs.has(group.devPath), false);
    assert.equal(host.sysfs.exists(`/sys/kernel/iommu_groups/${group.id}`), false);
    putVfioDevice(dev);
  });
});

test('physical devices join their IOMMU group; two functions share one VFIO group', async () => {
  const { host, parent } = makeHost('0000:00:02.0');
  const iommuGroup = iommuGroupAlloc(host);
  iommuGroupAddDevice(iommuGroup, parent);
  iommuGroupPut(iommuGroup);
  const { parent: orphan } = makeHost('nogroup');
  const a = allocDevice(Dev, parent, recordingOps<Dev>([]));
  const b = allocDevice(Dev, parent, recordingOps<Dev>([]));
  registerGroupDev(a);
  registerGroupDev(b);
  assert.equal(a.group, b.group);
  assert.equal(a.group?.devPath, `/dev/vfio/${iommuGroup.id}`);
  const c = allocDevice(Dev, orphan, recordingOps<Dev>([]));
  assert.throws(() => registerGroupDev(c), (e: unknown) => VfioError.is(e, 'EINVAL'));
  putVfioDevice(c);
  await unregisterGroupDev(a);
  assert.ok(host.devfs.has(`/dev/vfio/${iommuGroup.id}`), 'group stays while b is registered');
  await unregisterGroupDev(b);
  assert.equal(host.devfs.has(`/dev/vfio/${iommuGroup.id}`), false);
  putVfioDevice(a);
  putVfioDevice(b);
});

test('register twice is EEXIST; unregister of an unregistered device is EINVAL', async () => {
  const { parent } = makeHost();
  const dev = allocDevice(Dev, parent, recordingOps<Dev>([]));
  await assert.rejects(unregisterGroupDev(dev), (e: unknown) => VfioError.is(e, 'EINVAL'));
  registerEmulatedIommuDev(dev);
  assert.throws(() => registerEmulatedIommuDev(dev), (e: unknown) => VfioError.is(e, 'EEXIST'));
  await unregisterGroupDev(dev);
  await assert.rejects(unregisterGroupDev(dev), (e: unknown) => VfioError.is(e, 'EINVAL'));
  putVfioDevice(dev);
});

test('unregister with two open files: request 0, 1, 2 at the interval, done right after the last close', async (t) => {
  const { host, parent } = makeHost();
  const log: string[] = [];
  t.after(recordEvents(log));
  let requests = 0;
  let onThird: () => void = () => {};
  const third = new Promise<void>((r) => (onThird = r));
  const dev = allocDevice(
    Dev,
    parent,
    recordingOps<Dev>(log, {
      request: () => {
        if (++requests === 3) onThird();
      },
    }),
  );
  registerEmulatedIommuDev(dev);
  const f1 = openDeviceFile(dev);
  const f2 = openDeviceFile(dev);
  assert.equal(dev.registration.value, 3);
  log.length = 0;
  let done = false;
  const started = Date.now();
  const p = unregisterGroupDev(dev, { requestIntervalMs: 25 }).then(() => (done = true));
  // Unreachable at once: sysfs node and cdev gone, group lookups fail, new opens fail with ENODEV.
  assert.equal(host.sysfs.exists('/sys/class/vfio-dev/vfio0'), false);
  assert.throws(() => cdevOpen(host, '/dev/vfio/devices/vfio0'), (e: unknown) => VfioError.is(e, 'ENOENT'));
  const group = dev.group;
  assert.ok(group);
  assert.throws(() => vfioDeviceGetFromName(group, 'parent0'), (e: unknown) => VfioError.is(e, 'ENODEV'));
  await third;
  assert.ok(Date.now() - started >= 2 * 25 - 5, 'requests are spaced by the interval');
  assert.equal(done, false);
  deviceFileRelease(f1);
  await tick();
  assert.equal(done, false, 'one file still open');
  deviceFileRelease(f2);
  await tick();
  assert.equal(done, true, 'completes right after the last close, not at the next interval');
  await p;
  assert.equal(requests, 3);
  assert.deepEqual(
    log.filter((l) => !l.startsWith('event:close')),
    [
      'event:request:vfio0',
      'request:vfio0:0',
      'event:request:vfio0',
      'request:vfio0:1',
      'event:request:vfio0',
      'request:vfio0:2',
      'closeDevice:vfio0',
      'event:unregister:vfio0',
    ],
  );
  assert.equal(deviceTryGetRegistration(dev), false);
  putVfioDevice(dev);
});

test('open during unregister fails with ENODEV even for a holder of the device pointer', async () => {
  const { parent } = makeHost();
  const dev = allocDevice(Dev, parent, recordingOps<Dev>([]));
  registerEmulatedIommuDev(dev);
  const p = unregisterGroupDev(dev, { requestIntervalMs: 10 });
  assert.throws(() => openDeviceFile(dev), (e: unknown) => VfioError.is(e, 'ENODEV'));
  await p;
  assert.throws(() => openDeviceFile(dev), (e: unknown) => VfioError.is(e, 'ENODEV'));
  putVfioDevice(dev);
});

test('unregister without users completes without calling request', async () => {
  const { parent } = makeHost();
  const log: string[] = [];
  const dev = allocDevice(Dev, parent, recordingOps<Dev>(log));
  registerEmulatedIommuDev(dev);
  await unregisterGroupDev(dev);
  assert.deepEqual(log, ['init:vfio0']);
  putVfioDevice(dev);
});
