// vfio_ccw_cp.c's rules, each through the I/O region of an opened device with real DMA mappings and the data
// checked in guest memory: format-1 IDALs (4-byte IDAWs, 2K each) and 2K format-2 IDALs translated (idal_is_2k,
// ccw_count_idaws, get_guest_idal) and run as 2K format-2 IDAWs (cp_get_orb sets i2k), a direct address under a
// format-1 ORB cut at 2K boundaries, the guest's storage key kept, prefetch not required, skip reads not pinned
// (ccw_does_data_transfer), and fsm_io_request leaving ret_code alone for a write with no function.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CCW_FLAG_CC, CCW_FLAG_IDA, CCW_FLAG_SKIP, CCW_FLAG_SLI, DEV_STAT_CHN_END, DEV_STAT_DEV_END, cmdOrb, emptyScsw, encodeCcwChain, encodeCmdOrb, encodeScsw } from '../../uapi/s390-cio.js';
import type { CmdOrb } from '../../uapi/s390-cio.js';
import { CCW_IO_REGION_IRB, CCW_IO_REGION_SCSW, VFIO_CCW_ASYNC_CMD_HSCH, vfioCcwIndexToOffset } from '../../uapi/ccw.js';
import { FBA_CMD_LOCATE, FBA_CMD_READ, FBA_LOCATE_READ, FbaDisk } from '../../hw/css/fba-disk.js';
import { CON_CMD_READ_INQ } from '../../hw/css/unit-record.js';
import { errno } from '../../vfio/uapi.test-kit.js';
import { ccwRig, signalled } from './vfio-ccw.test-kit.js';
import type { CcwRig, OpenCcw } from './vfio-ccw.test-kit.js';
import type { VfioCcwPrivate } from './vfio-ccw-private.js';

const OK = DEV_STAT_CHN_END | DEV_STAT_DEV_END;

/** Blocks 4 and 5 of the disk at 0.0.0100 hold a known pattern; a LOCATE for them sits at 0x800. */
function diskRig(t: { after(fn: () => Promise<void>): void }): { r: CcwRig; priv: VfioCcwPrivate; d: OpenCcw; data: Uint8Array } {
  const r = ccwRig();
  t.after(() => r.done());
  const { priv } = r.create('0.0.0100');
  const d = r.open(priv);
  const disk = r.mod.machine.subchannel('0.0.0100')?.hw.device;
  assert.ok(disk instanceof FbaDisk);
  const data = Uint8Array.from({ length: 1024 }, (_v, i) => (i * 7 + 3) & 0xff);
  disk.writeBlocks(4, data);
  const loc = new Uint8Array(8);
  const dv = new DataView(loc.buffer);
  dv.setUint8(0, FBA_LOCATE_READ);
  dv.setUint16(2, 2);
  dv.setUint32(4, 4);
  r.guest.set(loc, 0x800);
  return { r, priv, d, data };
}

/** LOCATE + READ of 1024 bytes at `cda` with `flags`, started with `orb`, to completion. */
async function readTwoBlocks(r: CcwRig, d: OpenCcw, cda: number, flags: number, orb: Partial<CmdOrb>): Promise<void> {
  r.guest.set(encodeCcwChain([
    { cmd: FBA_CMD_LOCATE, flags: CCW_FLAG_CC, count: 8, cda: 0x800 },
    { cmd: FBA_CMD_READ, flags, count: 1024, cda },
  ]), 0x1000);
  d.start(cmdOrb({ cpa: 0x1000, ...orb }));
}

test('a format-1 IDAL: 4-byte IDAWs of 2K each, scattered, pinned page by page, run as 2K format-2 IDAWs', async (t) => {
  const { r, priv, d, data } = diskRig(t);
  // 0x100 bytes up to the 2K boundary at 0x6000, then 0x300 bytes from the 2K-aligned 0x9800.
  const idal = new DataView(r.guest.buffer, 0x2000, 8);
  idal.setUint32(0, 0x5f00);
  idal.setUint32(4, 0x9800);
  await readTwoBlocks(r, d, 0x2000, CCW_FLAG_IDA, { c64: false });
  assert.equal(priv.cp.iovaPinned(0x5000n, 0x1000n) && priv.cp.iovaPinned(0x9000n, 0x1000n), true);
  assert.equal(priv.cp.iovaPinned(0x6000n, 0x3000n), false, 'only the pages the IDAWs name');
  await signalled(d.ioEfd, 'IO eventfd');
  assert.equal(d.irb().scsw.dstat, OK);
  assert.deepEqual(r.guest.subarray(0x5f00, 0x6000), data.subarray(0, 0x100));
  assert.deepEqual(r.guest.subarray(0x9800, 0x9b00), data.subarray(0x100));
  assert.equal(priv.state, 'IDLE');
});

test('a 2K format-2 IDAL (c64 with i2k): 8-byte IDAWs, each a 2K block', async (t) => {
  const { r, d, data } = diskRig(t);
  const idal = new DataView(r.guest.buffer, 0x2000, 16);
  idal.setBigUint64(0, 0x7e00n);
  idal.setBigUint64(8, 0xa800n);
  await readTwoBlocks(r, d, 0x2000, CCW_FLAG_IDA, { c64: true, i2k: true });
  await signalled(d.ioEfd, 'IO eventfd');
  assert.equal(d.irb().scsw.dstat, OK);
  assert.deepEqual(r.guest.subarray(0x7e00, 0x8000), data.subarray(0, 0x200));
  assert.deepEqual(r.guest.subarray(0xa800, 0xaa00), data.subarray(0x200));
});

test('a direct address under a format-1 ORB: an IDAL fabricated at 2K boundaries, the data contiguous', async (t) => {
  const { r, priv, d, data } = diskRig(t);
  await readTwoBlocks(r, d, 0xc700, 0, { c64: false });
  assert.equal(priv.cp.iovaPinned(0xc000n, 1n), true);
  await signalled(d.ioEfd, 'IO eventfd');
  assert.deepEqual(r.guest.subarray(0xc700, 0xcb00), data);
});

test("the guest's storage key is kept and a program without the prefetch bit is still run", async (t) => {
  const { r, d, data } = diskRig(t);
  await readTwoBlocks(r, d, 0xd000, 0, { c64: true, key: 3, pfch: false });
  await signalled(d.ioEfd, 'IO eventfd');
  const irb = d.irb();
  assert.equal(irb.scsw.key, 3, 'allow non-zero storage keys');
  assert.equal(irb.scsw.dstat, OK);
  assert.deepEqual(r.guest.subarray(0xd000, 0xd400), data);
});

test('a read with the skip flag transfers nothing, so nothing is pinned; halt ends it', async (t) => {
  const r = ccwRig();
  t.after(() => r.done());
  const { priv } = r.create('0.0.0101');
  const d = r.open(priv);
  r.guest.set(encodeCcwChain([{ cmd: CON_CMD_READ_INQ, flags: CCW_FLAG_SLI | CCW_FLAG_SKIP, count: 80, cda: 0x3000 }]), 0x1000);
  d.start(cmdOrb({ cpa: 0x1000 }));
  assert.equal(priv.state, 'CP_PENDING');
  assert.equal(priv.cp.initialized, true);
  assert.equal(priv.cp.iovaPinned(0x3000n, 0x1000n), false);
  d.async(VFIO_CCW_ASYNC_CMD_HSCH);
  await signalled(d.ioEfd);
  assert.equal(priv.state, 'IDLE');
});

test('a write with no start, halt or clear function: nothing runs and ret_code is left as it was', async (t) => {
  const r = ccwRig();
  t.after(() => r.done());
  const { priv } = r.create('0.0.0101');
  const d = r.open(priv);
  const noFunction = new Uint8Array(CCW_IO_REGION_IRB);
  noFunction.set(encodeCmdOrb(cmdOrb({ cpa: 0x1000 })), 0);
  noFunction.set(encodeScsw({ ...emptyScsw(), fctl: 0 }), CCW_IO_REGION_SCSW);
  assert.equal(r.proc.pwrite(d.fd, noFunction, vfioCcwIndexToOffset(0)), CCW_IO_REGION_IRB);
  assert.throws(() => d.start(cmdOrb({ cpa: 0x1000, tm: true })), errno('EOPNOTSUPP'));
  // The region's ret_code still holds the last answer: the kernel returns it for this write too.
  assert.throws(() => r.proc.pwrite(d.fd, noFunction, vfioCcwIndexToOffset(0)), errno('EOPNOTSUPP'));
  assert.equal(priv.state, 'IDLE');
});
