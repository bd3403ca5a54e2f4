// Removes compiled files whose TypeScript source is gone (a renamed or deleted module would otherwise linger in
// dist/ and be shipped, or a deleted test in dist-test/ would still run). Usage: prune-stale.mjs OUTDIR...
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';

const SUFFIXES = ['.d.ts.map', '.d.ts', '.js.map', '.js'];

function prune(outDir, dir = outDir) {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      prune(outDir, p);
      if (readdirSync(p).length === 0) rmSync(p, { recursive: true });
      continue;
    }
    const suffix = SUFFIXES.find((s) => e.name.endsWith(s));
    // Non-compiled files (the build info, the addon) stay.
    if (suffix === undefined) continue;
    const src = join('src', relative(outDir, p)).slice(0, -suffix.length) + '.ts';
    if (!existsSync(src)) rmSync(p);
  }
}

for (const d of process.argv.slice(2)) prune(d);
