// The config blocks `machine.platform` and `machine.amba`: parsed with their messages naming what is wrong, built
// into devices on the buses (named `<base>.<name>`, the AMBA ones identified from their ID registers), and removed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Host } from '../../base/host.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { platformBuildFromConfig, platformMachineSchema } from '../platform/machine-spec.js';
import { ambaBuildFromConfig, ambaMachineSchema } from './machine-spec.js';
import { AmbaDevice } from './amba-bus.js';

test('machine.platform and machine.amba: parsed, built into named devices, removed without leaks', async () => {
  const mark = sanitizer.mark();
  const host = new Host();
  const platform = platformMachineSchema().parse([
    { name: 'ethernet', compatible: ['calxeda,hb-xgmac'], reg: [{ base: 0xfff50000, size: 4096 }], interrupts: [{ line: 77, trigger: 'level' }] },
    { name: 'sram', compatible: ['mmio-sram'], reg: [{ base: 0x10000000, size: 8192 }] },
  ]);
  const amba = ambaMachineSchema('/tmp').parse([
    { name: 'pl011', compatible: ['arm,pl011', 'arm,primecell'], reg: [{ base: 0x9000000, size: 4096 }], interrupts: [{ line: 33, trigger: 'level' }], port: 'loopback' },
    { name: 'pl061', compatible: ['arm,pl061', 'arm,primecell'], reg: [{ base: 0x9030000, size: 4096 }] },
  ]);
  const p = await platformBuildFromConfig(host, platform);
  const a = await ambaBuildFromConfig(host, amba);
  assert.deepEqual(p.devices().map((d) => d.name), ['fff50000.ethernet', '10000000.sram']);
  assert.deepEqual(a.devices().map((d) => (d instanceof AmbaDevice ? `${d.name} ${d.periphid.toString(16)}` : '')), ['9000000.pl011 141011', '9030000.pl061 41061']);
  assert.ok(host.sysfs.exists('/sys/bus/amba/devices/9000000.pl011'));
  await a.remove();
  await p.remove();
  await p.remove();
  assert.equal(host.sysfs.exists('/sys/bus/platform/devices/fff50000.ethernet'), false);
  sanitizer.assertNoLeaks(mark);
});

test('config errors name the key; an unknown compatible or a bad build leaves nothing behind', async () => {
  const bad = platformMachineSchema().safeParse([{ name: 'x', compatible: [], reg: [{ base: 0, size: 0 }], interrupts: [{ line: 1, trigger: 'high' }] }]);
  assert.equal(bad.success, false);
  const msgs = bad.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
  assert.ok(msgs.some((m) => m.startsWith('0.compatible') && /at least one/.test(m)), msgs.join('; '));
  assert.ok(msgs.some((m) => m.startsWith('0.reg.0.size') && /integer from 1/.test(m)), msgs.join('; '));
  assert.ok(msgs.some((m) => m.startsWith('0.interrupts.0.trigger') && /"level" or "edge"/.test(m)), msgs.join('; '));
  assert.equal(ambaMachineSchema('/tmp').safeParse([{ name: 'u', compatible: ['arm,pl011'], reg: [{ base: 0, size: 4096 }, { base: 4096, size: 4096 }] }]).success, false, 'one window');
  const mark = sanitizer.mark();
  const host = new Host();
  await assert.rejects(
    platformBuildFromConfig(host, [
      { name: 'sram', compatible: ['mmio-sram'], reg: [{ base: 0x10000000, size: 8192 }] },
      { name: 'nic', compatible: ['acme,nic'], reg: [{ base: 0x20000000, size: 4096 }] },
    ]),
    /acme,nic.*has no model/,
  );
  assert.equal(host.sysfs.exists('/sys/bus/platform/devices/10000000.sram'), false, 'the first node was removed again');
  await assert.rejects(ambaBuildFromConfig(host, [{ name: 'ram', compatible: ['arm,pl061'], reg: [{ base: 0, size: 16 }] }]), /EINVAL|32 bytes/);
  sanitizer.assertNoLeaks(mark);
});
