// Life-cycle cycles per second (alloc, register, open, close, unregister, put) with the sanitizer off and
// on, the same loop run against a baseline commit in the same run, and heap bytes per registered idle device
// over 10,000 devices. One JSON line per figure.
//
// This VM's speed drifts by up to 2x from hour to hour, so a recorded number is no baseline: the bench builds
// the core of LIFECYCLE_BASELINE (default 617acdd, the life cycle as issue 14 found it) from git into
// bench/out/, then runs bench/lifecycle-cycles.mjs against it and against this checkout in alternation,
// LIFECYCLE_ROUNDS (default 3) times each, and reports the ratio of the medians.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Host } from '../dist-test/base/host.js';
import { Device, deviceRegister } from '../dist-test/base/device.js';
import { sanitizer } from '../dist-test/sanitizer/index.js';
import { VfioDevice, allocDevice, putVfioDevice, registerEmulatedIommuDev, unregisterGroupDev } from '../dist-test/vfio/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const worker = join(here, 'lifecycle-cycles.mjs');
const baseline = process.env['LIFECYCLE_BASELINE'] ?? '617acdd';
const rounds = Number(process.env['LIFECYCLE_ROUNDS'] ?? '3');
const seconds = '2';

function emit(bench, unit, value, extra = {}) {
  console.log(JSON.stringify({ bench, unit, value, ...extra }));
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Runs one measurement in a fresh process; returns cycles/s. */
function measure(dist, sanitize) {
  const r = spawnSync(process.execPath, ['--expose-gc', worker, dist, seconds, sanitize ? '1' : '0'], {
    encoding: 'utf8',
    cwd: root,
  });
  if (r.status !== 0) throw new Error(`lifecycle-cycles failed on ${dist}: ${r.stderr}`);
  return JSON.parse(r.stdout).cycles_per_s;
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

const hereDist = join(root, 'dist-test');
const base = buildBaseline(baseline);
const now = [];
const then = [];
for (let i = 0; i < rounds; i++) {
  if (base.dist) then.push(measure(base.dist, false));
  now.push(measure(hereDist, false));
}
const off = median(now);
emit('lifecycle.cycles_sanitizer_off', 'cycles/s', off, { target: 500000, runs: now });
if (base.dist) {
  const was = median(then);
  emit('lifecycle.ratio_to_baseline', 'ratio', Number((off / was).toFixed(3)), {
    target: 2,
    baseline_commit: base.sha.slice(0, 12),
    baseline_cycles: was,
    baseline_runs: then,
  });
} else {
  emit('lifecycle.ratio_to_baseline', 'ratio', null, { skipped: base.skipped });
}
const on = measure(hereDist, true);
emit('lifecycle.cycles_sanitizer_on', 'cycles/s', on);
emit('lifecycle.sanitizer_on_ratio_to_off', 'ratio', Number((on / off).toFixed(3)));
emit('lifecycle.heap_per_registered_device', 'bytes', Math.round(await heapPerDevice(10000)), { devices: 10000, target_max: 4096 });
