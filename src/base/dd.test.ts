// drivers/base/dd.c __device_release_driver order: the driver's remove runs, then device_unbind_cleanup clears
// drvdata. A remove that waits (an async one here) keeps drvdata pointing at the driver's struct until it is done.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Host } from './host.js';
import { Device, deviceRegister, deviceUnregister } from './device.js';
import { busRegister } from './bus.js';
import { driverRegister, driverUnregister } from './driver.js';
import { Completion } from './completion.js';

test('drvdata stays the driver\'s until an asynchronous remove has finished, then is cleared', async () => {
  const host = new Host();
  const bus = busRegister(host, 'sim', { match: () => true });
  const users = new Completion();
  const seen: unknown[] = [];
  const state = { driver: 'slow' };
  const drv = driverRegister(bus, 'slow', {
    probe: (d) => {
      d.driverData = state;
    },
    remove: async (d) => {
      seen.push(d.driverData);
      await users.wait();
      // The last use of the driver's struct, reached through drvdata, as vfio_pci_remove does.
      seen.push(d.driverData);
    },
  });
  const dev = new Device();
  dev.name = 'd0';
  dev.bus = bus;
  dev.release = () => {};
  deviceRegister(dev, host);
  assert.equal(dev.driverData, state);
  host.sysfs.write('/sys/bus/sim/drivers/slow/unbind', 'd0');
  assert.equal(dev.driver, null, 'unbound at once');
  assert.equal(dev.driverData, state, 'the remove is still running: drvdata is still the driver\'s');
  users.complete();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(seen, [state, state]);
  assert.equal(dev.driverData, null, 'cleared after the remove returned');
  driverUnregister(drv);
  deviceUnregister(dev);
});

test('a synchronous remove: drvdata cleared on return, as before', () => {
  const host = new Host();
  const bus = busRegister(host, 'sim', { match: () => true });
  const drv = driverRegister(bus, 'quick', {
    probe: (d) => {
      d.driverData = { driver: 'quick' };
    },
    remove: () => {},
  });
  const dev = new Device();
  dev.name = 'd1';
  dev.bus = bus;
  dev.release = () => {};
  deviceRegister(dev, host);
  host.sysfs.write('/sys/bus/sim/drivers/quick/unbind', 'd1');
  assert.equal(dev.driverData, null);
  driverUnregister(drv);
  deviceUnregister(dev);
});
