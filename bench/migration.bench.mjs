// Migration over vfio-user with migrateDevice, in one process (two mbochs devices of one server, a client each):
// STOP_COPY bytes per second (a 64 MiB VRAM all sent at STOP_COPY), the downtime of a device with ~1 MiB and with
// ~64 MiB of state (PRE_COPY first, as migrateDevice does), and the rate at which DMA logging reports dirty pages
// (the ticker test device). One JSON line per figure.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Host } from '../dist-test/base/host.js';
import { vfioConfigure } from '../dist-test/vfio/core-state.js';
import { mdevCreate, mdevParentType, mdevVfioDevice } from '../dist-test/mdev/index.js';
import { mbochsRegister } from '../dist-test/drivers/mbochs/index.js';
import * as native from '../dist-test/native/index.js';
import { VfioUserServer } from '../dist-test/vfio-user/server.js';
import { VfioUserClient } from '../dist-test/vfio-user/client.js';
import { migrateDevice } from '../dist-test/vfio-user/migrate.js';
import { dmaLoggingReport, dmaLoggingStart, dmaLoggingStop } from '../dist-test/vfio-user/client-migration.js';
import { testBed } from '../dist-test/vfio-user/server.test-kit.js';
import { TickerDev, tickerOps } from '../dist-test/vfio-user/ticker-dev.test-kit.js';

function emit(bench, unit, value, extra = {}) {
  console.log(JSON.stringify({ bench, unit, value: Math.round(value), ...extra }));
}

const host = new Host();
vfioConfigure(host, { requestIntervalMs: 10 });
const sample = mbochsRegister(host, { maxMbytes: 512 });
const server = new VfioUserServer({});
const dir = mkdtempSync(join(tmpdir(), 'vfio-ts-mig-bench-'));
let n = 0;
const clients = [];

/** A source and a target mbochs of `type`; `fill(vram)` gives the source its state. */
async function pair(type, fill) {
  const out = [];
  for (let i = 0; i < 2; i++) {
    n++;
    const dev = mdevVfioDevice(mdevCreate(mdevParentType(sample.parent, type), `0000${String(n).padStart(4, '0')}-0000-4000-8000-000000000000`));
    const sock = join(dir, `m${n}.sock`);
    await server.export(dev, sock);
    const c = await VfioUserClient.connect(sock);
    clients.push(c);
    out.push({ dev, c });
  }
  fill(out[0].dev.memory);
  return out;
}

/** Non-zero bytes (so no page travels as a zero run). */
function pattern(mem, bytes) {
  const words = new Uint32Array(mem.buffer, mem.byteOffset, bytes / 4);
  for (let i = 0; i < words.length; i++) words[i] = (i * 2654435761) | 1;
}

const MIB = 1 << 20;
// STOP_COPY throughput: no pre-copy round, so all 64 MiB move while the source is stopped.
{
  const [a, b] = await pair('large', (m) => pattern(m, 64 * MIB));
  const r = await migrateDevice(a.c, b.c, { maxIterations: 0 });
  emit('migration.stop_copy.mbochs_64mib', 'B/s', (r.stopCopyBytes * 1000) / r.downtimeMs, { bytes: r.stopCopyBytes, downtime_ms: +r.downtimeMs.toFixed(1) });
}
// Downtime with pre-copy: ~1 MiB of state (a small type, 1 MiB of pixels) and ~64 MiB (a large type, all written).
for (const [name, type, bytes] of [['mbochs_1mib', 'small', MIB], ['mbochs_64mib', 'large', 64 * MIB]]) {
  const [a, b] = await pair(type, (m) => pattern(m, bytes));
  const r = await migrateDevice(a.c, b.c);
  emit(`migration.downtime.${name}`, 'us', r.downtimeMs * 1000, { bytes: r.bytes, pre_copy_bytes: r.preCopyBytes, iterations: r.iterations });
}
for (const c of clients) await c.close();
await server.close();
await sample.unregister();

// Dirty-page reports: the ticker dirties every page of a 4 MiB buffer, DMA_LOGGING_REPORT returns them.
{
  const bed = await testBed(1, {}, tickerOps(), TickerDev);
  const dev = bed.devices[0];
  const c = await VfioUserClient.connect(bed.path(0));
  const pages = 1024;
  const iova = 0x100000n;
  const size = BigInt(pages * 4096);
  const fd = native.memfdCreate('bench-guest', Number(size), true);
  await c.dmaMap({ iova, size, fd, prot: { read: true, write: true } });
  const regs = Buffer.alloc(12);
  regs.writeBigUInt64LE(iova, 0);
  regs.writeUInt32LE(pages, 8);
  await c.regionWrite(0, 0, regs);
  await dmaLoggingStart(c, 4096n);
  let reported = 0;
  let ms = 0;
  while (ms < 1000) {
    for (let i = 0; i < pages; i++) dev.tick();
    const t0 = performance.now();
    const bitmap = await dmaLoggingReport(c, iova, size, 4096n);
    ms += performance.now() - t0;
    for (const byte of bitmap) for (let b = byte; b !== 0; b &= b - 1) reported++;
  }
  emit('migration.dma_logging.report_pages', 'pages/s', (reported * 1000) / ms, { pages_per_report: pages });
  await dmaLoggingStop(c);
  await c.close();
  await bed.close();
  native.close(fd);
}
rmSync(dir, { recursive: true, force: true });
