// Live migration of a ConnectX VF between two spawned servers, the test acting as the VMM: guest memory is one
// sealed memfd both servers map; the source VF stops with its queue half consumed; after migrateDevice the target
// VF runs the rest of the queue, writing the completions (sequence numbers and data) the source would have.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as native from '../native/index.js';
import * as R from '../hw/mlx5/mlx5-regs.js';
import { VfioUserClient } from '../vfio-user/client.js';
import { migrateDevice } from '../vfio-user/migrate.js';
import { CliProcess } from './cli.test-kit.js';

const IOVA = 0x100000n;
const SIZE = 0x20000;
const RING = 0x0;
const CQ = 0x8000;
const DATA = 0x10000;
const BAR0 = 0;
const CONFIG = 7;

async function serve(t: { after(fn: () => unknown): void }): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'vfio-ts-mlx5-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = {
    runDir: 'run',
    machine: { pci: [{ devices: [{ device: 4, model: 'mlx5-pf', numVfs: 1 }] }] },
    devices: [{ driver: 'mlx5-vfio-pci', device: '0000:00:04.1' }],
  };
  writeFileSync(join(dir, 'c.json'), JSON.stringify(config));
  const server = new CliProcess(t, ['serve', '--config', 'c.json'], dir);
  await server.waitFor(/Inspect it with/, 20_000);
  return join(dir, 'run', 'mlx5-vfio-pci0.sock');
}

const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0, 0);
  return b;
};
const reg = (c: VfioUserClient, off: number, v: number): Promise<void> => c.regionWrite(BAR0, off, u32(v));
const wq = (q: number, r: number): number => R.MLX5_WQ_BASE + q * R.MLX5_WQ_STRIDE + r;

test('a ConnectX VF migrates between two servers mid-queue and the target finishes the queue', async (t) => {
  const [srcSock, dstSock] = await Promise.all([serve(t), serve(t)]);
  const fd = native.memfdCreate('guest', SIZE, true);
  native.addSeals(fd, native.F_SEAL_SHRINK);
  t.after(() => native.close(fd));
  const mem = new Uint8Array(native.mmap(fd, 0, SIZE, true));
  const dv = new DataView(mem.buffer);

  const src = await VfioUserClient.connect(srcSock);
  t.after(() => src.close());
  await src.dmaMap({ iova: IOVA, size: BigInt(SIZE), fd, prot: { read: true, write: true } });
  // The guest driver: memory and bus master on, queue 0 of 16 entries, four FILL descriptors, two credits.
  await src.regionWrite(CONFIG, 4, Buffer.from([0x06, 0x00]));
  await reg(src, wq(0, R.MLX5_WQ_RING_LO), Number(IOVA) + RING);
  await reg(src, wq(0, R.MLX5_WQ_RING_HI), 0);
  await reg(src, wq(0, R.MLX5_WQ_CQ_LO), Number(IOVA) + CQ);
  await reg(src, wq(0, R.MLX5_WQ_CQ_HI), 0);
  await reg(src, wq(0, R.MLX5_WQ_LOG_SIZE), 4);
  await reg(src, wq(0, R.MLX5_WQ_CREDITS), 2);
  for (let i = 0; i < 4; i++) {
    const at = RING + i * R.MLX5_WQE_SIZE;
    dv.setUint32(at + R.MLX5_WQE_OPCODE, R.MLX5_OP_FILL, true);
    dv.setUint32(at + R.MLX5_WQE_LEN, 256, true);
    dv.setBigUint64(at + R.MLX5_WQE_DST, IOVA + BigInt(DATA + 0x100 * i), true);
    dv.setUint32(at + R.MLX5_WQE_IMM, 0x11111111 * (i + 1), true);
    dv.setUint32(at + R.MLX5_WQE_TAG, 100 + i, true);
  }
  await reg(src, wq(0, R.MLX5_WQ_DOORBELL), 4);
  const cqe = (slot: number): { tag: number; seq: number } => ({ tag: dv.getUint32(CQ + slot * R.MLX5_CQE_SIZE, true), seq: dv.getUint32(CQ + slot * R.MLX5_CQE_SIZE + 12, true) });
  assert.deepEqual([cqe(0).tag, cqe(1).tag, cqe(2).tag], [100, 101, 0], 'half the queue ran');
  assert.equal(dv.getUint32(DATA + 0x200, true), 0, 'descriptor 2 has not run');

  const dst = await VfioUserClient.connect(dstSock);
  t.after(() => dst.close());
  const r = await migrateDevice(src, dst, { memory: { fd, iova: IOVA, size: BigInt(SIZE) }, memoryMappedOnSource: true });
  assert.ok(r.bytes > 0 && r.stopCopyBytes >= 0, JSON.stringify(r));

  // Config space is the VMM's to restore (QEMU's vfio_pci_load_config): memory and bus master on again. Then the
  // target holds the queue where the source left it: more credits run descriptors 2 and 3 into the same memory.
  await dst.regionWrite(CONFIG, 4, Buffer.from([0x06, 0x00]));
  await reg(dst, wq(0, R.MLX5_WQ_CREDITS), R.MLX5_CREDITS_UNLIMITED);
  assert.deepEqual([cqe(2).tag, cqe(3).tag], [102, 103]);
  assert.deepEqual([cqe(2).seq, cqe(3).seq], [cqe(1).seq + 1, cqe(1).seq + 2], 'completion sequence numbers continue');
  assert.equal(dv.getUint32(DATA + 0x200, true), 0x33333333);
  assert.equal(dv.getUint32(DATA + 0x300 + 252, true), 0x44444444);
  // The source is stopped: its doorbell does nothing.
  const before = cqe(4).tag;
  await reg(src, wq(0, R.MLX5_WQ_CREDITS), R.MLX5_CREDITS_UNLIMITED);
  assert.equal(cqe(4).tag, before);
});

test('the VF keeps working during pre-copy: the pages its DMA dirties are re-sent to the target’s own memory', async (t) => {
  const [srcSock, dstSock] = await Promise.all([serve(t), serve(t)]);
  const memfd = (): { fd: number; dv: DataView } => {
    const fd = native.memfdCreate('guest', SIZE, true);
    native.addSeals(fd, native.F_SEAL_SHRINK);
    t.after(() => native.close(fd));
    return { fd, dv: new DataView(native.mmap(fd, 0, SIZE, true)) };
  };
  const a = memfd();
  const b = memfd();
  const src = await VfioUserClient.connect(srcSock);
  t.after(() => src.close());
  await src.dmaMap({ iova: IOVA, size: BigInt(SIZE), fd: a.fd, prot: { read: true, write: true } });
  await src.regionWrite(CONFIG, 4, Buffer.from([0x06, 0x00]));
  await reg(src, wq(0, R.MLX5_WQ_RING_LO), Number(IOVA) + RING);
  await reg(src, wq(0, R.MLX5_WQ_RING_HI), 0);
  await reg(src, wq(0, R.MLX5_WQ_CQ_LO), Number(IOVA) + CQ);
  await reg(src, wq(0, R.MLX5_WQ_CQ_HI), 0);
  await reg(src, wq(0, R.MLX5_WQ_LOG_SIZE), 4);
  await reg(src, wq(0, R.MLX5_WQ_CREDITS), 0);
  // Eight FILLs into eight different pages of the data area; none may run yet.
  for (let i = 0; i < 8; i++) {
    const at = RING + i * R.MLX5_WQE_SIZE;
    a.dv.setUint32(at + R.MLX5_WQE_OPCODE, R.MLX5_OP_FILL, true);
    a.dv.setUint32(at + R.MLX5_WQE_LEN, 64, true);
    a.dv.setBigUint64(at + R.MLX5_WQE_DST, IOVA + BigInt(DATA + 0x1000 * i), true);
    a.dv.setUint32(at + R.MLX5_WQE_IMM, 0x01010101 * (i + 1), true);
    a.dv.setUint32(at + R.MLX5_WQE_TAG, 200 + i, true);
  }
  await reg(src, wq(0, R.MLX5_WQ_DOORBELL), 8);

  const dst = await VfioUserClient.connect(dstSock);
  t.after(() => dst.close());
  const r = await migrateDevice(src, dst, {
    memory: { fd: a.fd, iova: IOVA, size: BigInt(SIZE) },
    memoryMappedOnSource: true,
    targetMemory: { fd: b.fd, iova: IOVA, size: BigInt(SIZE) },
    maxIterations: 3,
    convergeBytes: 0,
    // The guest runs between rounds: two more descriptors each time, after the first full copy of memory.
    betweenRounds: () => reg(src, wq(0, R.MLX5_WQ_CREDITS), 2),
  });
  assert.equal(r.iterations, 3);
  assert.ok(r.dirtyPages >= 6, `the six descriptors' data pages (and the completion queue) were logged: ${JSON.stringify(r)}`);
  for (let i = 0; i < 6; i++) {
    assert.equal(b.dv.getUint32(DATA + 0x1000 * i, true), 0x01010101 * (i + 1), `page of descriptor ${i} re-sent to the target`);
    assert.equal(b.dv.getUint32(CQ + i * R.MLX5_CQE_SIZE, true), 200 + i, `completion ${i} re-sent`);
  }
  assert.equal(b.dv.getUint32(DATA + 0x1000 * 6, true), 0, 'descriptor 6 had not run');
  // The target, in its own memory, runs the last two.
  await dst.regionWrite(CONFIG, 4, Buffer.from([0x06, 0x00]));
  await reg(dst, wq(0, R.MLX5_WQ_CREDITS), R.MLX5_CREDITS_UNLIMITED);
  assert.equal(b.dv.getUint32(DATA + 0x1000 * 7, true), 0x08080808);
  assert.equal(a.dv.getUint32(DATA + 0x1000 * 7, true), 0, 'not in the source’s memory');
});
