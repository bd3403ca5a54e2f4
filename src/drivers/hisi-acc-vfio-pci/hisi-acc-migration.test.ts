// hisi-acc-vfio-pci migration through the uAPI (type1 containers, guest memory a memfd): every arc with its data fd
// rules, a VF saved in the middle of work (queue half consumed) and resumed into another VF of its kind that goes on
// where it stopped, match-data mismatches refused while the source keeps running, and VFIO_DEVICE_RESET.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adler32 } from '../../hw/hisi-qm/acc-engine.js';
import { GuestQm } from '../../hw/hisi-qm/guest-qm.test-kit.js';
import { QM_CQE_OK, QM_NOT_READY, QM_READY, QM_VF_STATE } from '../../hw/hisi-qm/qm-regs.js';
import { fired } from '../../emu/irq.test-kit.js';
import { VFIO_DEVICE_FEATURE_GET, VFIO_DEVICE_FEATURE_MIG_DATA_SIZE } from '../../uapi/feature.js';
import { VFIO_DEVICE_FEATURE, VFIO_DEVICE_RESET, VFIO_DEVICE_SET_IRQS, VFIO_MIG_GET_PRECOPY_INFO } from '../../uapi/ioctl.js';
import { VFIO_PCI_MSIX_IRQ_INDEX } from '../../uapi/irq-info.js';
import { encodeVfioIrqSet, vfioIrqSetOfEventfds } from '../../uapi/irq-set.js';
import { VfioDeviceMigState } from '../../uapi/migration.js';
import { errno, view } from '../../vfio/uapi.test-kit.js';
import type { VfioProcess } from '../../vfio/vfio-process.js';
import { ACC_DEV_MAGIC, QM_MATCH_SIZE, VF_DATA } from './hisi-acc-device.js';
import { hisiBed, migGet, migSet, readAll, vfQmIo } from './hisi-acc.test-kit.js';
import type { HisiBed, OpenVf } from './hisi-acc.test-kit.js';

const { STOP, RUNNING, STOP_COPY, RESUMING, PRE_COPY } = VfioDeviceMigState;

function precopyInfo(proc: VfioProcess, fd: number): { initial: bigint; dirty: bigint } {
  const b = new Uint8Array(24);
  view(b).setUint32(0, 24, true);
  proc.ioctl(fd, VFIO_MIG_GET_PRECOPY_INFO, b);
  return { initial: view(b).getBigUint64(8, true), dirty: view(b).getBigUint64(16, true) };
}

/** The EQ vector's eventfd. */
function msix(bed: HisiBed, vf: OpenVf): number {
  const fd = bed.eventfd();
  bed.proc.ioctl(vf.device, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfEventfds(VFIO_PCI_MSIX_IRQ_INDEX, 0, [fd])));
  return fd;
}

/** Four ZIP jobs queued and rung on `vf`'s guest (buffers filled with distinct bytes). */
function queueFour(vf: OpenVf): void {
  vf.guest.start();
  for (let i = 0; i < 4; i++) {
    vf.guest.src(i).set(new TextEncoder().encode(`buffer number ${i}`).subarray(0, 16));
    vf.guest.put(i);
  }
  vf.guest.ring();
}

test('every arc: PRE_COPY sends the match data early, STOP_COPY the rest; data fds as the kernel', async (t) => {
  const bed = await hisiBed([{ kind: 'zip', numVfs: 1 }]);
  t.after(() => bed.done());
  const vf = bed.open(bed.bind(0, 0));
  const { proc } = bed;
  const size = new Uint8Array(16);
  view(size).setUint32(0, 16, true);
  view(size).setUint32(4, (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DATA_SIZE) >>> 0, true);
  proc.ioctl(vf.device, VFIO_DEVICE_FEATURE, size);
  assert.equal(view(size).getBigUint64(8, true), BigInt(VF_DATA.size));

  // RUNNING -> PRE_COPY: a stream of the match data only.
  const pre = migSet(proc, vf.device, PRE_COPY);
  assert.ok(pre >= 0);
  assert.deepEqual(precopyInfo(proc, pre), { initial: BigInt(QM_MATCH_SIZE), dirty: 0n });
  const match = readAll(proc, pre, 16);
  assert.equal(match.length, QM_MATCH_SIZE);
  const d = view(match);
  assert.equal(d.getBigUint64(VF_DATA.accMagic, true), ACC_DEV_MAGIC);
  assert.equal(d.getUint32(VF_DATA.devId, true), 0xa251);
  assert.equal(d.getUint32(VF_DATA.qpNum, true), 48, 'one VF gets every queue the PF does not keep');
  assert.equal(d.getUint32(VF_DATA.qpBase, true), 16);
  assert.deepEqual(precopyInfo(proc, pre), { initial: 0n, dirty: 0n });
  assert.throws(() => proc.write(pre, new Uint8Array(1)), errno('EINVAL'), 'a saving stream is not written');
  // PRE_COPY -> RUNNING: the stream is disabled.
  assert.equal(migSet(proc, vf.device, RUNNING), -1);
  assert.throws(() => proc.read(pre, new Uint8Array(4)), errno('ENODEV'));
  assert.throws(() => precopyInfo(proc, pre), errno('EINVAL'), 'PRECOPY_INFO outside PRE_COPY');
  proc.close(pre);

  // RUNNING -> STOP -> STOP_COPY with a guest QM that never started: match data only (QM_NOT_READY).
  const out = migSet(proc, vf.device, STOP_COPY);
  assert.equal(migGet(proc, vf.device), STOP_COPY);
  const notReady = readAll(proc, out);
  assert.equal(notReady.length, QM_MATCH_SIZE);
  assert.equal(view(notReady).getUint32(VF_DATA.vfQmState, true), QM_NOT_READY);
  assert.throws(() => precopyInfo(proc, out), errno('EINVAL'));
  assert.throws(() => migSet(proc, vf.device, PRE_COPY), errno('EINVAL'), 'STOP_COPY -> PRE_COPY is no arc');
  assert.equal(migSet(proc, vf.device, STOP), -1);
  assert.throws(() => proc.read(out, new Uint8Array(4)), errno('ENODEV'));
  proc.close(out);

  // STOP -> RESUMING: writes past the struct are ENOMEM; an empty stream does not load (EINVAL, still RESUMING).
  const inFd = migSet(proc, vf.device, RESUMING);
  assert.throws(() => proc.write(inFd, new Uint8Array(VF_DATA.size + 1)), errno('ENOMEM'));
  assert.throws(() => proc.read(inFd, new Uint8Array(4)), errno('EINVAL'), 'a resuming stream is not read');
  assert.throws(() => migSet(proc, vf.device, STOP), errno('EINVAL'));
  assert.equal(migGet(proc, vf.device), RESUMING);
  // Match data only (a source whose QM was not ready) loads nothing and is fine.
  assert.equal(proc.write(inFd, notReady), QM_MATCH_SIZE);
  assert.equal(migSet(proc, vf.device, RUNNING), -1);
  assert.throws(() => proc.write(inFd, new Uint8Array(1)), errno('ENODEV'), 'RESUMING -> STOP disabled the stream');
  proc.close(inFd);
  assert.equal(migGet(proc, vf.device), RUNNING);
});

test('a VF saved with its queue half consumed resumes into another VF of its kind, which goes on where it stopped', async (t) => {
  const bed = await hisiBed([{ kind: 'zip', numVfs: 2, sqeBurst: 2 }]);
  t.after(() => bed.done());
  const src = bed.open(bed.bind(0, 0));
  const dst = bed.open(bed.bind(0, 1));
  const { proc } = bed;
  const srcIrq = msix(bed, src);
  const dstIrq = msix(bed, dst);
  const srcHw = bed.pfHw[0]?.vf(0);
  const dstHw = bed.pfHw[0]?.vf(1);
  queueFour(src);
  assert.equal(srcHw?.qm.completed, 2, 'half of the queue consumed');
  assert.equal(fired(srcIrq), 2);

  // PRE_COPY: the match data goes to the target early and is checked there.
  const out = migSet(proc, src.device, PRE_COPY);
  const inFd = migSet(proc, dst.device, RESUMING);
  const early = readAll(proc, out);
  assert.equal(proc.write(inFd, early), QM_MATCH_SIZE);
  assert.equal(bed.pfHw.length, 1);
  // PRE_COPY -> STOP_COPY: the source stops (PAUSE_QM, write-back) and the rest of the state follows.
  assert.equal(migSet(proc, src.device, STOP_COPY), -1, 'the PRE_COPY stream carries on');
  const rest = readAll(proc, out, 40);
  assert.equal(rest.length, VF_DATA.size - QM_MATCH_SIZE);
  const whole = new Uint8Array(VF_DATA.size);
  whole.set(early);
  whole.set(rest, QM_MATCH_SIZE);
  assert.equal(view(whole).getUint32(VF_DATA.vfQmState, true), QM_READY);
  assert.notEqual(view(whole).getBigUint64(VF_DATA.sqcDma, true), 0n, 'the SQC table base');
  // The target has never seen the guest: its QM is at power-on until the stream loads.
  assert.equal(vfQmIo(proc, dst.device).readl(QM_VF_STATE), QM_NOT_READY);
  proc.write(inFd, rest.subarray(0, 50));
  proc.write(inFd, rest.subarray(50));
  assert.equal(migSet(proc, dst.device, RUNNING), -1, 'RESUMING -> STOP loads, STOP -> RUNNING restarts the queues');
  assert.equal(vfQmIo(proc, dst.device).readl(QM_VF_STATE), QM_READY);
  assert.equal(dstHw?.qm.completed, 2, 'the target ran the two SQEs the source left');
  assert.equal(fired(dstIrq), 2);
  const guest = dst.guest;
  for (let i = 0; i < 4; i++) {
    assert.deepEqual(guest.dst(i), guest.src(i), `buffer ${i} copied`);
    assert.deepEqual(guest.cqe(i), { result: adler32(guest.src(i)), tag: i, sqHead: i + 1, sqNum: 0, phase: 1, status: QM_CQE_OK });
  }
  // The source is stopped for good: STOP_COPY -> STOP, and it did nothing more.
  assert.equal(migSet(proc, src.device, STOP), -1);
  assert.equal(srcHw?.qm.completed, 2);
  proc.close(out);
  proc.close(inFd);
  // The guest goes on with the target: its next SQE lands after the others.
  const next = new GuestQm(dst.guest.io, bed.mem, dst.guest.iova);
  next.tail = 4;
  next.src(4).fill(0x5a);
  next.put(4);
  next.ring();
  assert.deepEqual(next.dst(4), next.src(4));
  assert.equal(next.cqe(4).sqHead, 5);
  assert.equal(dstHw?.qm.completed, 3);
});

test('match data of another kind or queue count: the write fails (EFAULT), the load EINVAL, the source keeps running', async (t) => {
  const bed = await hisiBed([
    { kind: 'zip', numVfs: 2 },
    { kind: 'sec', numVfs: 2 },
    { kind: 'zip', numVfs: 4 },
  ]);
  t.after(() => bed.done());
  const { proc } = bed;
  const src = bed.open(bed.bind(0, 0));
  queueFour(src);
  const srcHw = bed.pfHw[0]?.vf(0);
  assert.equal(srcHw?.qm.completed, 4);
  const out = migSet(proc, src.device, STOP_COPY);
  const stream = readAll(proc, out);
  assert.equal(stream.length, VF_DATA.size);
  for (const [i, why] of [
    [1, 'a SEC VF'],
    [2, 'a ZIP VF with 12 queues instead of 24'],
  ] as const) {
    const target = bed.open(bed.bind(i, 0));
    const inFd = migSet(proc, target.device, RESUMING);
    assert.throws(() => proc.write(inFd, stream), errno('EFAULT'), why);
    assert.throws(() => migSet(proc, target.device, STOP), errno('EINVAL'), why);
    assert.equal(migGet(proc, target.device), RESUMING);
    proc.close(inFd);
  }
  // The source was only stopped: back to RUNNING, its guest rings again and it goes on.
  assert.equal(migSet(proc, src.device, RUNNING), -1);
  proc.close(out);
  src.guest.src(4).fill(7);
  src.guest.put(4);
  src.guest.ring();
  assert.equal(srcHw?.qm.completed, 5);
  assert.deepEqual(src.guest.dst(4), src.guest.src(4));
});

test('VFIO_DEVICE_RESET: the QM to power-on, the device back to RUNNING, its streams disabled', async (t) => {
  const bed = await hisiBed([{ kind: 'hpre', numVfs: 1 }]);
  t.after(() => bed.done());
  const { proc } = bed;
  const vf = bed.open(bed.bind(0, 0));
  vf.guest.start();
  assert.equal(vfQmIo(proc, vf.device).readl(QM_VF_STATE), QM_READY);
  const pre = migSet(proc, vf.device, PRE_COPY);
  proc.ioctl(vf.device, VFIO_DEVICE_RESET);
  assert.equal(migGet(proc, vf.device), RUNNING);
  assert.throws(() => proc.read(pre, new Uint8Array(8)), errno('ENODEV'));
  proc.close(pre);
  assert.equal(vfQmIo(proc, vf.device).readl(QM_VF_STATE), QM_NOT_READY, 'FLR reset the QM');
  assert.deepEqual(bed.pfHw[0]?.vf(0)?.resets.slice(-1), ['flr']);
  // A new migration starts from scratch.
  const again = migSet(proc, vf.device, STOP_COPY);
  assert.equal(readAll(proc, again).length, QM_MATCH_SIZE, 'the reset QM is not ready: match data only');
  proc.close(again);
});
