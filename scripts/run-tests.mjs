// Runs every compiled test file (dist-test/**/*.test.js, built by tsconfig.json) with node:test; extra args filter by path substring.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir, out) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = walk('dist-test', []).filter((f) => filters.length === 0 || filters.some((s) => f.includes(s))).sort();
if (files.length === 0) {
  console.error('no test files found under dist-test/');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=60000', ...files], {
  stdio: 'inherit',
  env: { ...process.env, VFIO_TS_SANITIZE: process.env.VFIO_TS_SANITIZE ?? '1' },
});
process.exit(r.status ?? 1);
