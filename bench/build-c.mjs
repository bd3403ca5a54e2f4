// Compiles the C benchmark programs (vfio-user-client.c, echo-server.c, both including vfio-user-wire.h) into
// bench/out/ with gcc -O2.
// Run directly (`node bench/build-c.mjs`) or import { buildC } and call it; returns the binary paths.
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const programs = ['vfio-user-client', 'echo-server'];
/** The header both include. */
const shared = join(here, 'vfio-user-wire.h');

function mtime(p) {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return -1;
  }
}

/** Builds every program whose binary is missing or older than its source. */
export function buildC({ cc = process.env.CC ?? 'gcc', force = false } = {}) {
  const outDir = join(here, 'out');
  mkdirSync(outDir, { recursive: true });
  const bins = {};
  for (const name of programs) {
    const src = join(here, `${name}.c`);
    const bin = join(outDir, name);
    bins[name] = bin;
    if (!force && mtime(bin) >= Math.max(mtime(src), mtime(shared))) continue;
    const r = spawnSync(cc, ['-O2', '-Wall', '-Wextra', '-o', bin, src], { stdio: 'inherit' });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`${cc} failed for ${name}.c (exit ${r.status})`);
  }
  return bins;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const bins = buildC({ force: process.argv.includes('--force') });
  for (const [name, bin] of Object.entries(bins)) console.log(`${name}: ${bin}`);
}
