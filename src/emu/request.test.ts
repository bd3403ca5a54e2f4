// ops.request reaching the user: unregister with a device file open signals the REQ eventfd, through the real core.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { close, eventfd, eventfdRead } from '../native/index.js';
import { VFIO_IRQ_SET_ACTION_TRIGGER } from '../uapi/irq-set.js';
import { allocDevice, putVfioDevice } from '../vfio/vfio-device.js';
import { registerEmulatedIommuDev, unregisterGroupDev } from '../vfio/registration.js';
import { deviceFileRelease, openDeviceFile } from '../vfio/device-file.js';
import { makeHost } from '../vfio/recording-ops.test-kit.js';
import { setFds, setNone } from './irq.test-kit.js';
import { PciEmuTestDev, testOps } from './test-device.test-kit.js';

test('unregister asks the user through the REQ eventfd until the file is closed', async (t) => {
  const { parent } = makeHost('mdev0', 10);
  const dev = allocDevice(PciEmuTestDev, parent, testOps);
  registerEmulatedIommuDev(dev);
  const df = openDeviceFile(dev);
  const req = eventfd();
  t.after(() => close(req));
  setFds(df, 4, 0, [req]);
  setNone(df, 4, 0, 1, VFIO_IRQ_SET_ACTION_TRIGGER);
  assert.equal(eventfdRead(req), 1n, 'loopback on REQ');
  let finished = false;
  const unregistering = unregisterGroupDev(dev).then(() => {
    finished = true;
  });
  assert.equal(eventfdRead(req), 1n, 'the first request arrives at once');
  await new Promise((r) => setTimeout(r, 35));
  const again = eventfdRead(req);
  assert.ok(typeof again === 'bigint' && again >= 1n, 'requests repeat every interval');
  assert.equal(finished, false, 'unregister waits for the user');
  deviceFileRelease(df);
  await unregistering;
  assert.equal(finished, true);
  assert.equal(dev.triggers.reqTrigger, -1, 'closeDevice dropped the REQ trigger');
  putVfioDevice(dev);
});
