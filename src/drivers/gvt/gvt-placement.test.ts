// Where the machine places the IGD (`modules.gvt.igd`): the config's domain and root bus decide the host bridge
// and the GPU's address in sysfs; by default the lowest free domain, bus 0; a domain and bus already taken by a
// root bus of the machine is EEXIST at module init; bad values are refused by the schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Host } from '../../base/host.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { VfioError } from '../../uapi/errno.js';
import { vfioConfigure } from '../../vfio/core-state.js';
import { pciRemoveRootBus, pciScanRootBus } from '../../hw/pci/scan.js';
import { gvtBed } from './gvt.test-kit.js';
import { driver } from './gvt-driver.js';

test('igd: {domain, bus} places the host bridge and the GPU where the config says, bound to i915', (t) => {
  const { host, parent } = gvtBed(t, { igd: { domain: 3, bus: 0x40 } });
  assert.equal(parent.dev.name, '0003:40:02.0');
  assert.deepEqual(host.sysfs.ls('/sys/bus/pci/drivers/i915').filter((n) => n.startsWith('000')), ['0003:40:02.0']);
  assert.equal(host.sysfs.read('/sys/devices/pci0003:40/0003:40:02.0/vendor'), '0x8086\n');
  assert.ok(host.sysfs.ls('/sys/devices/pci0003:40/0003:40:02.0/mdev_supported_types').includes('i915-GVTg_V5_4'));
});

test('by default the IGD takes the lowest free domain at bus 0, as before', async (t) => {
  const mark = sanitizer.mark();
  const host = new Host();
  vfioConfigure(host, { requestIntervalMs: 10 });
  // The machine's own root bus holds domain 0 (empty: a host bridge with nothing on it).
  const machineRoot = pciScanRootBus(host, { domain: 0, devices: [] });
  const module = driver.register(host, {});
  t.after(async () => {
    await module.unregister();
    await pciRemoveRootBus(machineRoot);
    sanitizer.assertNoLeaks(mark);
  });
  assert.equal(module.parents()[0]?.dev.name, '0001:00:02.0');
});

test('a domain and bus a root bus of the machine has is EEXIST; a bad placement is refused by the schema', async (t) => {
  const mark = sanitizer.mark();
  const host = new Host();
  vfioConfigure(host, { requestIntervalMs: 10 });
  const machineRoot = pciScanRootBus(host, { domain: 0, devices: [] });
  t.after(async () => {
    await pciRemoveRootBus(machineRoot);
    sanitizer.assertNoLeaks(mark);
  });
  assert.throws(() => driver.register(host, { igd: { domain: 0 } }), (e) => VfioError.is(e, 'EEXIST'));
  assert.throws(() => driver.register(host, { igd: { domain: 0x10000 } }), /domain/);
  assert.throws(() => driver.register(host, { igd: { bus: 256 } }), /bus/);
  assert.throws(() => driver.register(host, { igd: { slot: 2 } }));
  // Same domain, another root bus number: a second host bridge in domain 0 is fine.
  const module = driver.register(host, { igd: { domain: 0, bus: 0x80 } });
  assert.equal(module.parents()[0]?.dev.name, '0000:80:02.0');
  await module.unregister();
});
