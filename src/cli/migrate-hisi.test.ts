// `vfio-ts migrate` between spawned servers with HiSilicon accelerator VFs: ZIP to ZIP migrates; ZIP to SEC has
// the same layout but other match data, so the target refuses the stream and the source keeps running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VFIO_DEVICE_STATE_RUNNING } from '../uapi/migration.js';
import { VfioUserClient } from '../vfio-user/client.js';
import { migrationState } from '../vfio-user/client-migration.js';
import { CliProcess, runCli } from './cli.test-kit.js';

async function serve(t: { after(fn: () => unknown): void }, kind: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), `vfio-ts-hisi-${kind}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = {
    runDir: 'run',
    machine: { pci: [{ devices: [{ device: 6, model: 'hisi-acc-pf', kind, numVfs: 1 }] }] },
    devices: [{ driver: 'hisi-acc-vfio-pci', device: '0000:00:06.1' }],
  };
  writeFileSync(join(dir, 'c.json'), JSON.stringify(config));
  const server = new CliProcess(t, ['serve', '--config', 'c.json'], dir);
  await server.waitFor(/Inspect it with/, 20_000);
  return join(dir, 'run', 'hisi-acc-vfio-pci0.sock');
}

test('vfio-ts migrate: a ZIP VF to another server; a SEC target refuses the ZIP match data and the source keeps running', async (t) => {
  const [zipA, zipB, sec] = await Promise.all([serve(t, 'zip'), serve(t, 'zip'), serve(t, 'sec')]);
  const ok = await runCli(t, ['migrate', '--from', zipA, '--to', zipB, '--json'], tmpdir());
  assert.equal(ok.code, 0, ok.stderr);
  const r = JSON.parse(ok.stdout) as { bytes: number; flags: number };
  assert.ok(r.bytes >= 40, 'at least the match data moved');
  assert.equal(r.flags & 4, 4, 'PRE_COPY');

  const refused = await runCli(t, ['migrate', '--from', zipB, '--to', sec], tmpdir());
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /the target refused the device state at byte 0: EFAULT.*\(the source device keeps running\)/);
  const c = await VfioUserClient.connect(zipB);
  t.after(() => c.close());
  assert.equal(await migrationState(c), VFIO_DEVICE_STATE_RUNNING);
});
