// The fault campaign in its shortest form (one round of every fault), so that `npm run soak` keeps working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

test('npm run soak: one round of every fault against every driver ends with no crash and no leak', () => {
  const soak = fileURLToPath(new URL('./soak.js', import.meta.url));
  const r = spawnSync(process.execPath, [soak, '--seconds', '1'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(lines.map((l) => l['soak']), ['disconnect-every-step', 'client-killed-with-dma-and-irqs', 'stalled-reader-and-flood', 'sigterm-with-client', 'total']);
  const total = lines.at(-1) ?? {};
  assert.equal(total['crashes'], 0);
  assert.equal(total['leaks'], 0);
  assert.ok(Number(total['sessions']) >= 12 * 25, `every cut of every device's session: ${JSON.stringify(total)}`);
});
