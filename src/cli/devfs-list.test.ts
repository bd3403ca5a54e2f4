// `vfio-ts ls /dev/...` over a host with one registered emulated device: its group node and its cdev.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioDevice, allocDevice, putVfioDevice } from '../vfio/vfio-device.js';
import { registerEmulatedIommuDev, unregisterGroupDev } from '../vfio/registration.js';
import { makeHost, recordingOps } from '../vfio/recording-ops.test-kit.js';
import { VfioError } from '../uapi/errno.js';
import { devfsList } from './devfs-list.js';

class Dev extends VfioDevice {}

test('devfsList shows /dev/vfio/<group> and devices/vfioN as a tree; a missing node is ENOENT', async () => {
  const { host, parent } = makeHost('mdev0');
  assert.deepEqual(devfsList(host, '/dev/vfio'), []);
  const dev = allocDevice(Dev, parent, recordingOps<Dev>([]));
  registerEmulatedIommuDev(dev);
  const id = String(dev.group?.id);
  assert.deepEqual(devfsList(host, '/dev/vfio'), [id, 'devices/', '  vfio0']);
  assert.deepEqual(devfsList(host, '/dev/vfio/'), [id, 'devices/', '  vfio0']);
  assert.deepEqual(devfsList(host, '/dev'), ['vfio/', `  ${id}`, '  devices/', '    vfio0']);
  assert.deepEqual(devfsList(host, `/dev/vfio/${id}`), [id]);
  assert.throws(() => devfsList(host, '/dev/vfio/99'), (e: unknown) => VfioError.is(e, 'ENOENT'));
  await unregisterGroupDev(dev);
  assert.deepEqual(devfsList(host, '/dev/vfio'), []);
  putVfioDevice(dev);
});
