// The `machine.fslMc` config block: what parses, what is refused with a message naming the key, and the build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Host } from '../../base/host.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { fslMcBuildMachine, fslMcConfigSchema } from './machine-spec.js';

test('machine.fslMc parses containers and objects and builds them on the bus', async (t) => {
  const mark = sanitizer.mark();
  const config = fslMcConfigSchema.parse({
    objects: [{ type: 'dpmcp', id: 1 }],
    containers: [{ id: 2, objects: [{ type: 'dpni', id: 0 }, { type: 'dpbp', id: 3, bpid: 9 }], containers: [{ id: 3, objects: [{ type: 'dpio', id: 1 }] }] }],
  });
  const host = new Host();
  const built = fslMcBuildMachine(host, config);
  t.after(async () => {
    await built.remove();
    sanitizer.assertNoLeaks(mark);
  });
  assert.deepEqual(built.devices().map((d) => d.name), ['dprc.1', 'dpmcp.1', 'dprc.2', 'dpbp.3', 'dpni.0', 'dprc.3', 'dpio.1']);
  assert.equal(host.sysfs.readlink('/sys/bus/fsl-mc/devices/dpio.1'), '/sys/devices/80c000000.fsl-mc/dprc.1/dprc.2/dprc.3/dpio.1');
  await built.remove();
  assert.deepEqual(built.devices(), []);
  assert.deepEqual(host.sysfs.ls('/sys/bus/fsl-mc/devices'), []);
});

test('machine.fslMc refuses unknown types and bad ids naming the key, and unknown keys', () => {
  const bad = (v: unknown): string => {
    const r = fslMcConfigSchema.safeParse(v);
    assert.equal(r.success, false);
    return r.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') ?? '';
  };
  assert.match(bad({ objects: [{ type: 'dpfoo', id: 1 }] }), /objects\.0\.type: must be one of dpni, dpio, dpbp, dpcon, dpmcp, got "dpfoo"/);
  assert.match(bad({ containers: [{ id: 0 }] }), /containers\.0\.id: must be an integer from 1 to 65535, got 0/);
  assert.match(bad({ containers: [{ id: 2, containers: [{ id: 3, objects: [{ type: 'dpni' }] }] }] }), /containers\.0\.containers\.0\.objects\.0\.id: is required/);
  // Unknown keys are refused too (the CLI's config loader names them before parsing).
  assert.equal(fslMcConfigSchema.safeParse({ root: 1 }).success, false);
});
