// The ConnectX model driven by its registers and the PF's firmware commands: work queues executing descriptors
// from guest memory with completions and MSI-X, credits, the quiesce/freeze split, saving a VF in the middle of
// work and loading it into another VF that continues exactly as the first, incremental and chunked saves, and the
// page tracker reporting the pages the VF wrote.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findCapability, } from '../../pci/capabilities.js';
import { findExtCapability } from '../../pci/ext-capabilities.js';
import { VfioError } from '../../uapi/errno.js';
import { PCI_CAP_ID_MSIX, PCI_COMMAND, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY, PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE } from '../../uapi/pci-regs.js';
import { PCI_EXT_CAP_ID_SRIOV, PCI_SRIOV_CTRL, PCI_SRIOV_CTRL_VFE, PCI_SRIOV_NUM_VF } from '../../uapi/pci-regs-ext.js';
import { FakeIommuMemory, RecordingSink, le32, readLe32 } from '../pci/pci.test-kit.js';
import * as R from './mlx5-regs.js';
import { GUEST_DATA, GUEST_SIZE, Mlx5Guest, workBatch } from './mlx5.test-kit.js';
import { Mlx5Pf } from './pf.js';
import type { Mlx5PfOptions } from './pf.js';
import type { Mlx5Vf } from './vf.js';

const IOVA = 0x100000n;
const { SUSPEND_INITIATOR, SUSPEND_RESPONDER, RESUME_INITIATOR, RESUME_RESPONDER } = {
  SUSPEND_INITIATOR: R.MLX5_SUSPEND_VHCA_IN_OP_MOD_SUSPEND_INITIATOR,
  SUSPEND_RESPONDER: R.MLX5_SUSPEND_VHCA_IN_OP_MOD_SUSPEND_RESPONDER,
  RESUME_INITIATOR: R.MLX5_RESUME_VHCA_IN_OP_MOD_RESUME_INITIATOR,
  RESUME_RESPONDER: R.MLX5_RESUME_VHCA_IN_OP_MOD_RESUME_RESPONDER,
};

/** A PF with `n` VFs enabled through its SR-IOV capability. */
function pfWithVfs(n: number, opts: Mlx5PfOptions = {}): { pf: Mlx5Pf; vfs: Mlx5Vf[] } {
  const pf = new Mlx5Pf(opts);
  const pos = findExtCapability(pf.config, PCI_EXT_CAP_ID_SRIOV);
  assert.ok(pos !== undefined);
  pf.config.write(pos + PCI_SRIOV_NUM_VF, 2, n);
  pf.config.write(pos + PCI_SRIOV_CTRL, 2, PCI_SRIOV_CTRL_VFE);
  const vfs: Mlx5Vf[] = [];
  for (let i = 0; i < n; i++) {
    const vf = pf.vf(i);
    assert.ok(vf !== undefined);
    vfs.push(vf);
  }
  return { pf, vfs };
}

/** A VF with memory, bus mastering, MSI-X on with every vector unmasked, and a guest driving it. */
function attach(vf: Mlx5Vf, mem = new FakeIommuMemory()): { guest: Mlx5Guest; sink: RecordingSink; mem: FakeIommuMemory; bytes: Uint8Array } {
  const bytes = mem.map(IOVA, GUEST_SIZE);
  vf.dma = mem;
  const sink = new RecordingSink();
  vf.irq.setSink(sink);
  vf.config.write(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
  const msix = findCapability(vf.config, PCI_CAP_ID_MSIX);
  assert.ok(msix !== undefined);
  for (let v = 0; v < vf.queues.length; v++) {
    vf.barWrite(2, v * 16, le32(0xfee00000));
    vf.barWrite(2, v * 16 + 8, le32(0x40 + v));
    vf.barWrite(2, v * 16 + 12, le32(0));
  }
  vf.config.write(msix + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
  const guest = new Mlx5Guest(bytes, IOVA, (off) => readLe32((b) => vf.barRead(0, off, b)), (off, v) => vf.barWrite(0, off, le32(v)));
  return { guest, sink, mem, bytes };
}

function vhcaIdOf(pf: Mlx5Pf, n: number): number {
  return pf.fw.queryHcaCap(n + 1).vhcaId;
}

test('a queue runs posted descriptors: fill, copy, checksum, device memory; completions by DMA with MSI-X per queue', () => {
  const { vfs: [vf] } = pfWithVfs(1);
  assert.ok(vf !== undefined);
  const { guest, sink, bytes } = attach(vf);
  assert.equal(guest.regRead(R.MLX5_REG_ID), R.MLX5_ID_VALUE);
  assert.equal(guest.regRead(R.MLX5_REG_NUM_QUEUES), 4);
  guest.setupQueue(1);
  bytes.set([1, 2, 3, 4], GUEST_DATA);
  guest.post(1, [
    { op: R.MLX5_OP_COPY, len: 4, src: GUEST_DATA, dst: GUEST_DATA + 0x100, tag: 10 },
    { op: R.MLX5_OP_FILL, len: 6, dst: GUEST_DATA + 0x200, imm: 0xddccbbaa, tag: 11 },
    { op: R.MLX5_OP_CSUM, len: 4, src: GUEST_DATA, tag: 12 },
    { op: R.MLX5_OP_TO_DEVMEM, len: 4, src: GUEST_DATA, imm: 0x40, tag: 13 },
    { op: R.MLX5_OP_FROM_DEVMEM, len: 4, dst: GUEST_DATA + 0x300, imm: 0x40, tag: 14 },
    { op: 99, len: 0, tag: 15 },
  ]);
  assert.deepEqual([...bytes.subarray(GUEST_DATA + 0x100, GUEST_DATA + 0x104)], [1, 2, 3, 4]);
  assert.deepEqual([...bytes.subarray(GUEST_DATA + 0x200, GUEST_DATA + 0x206)], [0xaa, 0xbb, 0xcc, 0xdd, 0xaa, 0xbb]);
  assert.deepEqual([...bytes.subarray(GUEST_DATA + 0x300, GUEST_DATA + 0x304)], [1, 2, 3, 4]);
  assert.deepEqual(guest.cqe(1, 2), { tag: 12, status: R.MLX5_CQE_OK, result: 10, seq: 2 });
  assert.deepEqual(guest.cqe(1, 5), { tag: 15, status: R.MLX5_CQE_BAD_OP, result: 0, seq: 5 });
  assert.equal(guest.queueReg(1, R.MLX5_WQ_CI), 6);
  assert.equal(guest.queueReg(1, R.MLX5_WQ_CQ_PI), 6);
  assert.deepEqual(sink.events, Array(6).fill('msix 1'), 'one vector 1 message per completion');
  assert.equal(guest.regRead(R.MLX5_REG_STATUS), 1 << 1);
  guest.regWrite(R.MLX5_REG_STATUS, 1 << 1);
  assert.equal(guest.regRead(R.MLX5_REG_STATUS), 0, 'STATUS is write-1-to-clear');
  guest.post(1, [{ op: R.MLX5_OP_COPY, len: 4, src: 0x900000, dst: GUEST_DATA, tag: 16 }]);
  assert.equal(guest.cqe(1, 6).status, R.MLX5_CQE_DMA_FAULT, 'an unmapped source completes with a fault');
});

test('credits hold work back; a quiesced VF latches doorbells without executing; a frozen one ignores writes', () => {
  const { pf, vfs: [vf] } = pfWithVfs(1);
  assert.ok(vf !== undefined);
  const { guest } = attach(vf);
  const vhca = vhcaIdOf(pf, 0);
  guest.setupQueue(0);
  guest.credits(0, 2);
  guest.post(0, workBatch(100, 6));
  assert.equal(guest.queueReg(0, R.MLX5_WQ_CI), 2, 'two credits, two descriptors');
  pf.fw.suspendVhca(vhca, SUSPEND_INITIATOR);
  guest.credits(0, R.MLX5_CREDITS_UNLIMITED);
  assert.equal(guest.queueReg(0, R.MLX5_WQ_CI), 2, 'quiesced: nothing runs');
  assert.equal(guest.queueReg(0, R.MLX5_WQ_CREDITS), R.MLX5_CREDITS_UNLIMITED, 'but the write latched');
  pf.fw.suspendVhca(vhca, SUSPEND_RESPONDER);
  guest.credits(0, 1);
  assert.equal(guest.queueReg(0, R.MLX5_WQ_CREDITS), R.MLX5_CREDITS_UNLIMITED, 'frozen: writes change nothing');
  pf.fw.resumeVhca(vhca, RESUME_RESPONDER);
  assert.equal(guest.queueReg(0, R.MLX5_WQ_CI), 2);
  pf.fw.resumeVhca(vhca, RESUME_INITIATOR);
  assert.equal(guest.queueReg(0, R.MLX5_WQ_CI), 6, 'resumed: the latched work runs');
  assert.throws(() => pf.fw.suspendVhca(vhca, 7), (e: unknown) => e instanceof VfioError && e.code === 'EINVAL');
  assert.throws(() => pf.fw.queryHcaCap(9), (e: unknown) => e instanceof VfioError && e.code === 'EINVAL');
});

test('a VF saved in the middle of work and loaded into another VF continues exactly as the source does', () => {
  const { pf, vfs: [a, b] } = pfWithVfs(2);
  assert.ok(a !== undefined && b !== undefined);
  const src = attach(a);
  const dst = attach(b);
  const [va, vb] = [vhcaIdOf(pf, 0), vhcaIdOf(pf, 1)];
  src.guest.setupQueue(0);
  src.guest.setupQueue(2, 3);
  src.bytes.set(Array.from({ length: 512 }, (_, i) => i & 0xff), GUEST_DATA);
  src.guest.credits(0, 5);
  src.guest.credits(2, 3);
  src.guest.post(0, workBatch(1, 12));
  src.guest.post(2, workBatch(50, 7), 3);
  assert.equal(src.guest.queueReg(0, R.MLX5_WQ_CI), 5, 'half consumed');

  pf.fw.suspendVhca(va, SUSPEND_INITIATOR);
  pf.fw.suspendVhca(va, SUSPEND_RESPONDER);
  const size = pf.fw.queryVhcaMigrationState(va, false, false);
  const saved = pf.fw.saveVhcaState(va, size.requiredUmemSize, false, false);
  assert.equal(saved.image.length, size.requiredUmemSize);
  assert.equal(saved.nextRequiredUmemSize, 0);
  // The destination gets the guest's memory as it was, and the state.
  dst.bytes.set(src.bytes);
  pf.fw.suspendVhca(vb, SUSPEND_INITIATOR);
  assert.throws(() => pf.fw.loadVhcaState(vb, saved.image.subarray(0, 20)), (e: unknown) => e instanceof VfioError && e.code === 'EINVAL', 'a torn image');
  pf.fw.suspendVhca(vb, SUSPEND_RESPONDER);
  pf.fw.loadVhcaState(vb, saved.image);
  assert.equal(dst.guest.queueReg(0, R.MLX5_WQ_CI), 5);
  for (const [fw, id] of [[pf.fw, va], [pf.fw, vb]] as const) {
    fw.resumeVhca(id, RESUME_RESPONDER);
    fw.resumeVhca(id, RESUME_INITIATOR);
  }
  for (const g of [src.guest, dst.guest]) {
    g.credits(0, R.MLX5_CREDITS_UNLIMITED);
    g.credits(2, R.MLX5_CREDITS_UNLIMITED);
  }
  assert.equal(dst.guest.queueReg(0, R.MLX5_WQ_CI), 12);
  assert.equal(dst.guest.queueReg(2, R.MLX5_WQ_CI), 7);
  assert.deepEqual(dst.bytes, src.bytes, 'the same completions and data, byte for byte');
  assert.deepEqual(b.devmem, a.devmem);
  assert.equal(dst.sink.events.length, 11, 'the destination signalled the completions it wrote');
});

test('incremental saves carry what changed since the tracked save; chunk mode splits a save into loadable images', () => {
  const { pf, vfs: [a, b] } = pfWithVfs(2, { caps: { migrationInChunks: true }, devmemSize: 64 * 1024 });
  assert.ok(a !== undefined && b !== undefined);
  const src = attach(a);
  attach(b);
  const [va, vb] = [vhcaIdOf(pf, 0), vhcaIdOf(pf, 1)];
  assert.throws(() => pf.fw.queryVhcaMigrationState(va, true, false), (e: unknown) => e instanceof VfioError && e.code === 'EINVAL', 'no tracking yet');
  const full = pf.fw.queryVhcaMigrationState(va, false, false).remainingTotalSize;
  const first = pf.fw.saveVhcaState(va, full, false, true);
  assert.equal(first.image.length, full);
  assert.equal(pf.fw.queryVhcaMigrationState(va, true, false).remainingTotalSize, 0, 'nothing changed: nothing to save');
  src.guest.setupQueue(0);
  src.guest.post(0, [{ op: R.MLX5_OP_TO_DEVMEM, len: 16, src: GUEST_DATA, imm: 0x5000, tag: 1 }]);
  const inc = pf.fw.queryVhcaMigrationState(va, true, false).remainingTotalSize;
  assert.equal(inc, 16 + (8 + 24) + (8 + 40) + (8 + 4096), 'global, one queue, one device memory page');
  const incImage = pf.fw.saveVhcaState(va, inc, true, true).image;
  assert.equal(incImage.length, inc);

  // Chunks: a small buffer takes a few sections at a time; each chunk is an image of its own.
  pf.fw.suspendVhca(va, SUSPEND_RESPONDER);
  const q = pf.fw.queryVhcaMigrationState(va, false, true);
  assert.equal(q.requiredUmemSize, 16 + 8 + 4096, 'the least that makes progress: one page');
  assert.ok(q.remainingTotalSize > 16 * 4096);
  const chunks: Uint8Array[] = [];
  for (let next = -1; next !== 0; ) {
    const out = pf.fw.saveVhcaState(va, 10000, false, false);
    chunks.push(out.image);
    next = out.nextRequiredUmemSize;
  }
  assert.ok(chunks.length >= 8, `${chunks.length} chunks`);
  pf.fw.suspendVhca(vb, SUSPEND_RESPONDER);
  for (const c of chunks) pf.fw.loadVhcaState(vb, c);
  assert.deepEqual(b.devmem, a.devmem);
  assert.equal(b.queues[0]?.ci, 1);
  assert.throws(() => pf.fw.saveVhcaState(va, 40, false, false), (e: unknown) => e instanceof VfioError && e.code === 'EINVAL', 'a buffer no section fits');
});

test('the page tracker reports exactly the pages the VF wrote by DMA, inside its ranges, and clears them; limits', () => {
  const { pf, vfs: [vf] } = pfWithVfs(1);
  assert.ok(vf !== undefined);
  const { guest } = attach(vf);
  const vhca = vhcaIdOf(pf, 0);
  const ranges = [{ start: IOVA, length: BigInt(GUEST_SIZE) }];
  assert.throws(() => pf.fw.createPageTrack(vhca, ranges, 11), (e: unknown) => e instanceof VfioError && e.code === 'EINVAL', 'page size below the cap');
  assert.throws(() => pf.fw.createPageTrack(vhca, Array(5).fill(ranges[0]), 12), (e: unknown) => e instanceof VfioError && e.code === 'EINVAL', 'more ranges than the cap');
  const id = pf.fw.createPageTrack(vhca, ranges, 12);
  assert.throws(() => pf.fw.createPageTrack(vhca, ranges, 12), (e: unknown) => e instanceof VfioError && e.code === 'EEXIST');
  guest.setupQueue(3);
  guest.post(3, [
    { op: R.MLX5_OP_FILL, len: 0x1800, dst: GUEST_DATA + 0x3800, imm: 7, tag: 1 },
    { op: R.MLX5_OP_CSUM, len: 64, src: GUEST_DATA, tag: 2 },
  ]);
  const page = (off: number): bigint => IOVA + BigInt(off);
  // The fill touches two pages and a half; both completions land in the completion ring's page.
  assert.deepEqual(pf.fw.modifyPageTrackReport(id, IOVA, BigInt(GUEST_SIZE)), [page(0x8000), page(GUEST_DATA + 0x3000), page(GUEST_DATA + 0x4000)]);
  assert.deepEqual(pf.fw.modifyPageTrackReport(id, IOVA, BigInt(GUEST_SIZE)), [], 'reported pages are cleared');
  pf.fw.destroyPageTrack(id);
  assert.equal(vf.tracker, null);
  assert.throws(() => pf.fw.modifyPageTrackReport(id, IOVA, 4096n), (e: unknown) => e instanceof VfioError && e.code === 'EINVAL');
});
