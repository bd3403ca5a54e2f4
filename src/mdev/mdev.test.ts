// The mdev framework: sysfs layout, create/remove through sysfs and the API, instance budgets, errno of
// every failure, parent unregistration removing children, and nothing leaked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { VfioError } from '../uapi/errno.js';
import { sanitizer } from '../sanitizer/sanitizer.js';
import { VfioDevice, allocDevice } from '../vfio/vfio-device.js';
import { deviceFileRelease, openDeviceFile } from '../vfio/device-file.js';
import { makeHost, recordingOps } from '../vfio/recording-ops.test-kit.js';
import type { Host } from '../base/host.js';
import type { Device } from '../base/device.js';
import {
  MDEV_NO_INSTANCES_ERRNO,
  mdevCreate,
  mdevFind,
  mdevParentType,
  mdevParents,
  mdevRegisterDriver,
  mdevRegisterParent,
  mdevRemove,
  mdevUnregisterDriver,
  mdevUnregisterParent,
  mdevVfioDevice,
  mdevVfioDriver,
  mdevWaitRemoved,
} from './index.js';
import type { MdevDriver, MdevParent, MdevType } from './index.js';

class FakeDev extends VfioDevice {}

const U1 = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001';
const U2 = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1002';
const U3 = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1003';
const U4 = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1004';

const types = [{ sysfsName: '1', prettyName: 'Single port serial' }, { sysfsName: '2' }];

interface Fixture {
  host: Host;
  parentDev: Device;
  parent: MdevParent;
  drv: MdevDriver;
  log: string[];
  typeDir: (name: string) => string;
}

/** A host with an `mfake` parent (class-less, bus-less: its driver string is taken from the driver below). */
function setup(opts: { maxInstances?: number; budget?: number } = {}): Fixture {
  const { host, parent: parentDev } = makeHost('mfake', 10);
  const log: string[] = [];
  let budget = opts.budget ?? 0;
  const spec = {
    name: 'mfake',
    showDescription: (t: MdevType) => `fake type ${t.sysfsName}\n`,
    create: (mdev: Device) =>
      allocDevice(
        FakeDev,
        mdev,
        recordingOps<FakeDev>(log, {
          init: () => {
            if (opts.budget !== undefined) {
              if (budget < 1) throw new VfioError('ENOSPC', 'no budget');
              budget--;
            }
          },
          release: () => {
            if (opts.budget !== undefined) budget++;
          },
        }),
      ),
    ...(opts.budget !== undefined ? { getAvailable: () => budget } : { maxInstances: opts.maxInstances ?? 2 }),
  };
  const drv = mdevVfioDriver(spec);
  mdevRegisterDriver(host, drv);
  // A parent's type prefix is its driver's name (dev_driver_string); give the stand-in a class name.
  const parent = mdevRegisterParent(host, parentDev, drv, types);
  const typeDir = (name: string): string => `/sys/devices/mfake/mdev_supported_types/${parent.driverString}-${name}`;
  return { host, parentDev, parent, drv, log, typeDir };
}

function typeOf(parent: MdevParent, name: string): MdevType {
  const t = mdevParentType(parent, name);
  assert.ok(t, `type ${name}`);
  return t;
}

test('parent registration builds mdev_supported_types exactly as the kernel', async (t) => {
  const mark = sanitizer.mark();
  const { host, parent, parentDev, drv, typeDir } = setup();
  t.after(() => sanitizer.assertNoLeaks(mark));
  assert.equal(parent.driverString, '', 'a device with no driver, bus or class has an empty driver string');
  assert.deepEqual(host.sysfs.ls('/sys/devices/mfake/mdev_supported_types'), ['-1', '-2']);
  assert.deepEqual(host.sysfs.ls(typeDir('1')), ['available_instances', 'create', 'description', 'device_api', 'devices', 'name']);
  assert.equal(host.sysfs.read(`${typeDir('1')}/name`), 'Single port serial\n');
  assert.equal(host.sysfs.read(`${typeDir('2')}/name`), '2\n', 'sysfs_name when there is no pretty name');
  assert.equal(host.sysfs.read(`${typeDir('1')}/device_api`), 'vfio-pci\n');
  assert.equal(host.sysfs.read(`${typeDir('2')}/description`), 'fake type 2\n');
  assert.equal(host.sysfs.read(`${typeDir('1')}/available_instances`), '2\n');
  assert.deepEqual(host.sysfs.ls(`${typeDir('1')}/devices`), []);
  assert.throws(() => host.sysfs.read(`${typeDir('1')}/create`), (e: unknown) => VfioError.is(e, 'EACCES'));
  assert.throws(() => host.sysfs.write(`${typeDir('1')}/name`, 'x'), (e: unknown) => VfioError.is(e, 'EACCES'));
  assert.equal(host.sysfs.readlink('/sys/class/mdev_bus/mfake'), '/sys/devices/mfake');
  assert.ok(host.sysfs.exists('/sys/bus/mdev/drivers/mfake'));
  assert.deepEqual(mdevParents(host), [parent]);
  assert.equal(parentDev.kref.value, 2, 'the parent holds a reference on its device');
  await mdevUnregisterParent(parent);
  assert.equal(parentDev.kref.value, 1);
  assert.equal(host.sysfs.exists('/sys/devices/mfake/mdev_supported_types'), false);
  assert.equal(host.sysfs.exists('/sys/class/mdev_bus/mfake'), false);
  assert.deepEqual(mdevParents(host), []);
  mdevUnregisterDriver(host, drv);
  assert.equal(host.sysfs.exists('/sys/bus/mdev/drivers/mfake'), false);
});

test('a parent driven by a driver or in a class prefixes its types with that name; no description without showDescription', async () => {
  const { host, parent: parentDev } = makeHost('mdpy', 10);
  const drv = mdevVfioDriver({ name: 'nodesc', maxInstances: 1, create: (m) => allocDevice(FakeDev, m, recordingOps<FakeDev>([])) });
  const { classRegister } = await import('../base/class.js');
  parentDev.class = classRegister(host, 'mdpy');
  const parent = mdevRegisterParent(host, parentDev, drv, [{ sysfsName: 'vga' }]);
  assert.deepEqual(host.sysfs.ls('/sys/devices/mdpy/mdev_supported_types/mdpy-vga'), [
    'available_instances',
    'create',
    'device_api',
    'devices',
    'name',
  ]);
  await mdevUnregisterParent(parent);
});

test('create and remove through sysfs: the device, its links, its VFIO device, and instances falling and rising', async (t) => {
  const mark = sanitizer.mark();
  const { host, parent, drv, log, typeDir } = setup();
  t.after(() => sanitizer.assertNoLeaks(mark));
  host.sysfs.write(`${typeDir('1')}/create`, `${U1.toUpperCase()}\n`);
  const mdev = mdevFind(host, U1);
  assert.ok(mdev, 'created, named by the lower-case UUID');
  assert.equal(mdev.name, U1);
  const dir = `/sys/devices/mfake/${U1}`;
  assert.equal(host.sysfs.readlink(`${dir}/mdev_type`), `/sys${typeOf(parent, '1').kobj?.path}`);
  assert.equal(host.sysfs.readlink(`${typeDir('1')}/devices/${U1}`), dir);
  assert.equal(host.sysfs.readlink(`/sys/bus/mdev/devices/${U1}`), dir);
  assert.equal(host.sysfs.readlink(`${dir}/driver`), '/sys/bus/mdev/drivers/mfake');
  assert.equal(host.sysfs.read(`${dir}/driver_override`), '(null)\n', 'the bind override is not left behind');
  assert.deepEqual(host.sysfs.ls(`${dir}/vfio-dev`), ['vfio0']);
  assert.equal(host.sysfs.read(`${typeDir('1')}/available_instances`), '1\n');
  assert.equal(host.sysfs.read(`${typeDir('2')}/available_instances`), '1\n', 'the count is per parent');
  const vdev = mdevVfioDevice(mdev);
  assert.ok(vdev instanceof FakeDev);
  assert.equal(vdev.dev, mdev);

  assert.throws(() => host.sysfs.write(`${dir}/remove`, 'yes'), (e: unknown) => VfioError.is(e, 'EINVAL'));
  host.sysfs.write(`${dir}/remove`, '0\n');
  assert.ok(host.sysfs.exists(dir), 'writing 0 removes nothing');
  assert.throws(() => host.sysfs.read(`${dir}/remove`), (e: unknown) => VfioError.is(e, 'EACCES'));
  host.sysfs.write(`${dir}/remove`, '1\n');
  assert.equal(host.sysfs.exists(dir), false, 'gone from sysfs at once');
  assert.deepEqual(host.sysfs.ls(`${typeDir('1')}/devices`), []);
  assert.equal(host.sysfs.exists('/sys/class/vfio-dev/vfio0'), false);
  await mdevWaitRemoved(mdev);
  assert.deepEqual(log, ['init:vfio0', 'release:vfio0']);
  assert.equal(mdevFind(host, U1), undefined);
  assert.equal(host.sysfs.read(`${typeDir('1')}/available_instances`), '2\n');
  await mdevUnregisterParent(parent);
  mdevUnregisterDriver(host, drv);
});

test('create errors: EINVAL for malformed UUIDs, EEXIST for one in use, the core count at zero', async (t) => {
  const mark = sanitizer.mark();
  const { host, parent, drv, typeDir } = setup({ maxInstances: 2 });
  t.after(() => sanitizer.assertNoLeaks(mark));
  const create = `${typeDir('1')}/create`;
  for (const bad of [U1.slice(0, 35), `${U1}\n\n`, U1.replace('-', 'x'), U1.replace('8', 'g'), '']) {
    assert.throws(() => host.sysfs.write(create, bad), (e: unknown) => VfioError.is(e, 'EINVAL'), JSON.stringify(bad));
  }
  const t1 = typeOf(parent, '1');
  const t2 = typeOf(parent, '2');
  const a = mdevCreate(t1, U1);
  assert.throws(() => mdevCreate(t2, U1.toUpperCase()), (e: unknown) => VfioError.is(e, 'EEXIST'), 'UUIDs compare case-insensitively, across types');
  assert.throws(() => host.sysfs.write(create, U1), (e: unknown) => VfioError.is(e, 'EEXIST'));
  const b = mdevCreate(t2, U2);
  assert.equal(t1.availableInstances(), 0);
  assert.throws(() => mdevCreate(t1, U3), (e: unknown) => VfioError.is(e, MDEV_NO_INSTANCES_ERRNO));
  assert.equal(mdevFind(host, U3), undefined, 'a refused create leaves nothing behind');
  assert.equal(host.sysfs.exists(`/sys/devices/mfake/${U3}`), false);
  await mdevRemove(a);
  assert.equal(t1.availableInstances(), 1);
  const c = mdevCreate(t1, U1);
  assert.notEqual(c, a, 'the UUID is free again once the mdev is released');
  await Promise.all([mdevRemove(b), mdevRemove(c)]);
  assert.equal(t2.availableInstances(), 2);
  await mdevUnregisterParent(parent);
  mdevUnregisterDriver(host, drv);
});

test('a driver budget (getAvailable): probe failure is the create errno and unwinds everything', async (t) => {
  const mark = sanitizer.mark();
  const { host, parent, drv, log, typeDir } = setup({ budget: 1 });
  t.after(() => sanitizer.assertNoLeaks(mark));
  const t1 = typeOf(parent, '1');
  const a = mdevCreate(t1, U1);
  assert.equal(host.sysfs.read(`${typeDir('1')}/available_instances`), '0\n');
  assert.throws(() => host.sysfs.write(`${typeDir('2')}/create`, U2), (e: unknown) => VfioError.is(e, 'ENOSPC'));
  assert.equal(mdevFind(host, U2), undefined);
  assert.equal(host.sysfs.exists(`/sys/devices/mfake/${U2}`), false);
  assert.deepEqual(log, ['init:vfio0', 'init:vfio1'], 'the failed init ran, its release did not');
  await mdevRemove(a);
  assert.equal(t1.availableInstances(), 1);
  const b = mdevCreate(typeOf(parent, '2'), U2);
  assert.equal(mdevVfioDevice(b)?.index, 0, 'the index of the released device is reused');
  await mdevUnregisterParent(parent);
  mdevUnregisterDriver(host, drv);
});

test('remove waits for users of the VFIO device; a second remove while waiting is EAGAIN', async (t) => {
  const mark = sanitizer.mark();
  const { host, parent, drv, log } = setup();
  t.after(() => sanitizer.assertNoLeaks(mark));
  const mdev = mdevCreate(typeOf(parent, '1'), U1);
  const vdev = mdevVfioDevice(mdev);
  assert.ok(vdev);
  const file = openDeviceFile(vdev);
  let done = false;
  const p = mdevRemove(mdev).then(() => (done = true));
  assert.equal(host.sysfs.exists(`/sys/devices/mfake/${U1}`), false);
  await assert.rejects(mdevRemove(mdev), (e: unknown) => VfioError.is(e, 'EAGAIN'));
  assert.throws(() => mdevCreate(typeOf(parent, '1'), U1), (e: unknown) => VfioError.is(e, 'EEXIST'), 'UUID held until release');
  await new Promise((r) => setTimeout(r, 25));
  assert.equal(done, false);
  assert.ok(log.includes('request:vfio0:0'), 'the driver was asked to let go');
  deviceFileRelease(file);
  await p;
  assert.deepEqual(log.slice(-2), ['closeDevice:vfio0', 'release:vfio0']);
  assert.equal(typeOf(parent, '1').availableInstances(), 2);
  await mdevUnregisterParent(parent);
  mdevUnregisterDriver(host, drv);
});

test('parent unregister removes every child, waits for their users, and refuses new creates', async (t) => {
  const mark = sanitizer.mark();
  const { host, parent, parentDev, drv, log } = setup({ maxInstances: 4 });
  t.after(() => sanitizer.assertNoLeaks(mark));
  const t1 = typeOf(parent, '1');
  const a = mdevCreate(t1, U1);
  mdevCreate(typeOf(parent, '2'), U2);
  const c = mdevCreate(t1, U3);
  const removing = mdevRemove(c);
  const va = mdevVfioDevice(a);
  assert.ok(va);
  const file = openDeviceFile(va);
  let done = false;
  const p = mdevUnregisterParent(parent).then(() => (done = true));
  assert.throws(() => mdevCreate(t1, U4), (e: unknown) => VfioError.is(e, 'ENODEV'));
  await assert.rejects(mdevRemove(a), (e: unknown) => VfioError.is(e, 'ENODEV'));
  await assert.rejects(mdevUnregisterParent(parent), (e: unknown) => VfioError.is(e, 'EINVAL'));
  await removing;
  await tick();
  assert.equal(done, false, 'waits for the open file');
  assert.deepEqual(host.sysfs.ls('/sys/devices/mfake').filter((n) => n.length === 36), [], 'every child left sysfs at once');
  deviceFileRelease(file);
  await p;
  assert.equal(host.sysfs.exists('/sys/devices/mfake/mdev_supported_types'), false);
  assert.equal(log.filter((l) => l.startsWith('release:')).length, 3);
  assert.equal(mdevFind(host, U1), undefined);
  assert.equal(parentDev.kref.value, 1);
  mdevUnregisterDriver(host, drv);
});

test('registration errors: a parent twice is EEXIST, a duplicate type name is EEXIST, an unregistered driver fails create with ENODEV', async () => {
  const { host, parent: parentDev } = makeHost('p', 10);
  const drv = mdevVfioDriver({ name: 'late', maxInstances: 1, create: (m) => allocDevice(FakeDev, m, recordingOps<FakeDev>([])) });
  assert.throws(() => mdevRegisterParent(host, parentDev, drv, [{ sysfsName: 'a' }, { sysfsName: 'a' }]), (e: unknown) => VfioError.is(e, 'EEXIST'));
  const parent = mdevRegisterParent(host, parentDev, drv, [{ sysfsName: 'a' }]);
  assert.throws(() => mdevRegisterParent(host, parentDev, drv, [{ sysfsName: 'b' }]), (e: unknown) => VfioError.is(e, 'EEXIST'));
  const type = typeOf(parent, 'a');
  assert.throws(() => mdevCreate(type, U1), (e: unknown) => VfioError.is(e, 'ENODEV'));
  assert.equal(type.availableInstances(), 1, 'the instance came back');
  mdevRegisterDriver(host, drv);
  assert.throws(() => mdevRegisterDriver(host, drv), (e: unknown) => VfioError.is(e, 'EBUSY'));
  mdevCreate(type, U1);
  assert.equal(type.availableInstances(), 0);
  await mdevUnregisterParent(parent);
  assert.equal(mdevFind(host, U1), undefined);
  mdevUnregisterDriver(host, drv);
});
