// Runs every benchmark (dist-bench/*.bench.js is not used: benchmarks live in bench/ as .mjs files
// that import from dist/); each prints one JSON line per figure.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const filters = process.argv.slice(2);
const files = readdirSync('bench')
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
let failed = 0;
for (const f of files) {
  const r = spawnSync(process.execPath, ['--expose-gc', join('bench', f)], { stdio: 'inherit', env: { ...process.env, VFIO_TS_SANITIZE: '0' } });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
