// vfio-user round trips from the C client (bench/vfio-user-client.c: REGION_READ and REGION_WRITE of 4 bytes,
// one request in flight) against the bare C echo server (libvfio-user's system calls per message and nothing
// else, so at least as fast as a libvfio-user server here; see echo-server.c) and against vfio-ts's server
// exporting an emulated PCI device (pci-emu, BAR0 a 4 KiB register file), same CPU and across two CPUs, all
// in one run so the ratios are fair. Then DMA read bandwidth through a memfd mapping a client made with
// DMA_MAP. Then what the server costs: its CPU time per million round trips (from /proc/<pid>/stat), the CPU it
// uses while one client is attached but silent (VFIO_USER_BENCH_IDLE_SECONDS, default 10), and 100 exported devices
// on one server process, each with a busy C client process: the aggregate and the slowest client's share of the
// mean (fairness). One JSON line per figure.
//
// `node bench/vfio-user.bench.mjs --serve SOCKET [COUNT]` is the server half (spawned pinned with taskset); with a
// COUNT it exports COUNT devices at SOCKET0, SOCKET1, ...
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, availableParallelism } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { buildC } from './build-c.mjs';

const SECONDS = Number(process.env.VFIO_USER_BENCH_SECONDS ?? 2);
const IDLE_SECONDS = Number(process.env.VFIO_USER_BENCH_IDLE_SECONDS ?? 10);
const MANY = Number(process.env.VFIO_USER_BENCH_CLIENTS ?? 100);
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU time (user + system) a process has used, in milliseconds (/proc/<pid>/stat utime and stime). */
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name is in parentheses and may hold spaces: count fields after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

function emit(bench, unit, value, extra = {}) {
  console.log(JSON.stringify({ bench, unit, value: Math.round(value), ...extra }));
}

async function serve(path, count) {
  const { testBed } = await import('../dist-test/vfio-user/server.test-kit.js');
  // VFIO_USER_POLL_MAX_NS=0 turns busy polling off (the event-loop-only path), for comparison.
  const pollMaxNs = process.env.VFIO_USER_POLL_MAX_NS;
  const bed = await testBed(0, pollMaxNs === undefined ? {} : { hotPath: { pollMaxNs: Number(pollMaxNs) } });
  for (let i = 0; i < (count ?? 1); i++) {
    const dev = await bed.addDevice();
    bed.server.unexport(dev);
    await bed.server.export(dev, count === undefined ? path : `${path}${i}`);
  }
  process.stdout.write('ready\n');
  process.on('SIGTERM', () => {
    void bed.close().then(() => process.exit(0));
  });
}

/** Starts a server process pinned to `cpu`, resolves once it listens. */
async function startServer(kind, bins, path, cpu, count) {
  const args =
    kind === 'c-echo'
      ? ['-c', String(cpu), bins['echo-server'], path]
      : ['-c', String(cpu), process.execPath, new URL(import.meta.url).pathname, '--serve', path, ...(count === undefined ? [] : [String(count)])];
  const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, VFIO_TS_SANITIZE: '0' } });
  // The echo server exits by itself when its one client leaves: remember the exit from the start.
  child.exited = once(child, 'exit');
  if (kind === 'c-echo') {
    // The echo server prints nothing: wait until its socket accepts.
    const { existsSync } = await import('node:fs');
    for (let i = 0; i < 500 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 10));
  } else {
    let out = '';
    await new Promise((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('ready')) resolve();
      });
      child.once('exit', () => reject(new Error('vfio-ts server exited before listening')));
    });
  }
  return child;
}

/** Runs the C client to the end; returns its figures (round trips/s) and iterations by bench name. */
async function runClient(bins, path, cpu, placement, extra = []) {
  const pin = cpu === null ? [] : ['--cpu', String(cpu)];
  const child = spawn(bins['vfio-user-client'], [path, '--region', '0', '--offset', '0', '--seconds', String(SECONDS), ...pin, '--placement', placement, ...extra], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  // 'close', not 'exit': the stdout pipe may still hold the figures when the process has exited.
  const [code, signal] = await once(child, 'close');
  if (code !== 0) throw new Error(`vfio-user-client exited with ${code ?? signal}`);
  if (out.trim() === '') throw new Error('vfio-user-client printed nothing');
  const figures = {};
  const iterations = {};
  for (const line of out.trim().split('\n')) {
    const j = JSON.parse(line);
    figures[j.bench] = j.value;
    iterations[j.bench] = j.iterations;
  }
  return { figures, iterations };
}

async function roundTrips(bins, dir) {
  const cpus = availableParallelism();
  const placements = [['same-cpu', 0, 0]];
  if (cpus > 1) placements.push(['cross-cpu', 0, 1]);
  for (const [placement, serverCpu, clientCpu] of placements) {
    const results = {};
    for (const kind of ['c-echo', 'vfio-ts']) {
      const path = join(dir, `${kind}-${placement}.sock`);
      const server = await startServer(kind, bins, path, serverCpu);
      try {
        // The echo server exits with its client: its CPU time is sampled while it runs (every 10 ms).
        const cpu0 = cpuMs(server.pid);
        let cpuLast = cpu0;
        const sampler = setInterval(() => {
          try {
            cpuLast = cpuMs(server.pid);
          } catch {
            // gone
          }
        }, 10);
        const run = await runClient(bins, path, clientCpu, placement);
        clearInterval(sampler);
        try {
          cpuLast = cpuMs(server.pid);
        } catch {
          // the echo server already left; the last sample stands
        }
        const trips = Object.values(run.iterations).reduce((a, b) => a + b, 0);
        results[kind] = run.figures;
        const perM = ((cpuLast - cpu0) / trips) * 1e6;
        emit('vfio_user.server_cpu_ms_per_1m_round_trips', 'ms', perM, { placement, server: kind, round_trips: trips });
      } finally {
        server.kill('SIGTERM');
        await server.exited;
      }
    }
    for (const fig of ['vfio_user.region_read_4', 'vfio_user.region_write_4']) {
      const c = results['c-echo'][fig];
      const ts = results['vfio-ts'][fig];
      emit(`${fig}.c_echo`, 'roundtrips/s', c, { placement });
      emit(`${fig}.vfio_ts`, 'roundtrips/s', ts, { placement });
      console.log(JSON.stringify({ bench: `${fig}.ratio_to_c_echo`, unit: 'ratio', value: Number((ts / c).toFixed(3)), placement }));
    }
  }
}

/** One client attached, one request, then silence: the server's CPU over the silence, in percent of one CPU. */
async function idleCost(bins, dir) {
  const path = join(dir, 'idle.sock');
  const server = await startServer('vfio-ts', bins, path, 0);
  try {
    const child = spawn(bins['vfio-user-client'], [path, '--idle', String(IDLE_SECONDS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = once(child, 'exit');
    await new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('ready')) resolve();
      });
      child.once('exit', () => reject(new Error('idle client left before it was ready')));
    });
    const cpu0 = cpuMs(server.pid);
    const t0 = performance.now();
    const [code] = await exited;
    const cpu1 = cpuMs(server.pid);
    if (code !== 0) throw new Error(`idle client exited with ${code}`);
    const wall = performance.now() - t0;
    console.log(JSON.stringify({ bench: 'vfio_user.idle_client_cpu_percent', unit: 'percent', value: Number(((100 * (cpu1 - cpu0)) / wall).toFixed(2)), idle_s: IDLE_SECONDS, cpu_ms: cpu1 - cpu0 }));
  } finally {
    server.kill('SIGTERM');
    await server.exited;
  }
}

/**
 * MANY devices exported by one server process (pinned to CPU 0), each with its own C client process (unpinned)
 * doing 4-byte REGION_READs, all starting together: the aggregate, the slowest client's share of the mean, and
 * the server's CPU per million round trips.
 */
async function manyConnections(bins, dir) {
  const base = join(dir, 'many-');
  const server = await startServer('vfio-ts', bins, base, 0, MANY);
  try {
    const startAt = Date.now() + 500 + 10 * MANY;
    const cpu0 = cpuMs(server.pid);
    const runs = await Promise.all(
      Array.from({ length: MANY }, (_, i) => runClient(bins, `${base}${i}`, null, 'many', ['--ops', 'read', '--start-at', String(startAt)])),
    );
    const cpu1 = cpuMs(server.pid);
    const rates = runs.map((r) => r.figures['vfio_user.region_read_4']);
    const trips = runs.reduce((a, r) => a + r.iterations['vfio_user.region_read_4'], 0);
    const sum = rates.reduce((a, b) => a + b, 0);
    const mean = sum / rates.length;
    emit('vfio_user.many_clients.region_read_4_aggregate', 'roundtrips/s', sum, { clients: MANY });
    console.log(JSON.stringify({ bench: 'vfio_user.many_clients.slowest_client_share', unit: 'ratio', value: Number((Math.min(...rates) / mean).toFixed(3)), clients: MANY, fastest_share: Number((Math.max(...rates) / mean).toFixed(3)) }));
    emit('vfio_user.many_clients.server_cpu_ms_per_1m_round_trips', 'ms', ((cpu1 - cpu0) / trips) * 1e6, { clients: MANY, round_trips: trips });
  } finally {
    server.kill('SIGTERM');
    await server.exited;
  }
}

async function dmaBandwidth(dir) {
  const native = await import('../dist-test/native/index.js');
  const { testBed } = await import('../dist-test/vfio-user/server.test-kit.js');
  const { VfioUserClient } = await import('../dist-test/vfio-user/client.js');
  const { vfioDmaRw } = await import('../dist-test/vfio/dma-access.js');
  const bed = await testBed(1);
  try {
    const c = await VfioUserClient.connect(bed.path());
    const size = 64 * 1024 * 1024;
    const dev = bed.devices[0];
    // A memfd sealed against shrinking (QEMU's memory-backend-memfd) is mapped into the server; any other file
    // is read through the file (pread), so that a client truncating it cannot kill the server with SIGBUS.
    for (const [kind, iova] of [['sealed', 1n << 32n], ['unsealed', 2n << 32n]]) {
      const mem = native.memfdCreate(`bench-ram-${kind}`, size, kind === 'sealed');
      if (kind === 'sealed') native.addSeals(mem, native.F_SEAL_SHRINK | native.F_SEAL_GROW);
      await c.dmaMap({ iova, size: BigInt(size), fd: mem });
      native.close(mem);
      for (const xfer of [4096, 1024 * 1024]) {
        const buf = new Uint8Array(xfer);
        const slots = size / xfer;
        let bytes = 0;
        let i = 0;
        const t0 = performance.now();
        while (performance.now() - t0 < 1000) {
          for (let k = 0; k < 64; k++, i++) {
            vfioDmaRw(dev, iova + BigInt((i % slots) * xfer), buf, false);
            bytes += xfer;
          }
        }
        const secs = (performance.now() - t0) / 1000;
        const name = `vfio_user.dma_read_fd_${xfer === 4096 ? '4k' : '1m'}${kind === 'sealed' ? '' : '_unsealed'}`;
        emit(name, 'bytes/s', bytes / secs, { transfer: xfer, memfd: kind });
      }
    }
    await c.close();
  } finally {
    await bed.close();
  }
  void dir;
}

if (process.argv[2] === '--serve') {
  await serve(process.argv[3], process.argv[4] === undefined ? undefined : Number(process.argv[4]));
} else {
  const bins = buildC();
  const dir = mkdtempSync(join(tmpdir(), 'vfio-user-bench-'));
  try {
    // VFIO_USER_BENCH_ONLY=many,idle runs only those parts (round-trips, idle, many, dma).
    const only = process.env.VFIO_USER_BENCH_ONLY?.split(',');
    const part = (name) => only === undefined || only.includes(name);
    if (part('round-trips')) await roundTrips(bins, dir);
    if (part('idle')) await idleCost(bins, dir);
    if (part('many')) await manyConnections(bins, dir);
    if (part('dma')) await dmaBandwidth(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
