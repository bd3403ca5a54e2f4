// The sample registry: all three parents on one host by name, an mdev of each, and a clean exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Host } from '../base/host.js';
import { sanitizer } from '../sanitizer/sanitizer.js';
import { VfioError } from '../uapi/errno.js';
import { vfioConfigure } from '../vfio/core-state.js';
import { mdevCreate, mdevParentType, mdevVfioDevice } from './index.js';
import { MDEV_SAMPLE_NAMES, mdevRegisterSampleByName, mdevRegisterSamples, mdevUnregisterSamples } from './samples.js';

test('mtty, mdpy and mbochs register by name with their kernel type directories, create, and exit cleanly', async () => {
  const mark = sanitizer.mark();
  const host = new Host();
  vfioConfigure(host, { requestIntervalMs: 10 });
  const samples = await mdevRegisterSamples(host);
  assert.deepEqual(samples.map((s) => s.name), [...MDEV_SAMPLE_NAMES]);
  const types = (name: string): string[] => host.sysfs.ls(`/sys/devices/virtual/${name}/${name}/mdev_supported_types`);
  assert.deepEqual(types('mtty'), ['mtty-1', 'mtty-2']);
  assert.deepEqual(types('mdpy'), ['mdpy-hd', 'mdpy-vga', 'mdpy-xga']);
  assert.deepEqual(types('mbochs'), ['mbochs-large', 'mbochs-medium', 'mbochs-small']);
  assert.equal(host.sysfs.read('/sys/devices/virtual/mtty/mtty/mdev_supported_types/mtty-2/available_instances'), '12\n');
  const names = ['2', 'vga', 'small'];
  samples.forEach((s, i) => {
    const type = mdevParentType(s.parent, names[i] ?? '');
    assert.ok(type);
    const mdev = mdevCreate(type, `1111111${i}-2222-4333-8444-555555555555`);
    assert.ok(mdevVfioDevice(mdev), `${s.name} probed`);
  });
  assert.equal(host.sysfs.read('/sys/devices/virtual/mtty/mtty/mdev_supported_types/mtty-2/available_instances'), '11\n');
  assert.throws(() => mdevRegisterSampleByName(host, 'mdpy'), (e: unknown) => VfioError.is(e, 'EBUSY'), 'a module loads once');
  assert.throws(() => mdevRegisterSampleByName(host, 'gvt'), (e: unknown) => VfioError.is(e, 'ENODEV'));
  await mdevUnregisterSamples(samples);
  assert.equal(host.sysfs.exists('/sys/devices/virtual/mtty'), false);
  assert.deepEqual(host.sysfs.ls('/sys/bus/mdev/devices'), []);
  sanitizer.assertNoLeaks(mark);
});
