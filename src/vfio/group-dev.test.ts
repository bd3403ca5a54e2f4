// The group's device (drivers/vfio/group.c vfio_create_group): /sys/class/vfio/<N> and /dev/vfio/<N> while the
// group exists, for an emulated-IOMMU group and for a group shared by two devices of one IOMMU group.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioDevice, allocDevice, putVfioDevice } from './vfio-device.js';
import { registerEmulatedIommuDev, registerGroupDev, unregisterGroupDev } from './registration.js';
import { makeHost, recordingOps } from './recording-ops.test-kit.js';
import { iommuGroupAddDevice, iommuGroupAlloc, iommuGroupPut, iommuGroupRemoveDevice } from '../base/iommu-group.js';
import { VFIO_GROUP_MAJOR } from './group-dev.js';

class Dev extends VfioDevice {}

test('an emulated-IOMMU group shows as /sys/class/vfio/<N> with its dev number, and goes with its last device', async () => {
  const { host, parent } = makeHost('mdev0');
  const dev = allocDevice(Dev, parent, recordingOps<Dev>([]));
  assert.deepEqual(host.sysfs.ls('/sys/class/vfio'), []);
  registerEmulatedIommuDev(dev);
  const id = dev.group?.id;
  assert.equal(typeof id, 'number');
  assert.deepEqual(host.sysfs.ls('/sys/class/vfio'), [String(id)]);
  assert.equal(host.sysfs.readlink(`/sys/class/vfio/${id}`), `/sys/devices/virtual/vfio/${id}`);
  assert.equal(host.sysfs.read(`/sys/class/vfio/${id}/dev`), `${VFIO_GROUP_MAJOR}:${id}\n`);
  assert.ok(host.devfs.has(`/dev/vfio/${id}`));
  await unregisterGroupDev(dev);
  assert.deepEqual(host.sysfs.ls('/sys/class/vfio'), []);
  assert.equal(host.sysfs.exists('/sys/devices/virtual/vfio'), false, 'the glue directory goes with its last group');
  assert.equal(host.devfs.has(`/dev/vfio/${id}`), false);
  putVfioDevice(dev);
});

test('two devices of one IOMMU group share one /sys/class/vfio/<N>; it stays until the second unregisters', async () => {
  const { host, parent } = makeHost('0000:00:02.0');
  const g = iommuGroupAlloc(host);
  iommuGroupAddDevice(g, parent);
  iommuGroupPut(g);
  const a = allocDevice(Dev, parent, recordingOps<Dev>([]));
  const b = allocDevice(Dev, parent, recordingOps<Dev>([]));
  registerGroupDev(a);
  registerGroupDev(b);
  assert.deepEqual(host.sysfs.ls('/sys/class/vfio'), [String(g.id)]);
  await unregisterGroupDev(a);
  assert.deepEqual(host.sysfs.ls('/sys/class/vfio'), [String(g.id)], 'b still holds the group');
  await unregisterGroupDev(b);
  assert.deepEqual(host.sysfs.ls('/sys/class/vfio'), []);
  putVfioDevice(a);
  putVfioDevice(b);
  iommuGroupRemoveDevice(parent);
});
