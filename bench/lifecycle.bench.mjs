// Life-cycle cycles per second (alloc, register, open, close, unregister, put) with the sanitizer off and
// on, the same loop run against a baseline commit in the same run, and heap bytes per registered idle device
// over 10,000 devices. One JSON line per figure.
//
// This VM's speed drifts by up to 2x from minute to minute, so a recorded number is no baseline: the bench builds
// the core of LIFECYCLE_BASELINE (default 617acdd, the life cycle as issue 14 found it) from git into
// bench/out/, loads it next to this checkout's dist-test/ in the same process, and alternates short slices of
// the two (LIFECYCLE_PAIRS pairs, default 15, of LIFECYCLE_SLICE_SECONDS, default 0.3): the ratio is the median
// of the per-pair ratios, so drift hits both sides of a pair alike.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Host } from '../dist-test/base/host.js';
import { Device, deviceRegister } from '../dist-test/base/device.js';
import { sanitizer } from '../dist-test/sanitizer/index.js';
import { loadCore, cycles } from './lifecycle-cycles.mjs';
import { VfioDevice, allocDevice, putVfioDevice, registerEmulatedIommuDev, unregisterGroupDev } from '../dist-test/vfio/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const baseline = process.env['LIFECYCLE_BASELINE'] ?? '617acdd';
const pairs = Number(process.env['LIFECYCLE_PAIRS'] ?? '15');
const slice = Number(process.env['LIFECYCLE_SLICE_SECONDS'] ?? '0.3');

function emit(bench, unit, value, extra = {}) {
  console.log(JSON.stringify({ bench, unit, value, ...extra }));
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Builds the baseline commit's core into bench/out/lifecycle-<commit>/dist-test; returns that path or a reason. */
function buildBaseline(commit) {
  const rev = spawnSync('git', ['rev-parse', '--verify', '--quiet', `${commit}^{commit}`], { cwd: root, encoding: 'utf8' });
  if (rev.status !== 0) return { skipped: `commit ${commit} is not in this clone` };
  const sha = rev.stdout.trim();
  const dir = join(here, 'out', `lifecycle-${sha.slice(0, 12)}`);
  const dist = join(dir, 'dist-test');
  if (existsSync(join(dist, 'vfio', 'index.js'))) return { dist, sha };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const archive = spawnSync('sh', ['-c', `git archive ${sha} src tsconfig.json | tar -x -C "${dir}"`], { cwd: root, encoding: 'utf8' });
  if (archive.status !== 0) return { skipped: `git archive failed: ${archive.stderr.trim()}` };
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  // Only what the loop imports, so the build takes seconds, not the whole project's minute.
  writeFileSync(
    join(dir, 'tsconfig.bench.json'),
    JSON.stringify({
      extends: './tsconfig.json',
      compilerOptions: { declaration: false, sourceMap: false, incremental: false },
      include: [],
      files: ['src/base/host.ts', 'src/base/device.ts', 'src/sanitizer/index.ts', 'src/vfio/index.ts'],
    }),
  );
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.bench.json'], {
    cwd: dir,
    encoding: 'utf8',
  });
  if (tsc.status !== 0) return { skipped: `baseline build failed: ${tsc.stdout.slice(0, 400)}` };
  return { dist, sha };
}

function newParent(host, name) {
  const p = new Device();
  p.name = name;
  p.release = () => {};
  deviceRegister(p, host);
  return p;
}

async function heapPerDevice(count) {
  sanitizer.enabled = false;
  const host = new Host();
  const parents = [];
  for (let i = 0; i < count; i++) parents.push(newParent(host, `mdev${i}`));
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  const devs = [];
  const ops = Object.freeze({ name: 'bench' });
  for (let i = 0; i < count; i++) {
    const d = allocDevice(VfioDevice, parents[i], ops);
    registerEmulatedIommuDev(d);
    devs.push(d);
  }
  globalThis.gc?.();
  const after = process.memoryUsage().heapUsed;
  for (const d of devs) {
    await unregisterGroupDev(d);
    putVfioDevice(d);
  }
  return (after - before) / count;
}

const base = buildBaseline(baseline);
const current = await loadCore(join(root, 'dist-test'));
const previous = base.dist ? await loadCore(base.dist) : null;
// Warm both up before measuring.
await cycles(current, slice);
if (previous) await cycles(previous, slice);
const now = [];
const then = [];
const ratios = [];
for (let i = 0; i < pairs; i++) {
  // Alternate which side goes first, so neither always runs right after the other's garbage.
  let b = 0;
  if (previous && i % 2 === 1) b = await cycles(previous, slice);
  const a = await cycles(current, slice);
  if (previous && i % 2 === 0) b = await cycles(previous, slice);
  now.push(Math.round(a));
  if (previous) {
    then.push(Math.round(b));
    ratios.push(a / b);
  }
}
const off = Math.round(median(now));
emit('lifecycle.cycles_sanitizer_off', 'cycles/s', off, { target: 500000, min: Math.min(...now), max: Math.max(...now) });
if (previous) {
  emit('lifecycle.ratio_to_baseline', 'ratio', Number(median(ratios).toFixed(3)), {
    target: 2,
    baseline_commit: base.sha.slice(0, 12),
    baseline_cycles: Math.round(median(then)),
    pair_ratio_min: Number(Math.min(...ratios).toFixed(3)),
    pair_ratio_max: Number(Math.max(...ratios).toFixed(3)),
    pairs,
  });
} else {
  emit('lifecycle.ratio_to_baseline', 'ratio', null, { skipped: base.skipped });
}
const on = Math.round(await cycles(current, 2, true));
current.sanitizer.enabled = false;
emit('lifecycle.cycles_sanitizer_on', 'cycles/s', on);
emit('lifecycle.sanitizer_on_ratio_to_off', 'ratio', Number((on / off).toFixed(3)));
emit('lifecycle.heap_per_registered_device', 'bytes', Math.round(await heapPerDevice(10000)), { devices: 10000, target_max: 4096 });
