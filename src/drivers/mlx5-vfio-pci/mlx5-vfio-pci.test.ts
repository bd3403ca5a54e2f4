// mlx5-vfio-pci through the uAPI (group + type1 container, guest memory a memfd DMA-mapped): binding only through
// driver_override; a VF the PF does not let migrate is a plain vfio-pci-core device; a VF saved in the middle of
// work (PRE_COPY with its info, then STOP_COPY) resumes into another VF that writes the completions the source
// would have written; chunk mode; device dirty tracking with the tracker's limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GUEST_SIZE, workBatch } from '../../hw/mlx5/mlx5.test-kit.js';
import { MLX5_CREDITS_UNLIMITED, MLX5_WQ_CI } from '../../hw/mlx5/mlx5-regs.js';
import { pciGetDevice } from '../../hw/pci/scan.js';
import { close } from '../../native/index.js';
import {
  VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT,
  VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
  VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP,
  VFIO_DEVICE_FEATURE_GET,
  VFIO_DEVICE_FEATURE_MIGRATION,
  VFIO_DEVICE_FEATURE_SET,
} from '../../uapi/feature.js';
import { VFIO_DEVICE_FEATURE, VFIO_MIG_GET_PRECOPY_INFO } from '../../uapi/ioctl.js';
import { VFIO_MIGRATION_P2P, VFIO_MIGRATION_PRE_COPY, VFIO_MIGRATION_STOP_COPY, VfioDeviceMigState } from '../../uapi/migration.js';
import { ArrayBufferBacking } from '../../vfio/dma-space.js';
import { errno, view } from '../../vfio/uapi.test-kit.js';
import type { VfioProcess } from '../../vfio/vfio-process.js';
import { GUEST_IOVA, VF0, VF1, guestMemory, migGet, migSet, mlx5Bed, readStream, writeStream } from './mlx5-vfio-pci.test-kit.js';
import type { GuestMemory } from './mlx5-vfio-pci.test-kit.js';

const { STOP, RUNNING, STOP_COPY, RESUMING, RUNNING_P2P, PRE_COPY, PRE_COPY_P2P } = VfioDeviceMigState;

function memOf(t: { after(fn: () => void): void }): GuestMemory {
  const m = guestMemory();
  t.after(() => close(m.fd));
  return m;
}

function featureMigration(proc: VfioProcess, device: number): number {
  const b = new Uint8Array(16);
  view(b).setUint32(0, 16, true);
  view(b).setUint32(4, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION, true);
  proc.ioctl(device, VFIO_DEVICE_FEATURE, b);
  return Number(view(b).getBigUint64(8, true));
}

function precopyInfo(proc: VfioProcess, fd: number): { initial: bigint; dirty: bigint } {
  const b = new Uint8Array(24);
  view(b).setUint32(0, 24, true);
  proc.ioctl(fd, VFIO_MIG_GET_PRECOPY_INFO, b);
  return { initial: view(b).getBigUint64(8, true), dirty: view(b).getBigUint64(16, true) };
}

test('the id table matches only through driver_override; a VF the PF does not let migrate has no migration (ENOTTY)', async (t) => {
  const bed = mlx5Bed({ caps: { migrationTrackingState: false } });
  t.after(() => bed.done());
  const pdev = pciGetDevice(bed.host, VF0);
  assert.equal(pdev?.driver ?? null, null, 'registering the driver bound nothing');
  const vdev = bed.bind(VF0);
  assert.equal(vdev.migrateCap, false);
  const mem = memOf(t);
  const { device } = bed.open(vdev, mem);
  assert.throws(() => featureMigration(bed.proc, device), errno('ENOTTY'));
  assert.throws(() => migSet(bed.proc, device, STOP), errno('ENOTTY'));
});

test('every arc, and a VF saved mid-work (PRE_COPY, then STOP_COPY) resumes into another VF that continues as the source would', async (t) => {
  const bed = mlx5Bed();
  t.after(() => bed.done());
  const mem = memOf(t);
  const src = bed.open(bed.bind(VF0), mem);
  const dst = bed.open(bed.bind(VF1), mem);
  const p = bed.proc;
  assert.equal(featureMigration(p, src.device), VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY);
  // Every arc the FSM uses, with no data fd left open.
  for (const s of [RUNNING_P2P, STOP, RUNNING_P2P, RUNNING, STOP, RUNNING]) assert.equal(migSet(p, dst.device, s), -1);
  assert.equal(migGet(p, dst.device), RUNNING);

  mem.bytes.set(Array.from({ length: 512 }, (_, i) => (i * 7) & 0xff), 0x10000);
  src.guest.setupQueue(0);
  src.guest.setupQueue(1);
  src.guest.credits(0, 5);
  src.guest.credits(1, 2);
  src.guest.post(0, workBatch(1, 12));
  src.guest.post(1, workBatch(40, 6));
  assert.equal(src.guest.queueReg(0, MLX5_WQ_CI), 5, 'queue 0 half consumed');

  const fd = migSet(p, src.device, PRE_COPY);
  assert.ok(fd >= 0);
  const first = precopyInfo(p, fd);
  assert.ok(first.initial > 0n && first.dirty === 0n, `initial ${first.initial}`);
  const initial = readStream(p, fd);
  assert.equal(BigInt(initial.length), first.initial);
  assert.deepEqual(precopyInfo(p, fd), { initial: 0n, dirty: 0n }, 'nothing changed yet');
  assert.throws(() => p.read(fd, new Uint8Array(16)), errno('ENOMSG'), 'the end of PRE_COPY data for now');
  src.guest.credits(0, 2); // the device keeps working during PRE_COPY
  const dirty = precopyInfo(p, fd);
  assert.ok(dirty.dirty > 0n, 'work done: dirty bytes');
  const delta = readStream(p, fd);
  assert.equal(BigInt(delta.length), dirty.dirty + 16n, 'the figure is the image; the stream adds its record header (as the kernel counts)');
  assert.equal(migSet(p, src.device, STOP_COPY), -1, 'the PRE_COPY data fd goes on');
  assert.throws(() => precopyInfo(p, fd), errno('EINVAL'), 'not in PRE_COPY');
  const rest = readStream(p, fd);
  assert.equal(p.read(fd, new Uint8Array(8)), 0, 'end of stream');
  const snapshot = mem.bytes.slice();

  const rfd = migSet(p, dst.device, RESUMING);
  for (const part of [initial, delta, rest]) writeStream(p, rfd, part, 777);
  assert.equal(migSet(p, dst.device, RUNNING), -1);
  assert.throws(() => p.write(rfd, new Uint8Array(1)), errno('ENODEV'), 'the resuming file is done');
  p.close(rfd);
  assert.equal(dst.guest.queueReg(0, MLX5_WQ_CI), 7, 'the destination starts where the source stopped');
  dst.guest.credits(0, MLX5_CREDITS_UNLIMITED);
  dst.guest.credits(1, MLX5_CREDITS_UNLIMITED);
  assert.equal(dst.guest.queueReg(1, MLX5_WQ_CI), 6);
  const afterDst = mem.bytes.slice();

  // The reference: the source itself, from the same memory, resumed.
  mem.bytes.set(snapshot);
  assert.equal(migSet(p, src.device, RUNNING), -1);
  assert.throws(() => p.read(fd, new Uint8Array(8)), errno('ENODEV'), 'the saving file is done');
  p.close(fd);
  src.guest.credits(0, MLX5_CREDITS_UNLIMITED);
  src.guest.credits(1, MLX5_CREDITS_UNLIMITED);
  assert.deepEqual(mem.bytes, afterDst, 'the same completions and data as the source writes');
  assert.ok(src.vdev.pdev !== null && dst.vdev.pdev !== null);
  const [a, b] = [bed.pf.vf(0), bed.pf.vf(1)];
  assert.deepEqual(b?.devmem, a?.devmem);
  // PRE_COPY -> RUNNING ends tracking and closes the file.
  const again = migSet(p, src.device, PRE_COPY_P2P);
  assert.equal(migSet(p, src.device, RUNNING), -1);
  assert.throws(() => p.read(again, new Uint8Array(8)), errno('ENODEV'));
  p.close(again);
});

test('chunk mode: a small chunk size splits STOP_COPY into several images that resume whole', async (t) => {
  const bed = mlx5Bed({ caps: { migrationInChunks: true }, devmemSize: 64 * 1024 }, { maxChunkSize: 8192 });
  t.after(() => bed.done());
  const mem = memOf(t);
  const src = bed.open(bed.bind(VF0), mem);
  const dst = bed.open(bed.bind(VF1), mem);
  const p = bed.proc;
  src.guest.setupQueue(2);
  src.guest.post(2, workBatch(7, 16));
  const fd = migSet(p, src.device, STOP_COPY);
  const stream = readStream(p, fd, 3000);
  p.close(fd);
  let records = 0;
  for (let at = 0; at < stream.length; records++) at += 16 + Number(view(stream.subarray(at)).getBigUint64(0, true));
  assert.ok(records >= 9, `${records} records: the size record and at least 8 chunks of 8 KiB`);
  const rfd = migSet(p, dst.device, RESUMING);
  writeStream(p, rfd, stream, 5000);
  p.close(rfd);
  migSet(p, dst.device, RUNNING);
  assert.deepEqual(bed.pf.vf(1)?.devmem, bed.pf.vf(0)?.devmem);
  assert.equal(dst.guest.queueReg(2, MLX5_WQ_CI), 16);
});

const USER = 0x70000000n;

function loggingStart(p: VfioProcess, device: number, ranges: [bigint, bigint][], pageSize: bigint): bigint {
  ranges.forEach(([iova, len], i) => {
    const r = new Uint8Array(16);
    view(r).setBigUint64(0, iova, true);
    view(r).setBigUint64(8, len, true);
    p.mm.write(USER + BigInt(16 * i), r);
  });
  const b = new Uint8Array(32);
  view(b).setUint32(0, 32, true);
  view(b).setUint32(4, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START, true);
  view(b).setBigUint64(8, pageSize, true);
  view(b).setUint32(16, ranges.length, true);
  view(b).setBigUint64(24, USER, true);
  p.ioctl(device, VFIO_DEVICE_FEATURE, b);
  return view(b).getBigUint64(8, true);
}

/** REPORT over the guest window: the dirty page offsets (from GUEST_IOVA) at `pageSize`. */
function loggingReport(p: VfioProcess, device: number, pageSize: bigint): number[] {
  const bitmapAt = USER + 0x8000n;
  p.mm.write(bitmapAt, new Uint8Array(64));
  const b = new Uint8Array(40);
  view(b).setUint32(0, 40, true);
  view(b).setUint32(4, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, true);
  view(b).setBigUint64(8, GUEST_IOVA, true);
  view(b).setBigUint64(16, BigInt(GUEST_SIZE), true);
  view(b).setBigUint64(24, pageSize, true);
  view(b).setBigUint64(32, bitmapAt, true);
  p.ioctl(device, VFIO_DEVICE_FEATURE, b);
  const bits = new Uint8Array(64);
  p.mm.read(bitmapAt, bits);
  const out: number[] = [];
  for (let i = 0; i < 64 * 8; i++) if (((bits[i >> 3] ?? 0) >> (i & 7)) & 1) out.push(i * Number(pageSize));
  return out;
}

test('dirty logging reports exactly the pages the device DMA-wrote; ranges combined, page size clamped, errno as the kernel', async (t) => {
  const bed = mlx5Bed();
  t.after(() => bed.done());
  const mem = memOf(t);
  const vf = bed.open(bed.bind(VF0), mem);
  const p = bed.proc;
  p.mm.map(USER, new ArrayBufferBacking(0x10000));
  const stop = new Uint8Array(8);
  view(stop).setUint32(0, 8, true);
  view(stop).setUint32(4, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, true);
  assert.throws(() => loggingReport(p, vf.device, 4096n), errno('EINVAL'), 'no tracker yet');
  assert.throws(() => loggingStart(p, vf.device, [[GUEST_IOVA, 4096n]], 4096n), errno('EOPNOTSUPP'), 'an address space below 2^12 (length is last - start)');
  // Five ranges for a tracker of four: the two closest are combined, and the start still works.
  const r = (off: number, len: number): [bigint, bigint] => [GUEST_IOVA + BigInt(off), BigInt(len)];
  assert.equal(loggingStart(p, vf.device, [r(0, 0x2000), r(0x8000, 0x1000), r(0x9000 + 0x1000, 0x1000), r(0x10000, 0x8000), r(0x18000 + 0x4000, 0x4000)], 4096n), 4096n);
  assert.throws(() => loggingStart(p, vf.device, [r(0, 0x1000)], 4096n), errno('EINVAL'), 'already tracking');
  vf.guest.setupQueue(1);
  vf.guest.post(1, [
    { op: 2, len: 0x1100, dst: 0x10800, imm: 1, tag: 1 },
    { op: 3, len: 64, src: 0x10000, tag: 2 },
  ]);
  assert.deepEqual(loggingReport(p, vf.device, 4096n), [0x8000, 0x10000, 0x11000], 'the fill and the completion ring page');
  assert.deepEqual(loggingReport(p, vf.device, 4096n), [], 'cleared once reported');
  p.ioctl(vf.device, VFIO_DEVICE_FEATURE, stop);
  // A page size past the tracker's maximum is clamped, not refused.
  assert.equal(loggingStart(p, vf.device, [r(0, GUEST_SIZE)], 1n << 17n), 1n << 16n);
  vf.guest.post(1, [{ op: 2, len: 16, dst: 0x1f000, imm: 1, tag: 3 }]);
  assert.deepEqual(loggingReport(p, vf.device, 1n << 16n), [0, 0x10000]);
  p.ioctl(vf.device, VFIO_DEVICE_FEATURE, stop);
});
