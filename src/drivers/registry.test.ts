// The driver registry: the built-in driver folders are found by their descriptors, each module's init makes its
// kernel type directories, an mdev of each can be made, a module loads once per host, and exit is clean.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Host } from '../base/host.js';
import { mdevCreate } from '../mdev/mdev-device.js';
import { mdevParentType } from '../mdev/mdev-parent.js';
import { mdevVfioDevice } from '../mdev/mdev-vfio.js';
import type { VfioDriverModule } from './descriptor.js';
import { sanitizer } from '../sanitizer/sanitizer.js';
import { VfioError } from '../uapi/errno.js';
import { vfioConfigure } from '../vfio/core-state.js';
import { DriverRegistry, builtinDrivers, loadDriverModule } from './registry.js';

test('mtty, mdpy and mbochs are found by folder, register with their kernel type directories, create, and exit cleanly', async () => {
  const mark = sanitizer.mark();
  const registry = new DriverRegistry(await builtinDrivers());
  // Every driver folder is found (this list grows with each driver; order is the folders').
  assert.deepEqual(registry.names, [...registry.names].sort());
  for (const name of ['mbochs', 'mdpy', 'mtty', 'vfio-pci']) assert.ok(registry.get(name), `${name} is registered`);
  assert.equal(registry.get('vfio-pci')?.bus, 'pci');
  const host = new Host();
  vfioConfigure(host, { requestIntervalMs: 10 });
  const samples: VfioDriverModule[] = ['mbochs', 'mdpy', 'mtty'].map((n) => {
    const d = registry.get(n);
    assert.ok(d);
    return d.register(host, {});
  });
  const types = (name: string): string[] => host.sysfs.ls(`/sys/devices/virtual/${name}/${name}/mdev_supported_types`);
  assert.deepEqual(types('mtty'), ['mtty-1', 'mtty-2']);
  assert.deepEqual(types('mdpy'), ['mdpy-hd', 'mdpy-vga', 'mdpy-xga']);
  assert.deepEqual(types('mbochs'), ['mbochs-large', 'mbochs-medium', 'mbochs-small']);
  assert.equal(host.sysfs.read('/sys/devices/virtual/mtty/mtty/mdev_supported_types/mtty-2/available_instances'), '12\n');
  const typeOf: Record<string, string> = { mtty: '2', mdpy: 'vga', mbochs: 'small' };
  samples.forEach((s, i) => {
    const [parent] = s.parents();
    assert.ok(parent);
    const type = mdevParentType(parent, typeOf[s.name] ?? '');
    assert.ok(type);
    const mdev = mdevCreate(type, `1111111${i}-2222-4333-8444-555555555555`);
    assert.ok(mdevVfioDevice(mdev), `${s.name} probed`);
  });
  assert.equal(host.sysfs.read('/sys/devices/virtual/mtty/mtty/mdev_supported_types/mtty-2/available_instances'), '11\n');
  assert.throws(() => registry.get('mdpy')?.register(host, {}), (e: unknown) => VfioError.is(e, 'EBUSY'), 'a module loads once');
  assert.equal(registry.get('nvme'), undefined);
  for (const s of [...samples].reverse()) await s.unregister();
  assert.equal(host.sysfs.exists('/sys/devices/virtual/mtty'), false);
  assert.deepEqual(host.sysfs.ls('/sys/bus/mdev/devices'), []);
  sanitizer.assertNoLeaks(mark);
});

test('an mtty params value its schema refuses fails the create with EINVAL naming the key', async () => {
  const registry = new DriverRegistry(await builtinDrivers());
  const host = new Host();
  vfioConfigure(host, { requestIntervalMs: 10 });
  const sample = registry.get('mtty')?.register(host, {});
  const parent = sample?.parents()[0];
  assert.ok(sample && parent);
  const type = mdevParentType(parent, '1');
  assert.ok(type);
  assert.throws(
    () => mdevCreate(type, '21111111-2222-4333-8444-555555555555', { ports: [{ kind: 'tcp', port: 'x' }] }),
    (e: unknown) => VfioError.is(e, 'EINVAL') && /mtty params\.ports\[0\]\.port/.test(String(e)),
  );
  assert.equal(host.sysfs.read('/sys/devices/virtual/mtty/mtty/mdev_supported_types/mtty-1/available_instances'), '24\n');
  await sample.unregister();
});

test('a driver module is loaded by path; a duplicate name is EEXIST, a module without a descriptor EINVAL', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vfio-ts-registry-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const registry = new DriverRegistry(await builtinDrivers());
  writeFileSync(join(dir, 'twin.mjs'), "export const driver = { name: 'mtty', bus: 'mdev', summary: 'a second mtty', register() { throw new Error('never'); } };\n");
  writeFileSync(join(dir, 'empty.mjs'), 'export const nothing = 1;\n');
  const twin = await loadDriverModule(join(dir, 'twin.mjs'));
  assert.equal(twin.summary, 'a second mtty');
  assert.throws(() => registry.add(twin), (e: unknown) => VfioError.is(e, 'EEXIST'));
  await assert.rejects(loadDriverModule(join(dir, 'empty.mjs')), (e: unknown) => VfioError.is(e, 'EINVAL'));
  await assert.rejects(loadDriverModule(join(dir, 'missing.mjs')), (e: unknown) => VfioError.is(e, 'ENOENT'));
});
