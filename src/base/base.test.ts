// The base device model: Ida, Completion, sysfs, devices, buses, drivers with driver_override, IOMMU groups.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ida } from './ida.js';
import { Completion } from './completion.js';
import { Sysfs } from './sysfs.js';
import { Host } from './host.js';
import { Device, deviceDel, devicePath, deviceRegister, deviceUnregister, getDevice, putDevice } from './device.js';
import { busRegister } from './bus.js';
import { driverRegister, driverUnregister } from './driver.js';
import { classRegister } from './class.js';
import { iommuGroupAddDevice, iommuGroupAlloc, iommuGroupPut, iommuGroupRemoveDevice } from './iommu-group.js';
import { VfioError } from '../uapi/errno.js';

const isErr = (code: Parameters<typeof VfioError.is>[1]) => (e: unknown) => VfioError.is(e, code);

test('Ida hands out the lowest free id, across word boundaries, and refuses past max', () => {
  const ida = new Ida(99);
  const ids = Array.from({ length: 70 }, () => ida.alloc());
  assert.deepEqual(ids, Array.from({ length: 70 }, (_, i) => i));
  ida.free(33);
  ida.free(5);
  assert.equal(ida.alloc(), 5);
  assert.equal(ida.alloc(), 33);
  assert.equal(ida.alloc(), 70);
  assert.throws(() => ida.free(1000), /not allocated/);
  for (let i = 71; i <= 99; i++) ida.alloc();
  assert.throws(() => ida.alloc(), isErr('ENOSPC'));
  assert.equal(ida.count, 100);
});

test('Completion: complete before wait passes one waiter; completeAll passes all; timeout and abort', async () => {
  const c = new Completion();
  c.complete();
  assert.equal(await c.wait(), true);
  assert.equal(c.tryWait(), false);
  const w1 = c.wait();
  const w2 = c.wait();
  c.completeAll();
  assert.deepEqual(await Promise.all([w1, w2]), [true, true]);
  assert.equal(await c.wait(), true, 'completeAll stays done until reinit');
  c.reinit();
  assert.equal(await c.wait({ timeoutMs: 5 }), false);
  const ac = new AbortController();
  const w3 = c.wait({ signal: ac.signal });
  ac.abort();
  await assert.rejects(w3, isErr('ECANCELED'));
  c.complete();
  assert.equal(c.tryWait(), true, 'an aborted waiter does not eat a later completion');
});

test('sysfs: directories, attribute tables, links, duplicate names and read-only files', () => {
  const fs = new Sysfs();
  const owner = { v: 'x' };
  const dir = fs.mkdir(fs.mkdirp('/devices'), 'd0', owner, {
    value: { show: (o) => `${o.v}\n`, store: (o, s) => (o.v = s.trim()) },
    ro: { show: () => 'ro\n' },
  });
  fs.symlink(fs.mkdirp('/class/c'), 'd0', dir);
  assert.deepEqual(fs.ls('/sys/devices/d0'), ['ro', 'value']);
  fs.write('/sys/class/c/d0/value', 'y\n');
  assert.equal(fs.read('/sys/devices/d0/value'), 'y\n');
  assert.throws(() => fs.write('/sys/devices/d0/ro', '1'), isErr('EACCES'));
  assert.throws(() => fs.read('/sys/devices/d0/nope'), isErr('ENOENT'));
  assert.throws(() => fs.mkdir(fs.mkdirp('/devices'), 'd0', null), isErr('EEXIST'));
  assert.equal(fs.readlink('/sys/class/c/d0'), '/sys/devices/d0');
  assert.deepEqual(fs.tree('/sys/class'), ['c/', '  d0 -> /sys/devices/d0']);
  fs.remove(dir);
  assert.equal(fs.exists('/sys/devices/d0'), false);
});

test('devices: register places the sysfs node, holds the parent, class devices get glue dirs; last put releases', () => {
  const host = new Host();
  const released: string[] = [];
  const mk = (name: string, parent: Device | null): Device => {
    const d = new Device();
    d.name = name;
    d.parent = parent;
    d.release = (x) => released.push(x.name);
    return d;
  };
  const root = mk('pci0000:00', null);
  deviceRegister(root, host);
  const fn = mk('0000:00:02.0', root);
  deviceRegister(fn, host);
  assert.equal(devicePath(fn), '/sys/devices/pci0000:00/0000:00:02.0');
  assert.equal(root.kref.value, 2, 'the child holds its parent');
  const cls = classRegister(host, 'widget');
  const w = mk('widget0', fn);
  w.class = cls;
  deviceRegister(w, host);
  assert.equal(devicePath(w), '/sys/devices/pci0000:00/0000:00:02.0/widget/widget0');
  assert.equal(host.sysfs.readlink('/sys/class/widget/widget0'), devicePath(w));
  const dup = mk('widget0', fn);
  dup.class = cls;
  assert.throws(() => deviceRegister(dup, host), isErr('EEXIST'));
  assert.deepEqual(released, ['widget0'], 'a failed register drops its reference');
  deviceUnregister(w);
  assert.equal(host.sysfs.exists('/sys/devices/pci0000:00/0000:00:02.0/widget'), false, 'glue dir removed when empty');
  getDevice(fn);
  deviceUnregister(fn);
  assert.deepEqual(released, ['widget0', 'widget0']);
  putDevice(fn);
  assert.deepEqual(released, ['widget0', 'widget0', '0000:00:02.0']);
  assert.equal(root.kref.value, 1);
  deviceDel(root);
});

test('buses and drivers: probe on add, driver_override, bind/unbind files, remove on unregister', () => {
  const host = new Host();
  const bus = busRegister(host, 'sim', { match: (dev, drv) => dev.name.startsWith(drv.name) });
  const log: string[] = [];
  const drvA = driverRegister(bus, 'a', { probe: (d) => log.push(`a probe ${d.name}`), remove: (d) => void log.push(`a remove ${d.name}`) });
  const vfio = driverRegister(bus, 'vfio-sim', {
    probe: (d) => {
      if (d.name === 'a-refuse') throw new VfioError('ENODEV');
      log.push(`vfio probe ${d.name}`);
    },
  });
  const d1 = new Device();
  d1.name = 'a1';
  d1.bus = bus;
  d1.release = () => {};
  deviceRegister(d1, host);
  assert.equal(d1.driver, drvA);
  assert.equal(host.sysfs.readlink('/sys/bus/sim/devices/a1/driver'), '/sys/bus/sim/drivers/a');
  // Rebind to vfio-sim the way users do: override, unbind, bind.
  host.sysfs.write('/sys/bus/sim/devices/a1/driver_override', 'vfio-sim\n');
  assert.equal(host.sysfs.read('/sys/bus/sim/devices/a1/driver_override'), 'vfio-sim\n');
  assert.throws(() => host.sysfs.write('/sys/bus/sim/drivers/vfio-sim/bind', 'a1'), isErr('EBUSY'));
  host.sysfs.write('/sys/bus/sim/drivers/a/unbind', 'a1');
  assert.throws(() => host.sysfs.write('/sys/bus/sim/drivers/a/bind', 'a1'), isErr('ENODEV'), 'override excludes a');
  host.sysfs.write('/sys/bus/sim/drivers/vfio-sim/bind', 'a1');
  assert.equal(d1.driver, vfio);
  assert.throws(() => host.sysfs.write('/sys/bus/sim/drivers/vfio-sim/bind', 'zz'), isErr('ENODEV'));
  driverUnregister(vfio);
  assert.equal(d1.driver, null);
  assert.throws(() => driverRegister(bus, 'a', { probe: () => {} }), isErr('EBUSY'));
  deviceUnregister(d1);
  assert.equal(host.sysfs.exists('/sys/bus/sim/devices/a1'), false);
  assert.deepEqual(log, ['a probe a1', 'a remove a1', 'vfio probe a1']);
});

test('IOMMU groups: members, links and the last put freeing the id', () => {
  const host = new Host();
  const d = new Device();
  d.name = 'dev0';
  d.release = () => {};
  deviceRegister(d, host);
  const g = iommuGroupAlloc(host);
  iommuGroupAddDevice(g, d);
  assert.throws(() => iommuGroupAddDevice(g, d), isErr('EBUSY'));
  iommuGroupPut(g);
  assert.deepEqual(host.sysfs.ls('/sys/kernel/iommu_groups/0/devices'), ['dev0']);
  assert.equal(host.sysfs.readlink('/sys/devices/dev0/iommu_group'), '/sys/kernel/iommu_groups/0');
  iommuGroupRemoveDevice(d);
  assert.equal(host.sysfs.exists('/sys/kernel/iommu_groups/0'), false);
  assert.equal(iommuGroupAlloc(host).id, 0, 'id reused');
});

test('a failed add unwinds its own node and glue dir, never the parent device\'s directory', () => {
  const host = new Host();
  const parent = new Device();
  parent.name = 'bare-parent';
  parent.release = () => {};
  deviceRegister(parent, host);
  const attr = { show: () => 'x\n' };
  // Two attribute groups with the same file: the add fails after the child's directory was made.
  const child = new Device();
  child.name = 'child0';
  child.parent = parent;
  child.groups = [{ a: attr }, { a: attr }];
  child.release = () => {};
  assert.throws(() => deviceRegister(child, host), isErr('EEXIST'));
  assert.equal(host.sysfs.exists('/sys/devices/bare-parent'), true, 'the parent keeps its directory');
  assert.equal(host.sysfs.exists('/sys/devices/bare-parent/child0'), false);
  // The same failure for a class device: its glue dir goes with it.
  const cls = classRegister(host, 'thing');
  const thing = new Device();
  thing.name = 'thing0';
  thing.parent = parent;
  thing.class = cls;
  thing.groups = [{ a: attr }, { a: attr }];
  thing.release = () => {};
  assert.throws(() => deviceRegister(thing, host), isErr('EEXIST'));
  assert.equal(host.sysfs.exists('/sys/devices/bare-parent/thing'), false, 'glue dir removed');
  assert.equal(host.sysfs.exists('/sys/devices/bare-parent'), true);
  assert.equal(parent.kref.value, 1, 'no parent reference is left behind');
});
