// The accelerator hardware driven through its registers: the PF driver's VFT sharing queues among VFs, a VF's QM
// started by mailbox and fed by doorbells (ZIP, SEC and HPRE jobs with real results, CQEs, EQEs, MSI-X), the
// prefetch window leaving a queue half consumed, pause + cache write-back putting the queue state in the context
// tables and a restart doorbell continuing from them, mailbox refusals, and FLR returning the QM to power-on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Host } from '../../base/host.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { PCI_COMMAND, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY, PCI_MSIX_FLAGS_ENABLE } from '../../uapi/pci-regs.js';
import { PCI_CAP_ID_MSIX } from '../../uapi/pci-regs.js';
import { pciBarRead, pciBarWrite, pciFindCapability, pciReadConfig, pciSetDmaPort, pciSetInterruptSink, pciWriteConfig } from '../pci/pci-dev.js';
import { pciPendingRemoval } from '../pci/pci-bus-type.js';
import { pciSriovSetNumVfs } from '../pci/iov.js';
import { pciResetFunction } from '../pci/reset.js';
import { pciGetDevice, pciRemoveRootBus, pciScanRootBus } from '../pci/scan.js';
import { FakeIommuMemory, RecordingSink } from '../pci/pci.test-kit.js';
import { adler32, modexp } from './acc-engine.js';
import { HisiAccPf } from './hisi-acc-pf.js';
import { HisiAccVf } from './hisi-acc-vf.js';
import { GUEST_MEM_SIZE, G_SQC_TABLE, GuestQm } from './guest-qm.test-kit.js';
import { HisiQm, pciIovGetPfDrvdata, hisiQmGetPfDriver, hisiQmPfDriversRegister } from './pf-driver.js';
import { qmGetVft, qmReadl, qmWritel } from './qm-io.js';
import { decodeSqc } from './qm-contexts.js';
import * as R from './qm-regs.js';
import type { HisiAccKind } from './qm-regs.js';

const IOVA = 0x100000n;

async function machine(t: { after(fn: () => unknown): void }, kind: HisiAccKind, numVfs: number, opts: { sqeBurst?: number; totalQps?: number } = {}) {
  const mark = sanitizer.mark();
  const host = new Host();
  const pfHw = new HisiAccPf({ kind, ...opts });
  const root = pciScanRootBus(host, { devices: [{ device: 2, bridge: 'root-port', acs: true, below: [{ device: 0, hw: pfHw }] }] });
  const drivers = hisiQmPfDriversRegister(host);
  t.after(async () => {
    await drivers.unregister();
    await pciRemoveRootBus(root);
    sanitizer.assertNoLeaks(mark);
  });
  const pf = pciGetDevice(host, '0000:01:00.0');
  assert.ok(pf);
  await pciSriovSetNumVfs(pf, numVfs);
  return { host, pf, pfHw };
}

/** VF `n` with decoding and bus mastering on, DMA into fresh memory, and a guest QM on it. */
function guestOn(host: Host, pfHw: HisiAccPf, n: number) {
  const vf = pciGetDevice(host, `0000:01:00.${n + 1}`);
  assert.ok(vf);
  pciWriteConfig(vf, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
  const mem = new FakeIommuMemory();
  const bytes = mem.map(IOVA, GUEST_MEM_SIZE);
  pciSetDmaPort(vf, mem);
  const hw = pfHw.vf(n);
  assert.ok(hw instanceof HisiAccVf);
  const io = { readl: (off: number) => qmReadl(vf, off), writel: (off: number, v: number) => qmWritel(vf, off, v) };
  return { vf, hw, bytes, guest: new GuestQm(io, bytes, IOVA) };
}

test('the PF driver shares the QM among VFs through the VFT; a VF reads its share through its own mailbox', async (t) => {
  const { host, pf, pfHw } = await machine(t, 'zip', 2);
  const qm = pf.driverData;
  assert.ok(qm instanceof HisiQm);
  assert.equal(qm.ver, R.QM_HW_V3);
  assert.deepEqual(R.qmDecodeVft(qmGetVft(pf, 0)), { base: 0, num: 16 }, 'the PF keeps pf_q_num');
  assert.deepEqual(R.qmDecodeVft(qmGetVft(pf, 1)), { base: 16, num: 24 });
  assert.deepEqual(R.qmDecodeVft(qmGetVft(pf, 2)), { base: 40, num: 24 });
  const { vf, guest } = guestOn(host, pfHw, 1);
  assert.equal(vf.device, 0xa251);
  assert.equal(pciIovGetPfDrvdata(vf, hisiQmGetPfDriver('zip')), qm);
  assert.equal(pciIovGetPfDrvdata(vf, hisiQmGetPfDriver('sec')), null, 'not the PF driver of this VF');
  assert.equal(guest.mb(R.QM_MB_CMD_SQC_VFT_V2, 0n, 0, true) & R.QM_MB_STATUS_MASK, 0);
  assert.deepEqual(R.qmDecodeVft(guest.mbData()), { base: 40, num: 24 });
  assert.notEqual(guest.mb(R.QM_MB_CMD_SQC_VFT_V2, 0n, 0, false) & R.QM_MB_STATUS_MASK, 0, 'a VF may not write its VFT');
  await pciSriovSetNumVfs(pf, 0);
  assert.deepEqual(R.qmDecodeVft(qmGetVft(pf, 1)), { base: 0, num: 0 }, 'disabling SR-IOV clears the VF VFTs');
});

test('a ZIP VF runs SQEs by DMA: copy with Adler-32, CQEs with phase and SQ head, EQEs, the EQ vector by MSI-X', async (t) => {
  const { host, pfHw } = await machine(t, 'zip', 1);
  const { vf, guest } = guestOn(host, pfHw, 0);
  const sink = new RecordingSink();
  pciSetInterruptSink(vf, sink);
  const msix = pciFindCapability(vf, PCI_CAP_ID_MSIX);
  pciWriteConfig(vf, msix + 2, 2, pciReadConfig(vf, msix + 2, 2) | PCI_MSIX_FLAGS_ENABLE);
  pciBarWrite(vf, 0, 12, new Uint8Array(4)); // vector 0 unmasked
  guest.start();
  assert.equal(qmReadl(vf, R.QM_VF_STATE), R.QM_READY);
  for (let i = 0; i < 3; i++) {
    guest.src(i).set(new TextEncoder().encode(`job ${i} for zip..`).subarray(0, 16));
    guest.put(i);
  }
  guest.ring();
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(guest.dst(i), guest.src(i));
    const cqe = guest.cqe(i);
    assert.deepEqual(cqe, { result: adler32(guest.src(i)), tag: i, sqHead: i + 1, sqNum: 0, phase: 1, status: R.QM_CQE_OK });
    assert.deepEqual(guest.eqe(i), { cq: 0, phase: 1 });
  }
  assert.deepEqual(sink.events, ['msix 0', 'msix 0', 'msix 0']);
  // A DMA fault on a buffer is the job's status, not the queue's end.
  guest.put(3, { src: 0x9000000n });
  guest.ring();
  assert.equal(guest.cqe(3).status, R.QM_CQE_DMA_FAULT);
  // Refusals: a queue beyond the VF's share, an unknown command.
  assert.notEqual(guest.mb(R.QM_MB_CMD_SQC, IOVA, 99, false) & R.QM_MB_STATUS_MASK, 0);
  assert.notEqual(guest.mb(0x7, IOVA, 0, false) & R.QM_MB_STATUS_MASK, 0);
});

test('SEC XORs with its key', async (t) => {
  const sec = await machine(t, 'sec', 1);
  const s = guestOn(sec.host, sec.pfHw, 0);
  s.guest.start();
  s.guest.src(0).set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
  s.guest.put(0, { key: 0x0807060504030201n });
  s.guest.ring();
  assert.deepEqual([...s.guest.dst(0)], [0, 0, 0, 0, 0, 0, 0, 0, 8, 8, 8, 8, 8, 8, 8, 24]);
  assert.equal(s.vf.device, 0xa256);
});

test('HPRE computes a modular exponentiation', async (t) => {
  const hpre = await machine(t, 'hpre', 1);
  const h = guestOn(hpre.host, hpre.pfHw, 0);
  h.guest.start();
  const args = new DataView(h.guest.src(0, 24).buffer, h.guest.src(0, 24).byteOffset, 24);
  args.setBigUint64(0, 4n, true);
  args.setBigUint64(8, 13n, true);
  args.setBigUint64(16, 497n, true);
  h.guest.put(0);
  h.guest.ring();
  const out = new DataView(h.guest.dst(0, 8).buffer, h.guest.dst(0, 8).byteOffset, 8).getBigUint64(0, true);
  assert.equal(out, 445n);
  assert.equal(out, modexp(4n, 13n, 497n));
  args.setBigUint64(16, 0n, true);
  h.guest.put(1, { src: h.guest.iova + BigInt(0x3000) });
  h.guest.ring();
  assert.equal(h.guest.cqe(1).status, R.QM_CQE_BAD_REQUEST, 'modulus 0');
});

test('a small prefetch window leaves the queue half consumed; pause, write-back and a restart doorbell continue it', async (t) => {
  const { host, pfHw } = await machine(t, 'zip', 1, { sqeBurst: 2 });
  const { vf, hw, bytes, guest } = guestOn(host, pfHw, 0);
  guest.start();
  for (let i = 0; i < 4; i++) {
    guest.src(i).fill(i + 1);
    guest.put(i);
  }
  guest.ring();
  assert.equal(hw.qm.completed, 2, 'two SQEs per doorbell');
  assert.equal(guest.dst(2)[0], 0);
  assert.equal(guest.mb(R.QM_MB_CMD_PAUSE_QM, 0n, 0, false) & R.QM_MB_STATUS_MASK, 0);
  qmWritel(vf, R.QM_CACHE_WB_START, 1);
  assert.equal(qmReadl(vf, R.QM_CACHE_WB_DONE), 1);
  const sqc = decodeSqc(bytes.subarray(G_SQC_TABLE, G_SQC_TABLE + R.QM_CTX_SIZE));
  assert.deepEqual({ head: sqc.head, tail: sqc.tail }, { head: 2, tail: 4 }, 'the queue state is in the SQC table');
  // Forgetting the cache (the table base written again) and restarting: the QM reloads the context and goes on.
  guest.mb(R.QM_MB_CMD_SQC_BT, IOVA + BigInt(G_SQC_TABLE), 0, false);
  guest.ring(1);
  assert.equal(hw.qm.completed, 4);
  assert.deepEqual(guest.dst(3), guest.src(3));
  assert.equal(guest.cqe(3).sqHead, 4);
});

test('FLR returns the VF QM to power-on; the VFT, which the PF holds, survives', async (t) => {
  const { host, pfHw } = await machine(t, 'hpre', 2);
  const { vf, hw, guest } = guestOn(host, pfHw, 0);
  guest.start();
  qmWritel(vf, R.QM_PAGE_SIZE, 0x1000);
  const eqcBase = qmReadl(vf, R.QM_EQC_DW0);
  assert.notEqual(eqcBase, 0, 'the EQC shadow shows the EQ base');
  pciResetFunction(vf);
  assert.deepEqual(hw.resets, ['flr']);
  pciWriteConfig(vf, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
  assert.equal(qmReadl(vf, R.QM_VF_STATE), R.QM_NOT_READY);
  assert.equal(qmReadl(vf, R.QM_PAGE_SIZE), 0);
  assert.equal(qmReadl(vf, R.QM_EQC_DW0), 0);
  guest.mb(R.QM_MB_CMD_SQC_BT, 0n, 0, true);
  assert.equal(guest.mbData(), 0n, 'the context table base is gone');
  guest.mb(R.QM_MB_CMD_SQC_VFT_V2, 0n, 0, true);
  assert.deepEqual(R.qmDecodeVft(guest.mbData()), { base: 16, num: 24 });
  // Registers take aligned dwords only.
  pciBarWrite(vf, 2, R.QM_PAGE_SIZE, new Uint8Array([1, 2]));
  const b = new Uint8Array(4);
  pciBarRead(vf, 2, R.QM_PAGE_SIZE, b);
  assert.deepEqual([...b], [0, 0, 0, 0]);
});

test('the last VF takes the remainder of the queues; unbinding the PF driver disables SR-IOV', async (t) => {
  const { pf } = await machine(t, 'sec', 4, { totalQps: 66 });
  assert.equal(pf.sriov?.numVfs, 4);
  assert.deepEqual(R.qmDecodeVft(qmGetVft(pf, 3)), { base: 40, num: 12 });
  assert.deepEqual(R.qmDecodeVft(qmGetVft(pf, 4)), { base: 52, num: 14 });
  pf.host?.sysfs.write('/sys/bus/pci/drivers/hisi_sec2/unbind', pf.bdf);
  await pciPendingRemoval(pf);
  assert.equal(pf.sriov?.numVfs, 0);
  assert.equal(pf.driverData, null);
});
