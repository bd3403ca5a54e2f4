// vfio-user round trips from the C client (bench/vfio-user-client.c: REGION_READ and REGION_WRITE of 4 bytes,
// one request in flight) against the bare C echo server (libvfio-user's system calls per message and nothing
// else, so at least as fast as a libvfio-user server here; see echo-server.c) and against vfio-ts's server
// exporting an emulated PCI device (pci-emu, BAR0 a 4 KiB register file), same CPU and across two CPUs, all
// in one run so the ratios are fair. Then DMA read bandwidth through a memfd mapping a client made with
// DMA_MAP. One JSON line per figure.
//
// `node bench/vfio-user.bench.mjs --serve SOCKET` is the server half (spawned pinned with taskset).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, availableParallelism } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { buildC } from './build-c.mjs';

const SECONDS = Number(process.env.VFIO_USER_BENCH_SECONDS ?? 2);

function emit(bench, unit, value, extra = {}) {
  console.log(JSON.stringify({ bench, unit, value: Math.round(value), ...extra }));
}

async function serve(path) {
  const { testBed } = await import('../dist-test/vfio-user/server.test-kit.js');
  const { VfioUserServer } = await import('../dist-test/vfio-user/server.js');
  void VfioUserServer;
  // VFIO_USER_POLL_MAX_NS=0 turns busy polling off (the event-loop-only path), for comparison.
  const pollMaxNs = process.env.VFIO_USER_POLL_MAX_NS;
  const bed = await testBed(0, pollMaxNs === undefined ? {} : { hotPath: { pollMaxNs: Number(pollMaxNs) } });
  const dev = await bed.addDevice();
  bed.server.unexport(dev);
  await bed.server.export(dev, path);
  process.stdout.write('ready\n');
  process.on('SIGTERM', () => {
    void bed.close().then(() => process.exit(0));
  });
}

/** Starts a server process pinned to `cpu`, resolves once it listens. */
async function startServer(kind, bins, path, cpu) {
  const args =
    kind === 'c-echo'
      ? ['-c', String(cpu), bins['echo-server'], path]
      : ['-c', String(cpu), process.execPath, new URL(import.meta.url).pathname, '--serve', path];
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

async function runClient(bins, path, cpu, placement) {
  const child = spawn(bins['vfio-user-client'], [path, '--region', '0', '--offset', '0', '--seconds', String(SECONDS), '--cpu', String(cpu), '--placement', placement], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`vfio-user-client exited with ${code}`);
  const figures = {};
  for (const line of out.trim().split('\n')) {
    const j = JSON.parse(line);
    figures[j.bench] = j.value;
  }
  return figures;
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
        results[kind] = await runClient(bins, path, clientCpu, placement);
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
  await serve(process.argv[3]);
} else {
  const bins = buildC();
  const dir = mkdtempSync(join(tmpdir(), 'vfio-user-bench-'));
  try {
    await roundTrips(bins, dir);
    await dmaBandwidth(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
