// DMA logging over vfio-user (ranges inline, the bitmap in the reply) and migrateDevice between two exported
// devices: pre-copy while the device works, its dirty pages re-sent, refusals that leave the source running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as native from '../native/index.js';
import { VfioError } from '../uapi/errno.js';
import { VFIO_DEVICE_STATE_RUNNING } from '../uapi/migration.js';
import { VfioUserClient } from './client.js';
import { dmaLoggingReport, dmaLoggingStart, dmaLoggingStop, dmaLoggingSupported, migrationState } from './client-migration.js';
import { MigrationError, migrateDevice } from './migrate.js';
import { VfioUserTestDev, testBed, testDevOps } from './server.test-kit.js';
import { TickerDev, tickerOps } from './ticker-dev.test-kit.js';

const IOVA = 0x10_0000n;
const SIZE = 16n * 4096n;

function ticker(bedDev: unknown): TickerDev {
  assert.ok(bedDev instanceof TickerDev);
  return bedDev;
}

/** BAR0 of a ticker: buffer IOVA, page count. */
function setup(iova: bigint, pages: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeBigUInt64LE(iova, 0);
  b.writeUInt32LE(pages, 8);
  return b;
}

function memfd(t: { after(fn: () => void): void }): number {
  const fd = native.memfdCreate('guest', Number(SIZE), true);
  t.after(() => native.close(fd));
  return fd;
}

function word(fd: number, page: number): number {
  const b = Buffer.alloc(4);
  native.pread(fd, b, page * 4096);
  return b.readUInt32LE(0);
}

test('DMA logging over vfio-user: START with no ranges logs the mappings, REPORT returns and clears the bitmap', async (t) => {
  const bed = await testBed(1, {}, tickerOps(), TickerDev);
  t.after(() => bed.close());
  const dev = ticker(bed.devices[0]);
  const c = await VfioUserClient.connect(bed.path(0));
  t.after(() => c.close());
  const fd = memfd(t);
  await c.dmaMap({ iova: IOVA, size: SIZE, fd, prot: { read: true, write: true } });
  assert.equal(await dmaLoggingSupported(c), true);
  assert.equal(await dmaLoggingStart(c, 8192n), 4096n, 'the page size the device chose comes back');
  assert.deepEqual(dev.logging?.ranges, [{ iova: IOVA, length: SIZE }], 'num_ranges 0: the connection’s mappings');
  await c.regionWrite(0, 0, setup(IOVA, 16));
  for (let i = 0; i < 3; i++) assert.equal(dev.tick(), true);
  const bitmap = await dmaLoggingReport(c, IOVA, SIZE, 4096n);
  assert.equal(bitmap.length, 8, 'one u64 for 16 pages');
  assert.equal(bitmap.readBigUInt64LE(0), 0b1110n, 'pages 1, 2 and 3 were written');
  assert.equal(word(fd, 3), 3);
  assert.equal((await dmaLoggingReport(c, IOVA, SIZE, 4096n)).readBigUInt64LE(0), 0n, 'read and cleared');
  dev.tick();
  assert.equal((await dmaLoggingReport(c, IOVA, SIZE, 8192n)).readBigUInt64LE(0), 0b100n, 'page 4 in 8 KiB units is bit 2');
  await assert.rejects(dmaLoggingReport(c, IOVA, SIZE, 3000n), (e) => VfioError.is(e, 'EINVAL'));
  await assert.rejects(dmaLoggingStart(c, 4096n, [{ iova: IOVA, length: 4096n }]), (e) => VfioError.is(e, 'EBUSY'));
  await dmaLoggingStop(c);
  assert.equal(dev.logging, null);
  await assert.rejects(dmaLoggingStart(c, 4096n, [{ iova: IOVA + 1n, length: 4096n }]), (e) => VfioError.is(e, 'EINVAL'), 'unaligned range');
});

test('DMA logging over vfio-user: a device without log ops says ENOTTY, short data EINVAL', async (t) => {
  const bed = await testBed(1);
  t.after(() => bed.close());
  const c = await VfioUserClient.connect(bed.path(0));
  t.after(() => c.close());
  assert.equal(await dmaLoggingSupported(c), false);
  await assert.rejects(dmaLoggingStart(c, 4096n, [{ iova: 0n, length: 4096n }]), (e) => VfioError.is(e, 'ENOTTY'));
  const bad = Buffer.alloc(8 + 16);
  bad.writeUInt32LE(bad.length, 0);
  bad.writeUInt32LE((1 << 17) | 6, 4);
  bad.writeUInt32LE(5, 8 + 8);
  await assert.rejects(c.feature(bad), (e) => VfioError.is(e, 'EINVAL'), 'five ranges announced, none sent');
});

test('migrateDevice: pre-copy while the device works, dirty pages re-sent, the target continues where it stopped', async (t) => {
  const bed = await testBed(2, {}, tickerOps(), TickerDev);
  t.after(() => bed.close());
  const [srcDev, dstDev] = [ticker(bed.devices[0]), ticker(bed.devices[1])];
  const src = await VfioUserClient.connect(bed.path(0));
  t.after(() => src.close());
  const dst = await VfioUserClient.connect(bed.path(1));
  t.after(() => dst.close());
  const [srcMem, dstMem] = [memfd(t), memfd(t)];
  // Mid-work: the ticker was programmed and ran before the migration starts.
  await src.dmaMap({ iova: IOVA, size: SIZE, fd: srcMem, prot: { read: true, write: true } });
  await src.regionWrite(0, 0, setup(IOVA, 16));
  for (let i = 0; i < 5; i++) srcDev.tick();
  await src.dmaUnmap('all');

  let ticksDuringPreCopy = 0;
  const r = await migrateDevice(src, dst, {
    memory: { fd: srcMem, iova: IOVA, size: SIZE },
    targetMemory: { fd: dstMem, iova: IOVA, size: SIZE },
    convergeBytes: 0,
    maxIterations: 3,
    onProgress: (p) => {
      // The device keeps working while pre-copy runs: its DMA lands after the first full copy.
      if (p.phase === 'pre-copy' && srcDev.tick()) ticksDuringPreCopy++;
    },
  });
  assert.ok(ticksDuringPreCopy > 0);
  assert.equal(r.iterations, 3);
  assert.ok(r.preCopyBytes > 0 && r.stopCopyBytes > 0, JSON.stringify(r));
  assert.ok(r.dirtyPages >= 1, 'the pages written during pre-copy were logged');
  assert.equal(srcDev.tick(), false, 'the source stays stopped');
  assert.equal(dstDev.counter, srcDev.counter, 'the target has the source’s counter');
  for (let p = 0; p < 16; p++) assert.equal(word(dstMem, p), word(srcMem, p), `page ${p} of guest memory`);
  assert.equal(dstDev.tick(), true);
  assert.equal(word(dstMem, (srcDev.counter + 1) % 16), srcDev.counter + 1, 'the target continues into its own memory');
  assert.equal(await migrationState(dst), VFIO_DEVICE_STATE_RUNNING);
});

test('migrateDevice refuses another kind of device up front and a stream the target rejects, and the source keeps running', async (t) => {
  const bed = await testBed(1, {}, tickerOps(), TickerDev);
  t.after(() => bed.close());
  await bed.addDevice(testDevOps, VfioUserTestDev); // the plain test device: another layout
  await bed.addDevice(tickerOps('other-ticker'), TickerDev); // same layout, another stream header
  const srcDev = ticker(bed.devices[0]);
  const src = await VfioUserClient.connect(bed.path(0));
  t.after(() => src.close());
  const plain = await VfioUserClient.connect(bed.path(1));
  t.after(() => plain.close());
  const other = await VfioUserClient.connect(bed.path(2));
  t.after(() => other.close());
  const mem = memfd(t);
  await src.dmaMap({ iova: IOVA, size: SIZE, fd: mem, prot: { read: true, write: true } });
  await src.regionWrite(0, 0, setup(IOVA, 16));
  srcDev.tick();
  await src.dmaUnmap('all');

  await assert.rejects(migrateDevice(src, plain), (e) => e instanceof MigrationError && /not the same kind/.test(e.message) && e.source === 'running');
  await assert.rejects(migrateDevice(src, other), (e) => e instanceof MigrationError && /target refused/.test(e.message) && e.source === 'running');
  assert.equal(await migrationState(src), VFIO_DEVICE_STATE_RUNNING);
  await src.dmaMap({ iova: IOVA, size: SIZE, fd: mem, prot: { read: true, write: true } });
  assert.equal(srcDev.tick(), true, 'the source works on');
  assert.equal(srcDev.counter, 2);
});
