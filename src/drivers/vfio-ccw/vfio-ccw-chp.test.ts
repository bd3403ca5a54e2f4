// vfio-ccw's capability regions and channel-path handling against drivers/s390/cio/vfio_ccw_chp.c,
// vfio_ccw_async.c and vfio_ccw_drv.c (vfio_ccw_chp_event, vfio_ccw_queue_crw), through the device fd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CCW_FLAG_SLI, CRW_ERC_INIT, CRW_ERC_PERRN, SCSW_FCTL_CLEAR_FUNC, SCSW_FCTL_HALT_FUNC, SCSW_FCTL_START_FUNC, cmdOrb, crwOfWord, encodeCcwChain } from '../../uapi/s390-cio.js';
import { CCW_CRW_REGION_SIZE, VFIO_CCW_ASYNC_CMD_CSCH, decodeCcwCrwRegion, vfioCcwIndexToOffset } from '../../uapi/ccw.js';
import { eventfdRead } from '../../native/index.js';
import { CON_CMD_READ_INQ } from '../../hw/css/unit-record.js';
import { errno } from '../../vfio/uapi.test-kit.js';
import { ccwRig, signalled } from './vfio-ccw.test-kit.js';

const twoPathConsole = { subchannels: [{ schid: '0.0.0300', devno: '0.0.3000', chpids: [0x30, 0x31], device: { kind: 'unit-record' as const } }] };

test('vfio_ccw_chp_event CHP_VARY_OFF of the last path used: cio_cancel_halt_clear halts (not clears) the running program', async () => {
  const r = ccwRig(twoPathConsole);
  const { priv } = r.create('0.0.0300');
  const d = r.open(priv);
  r.guest.set(encodeCcwChain([{ cmd: CON_CMD_READ_INQ, flags: CCW_FLAG_SLI, count: 80, cda: 0x3000 }]), 0x1000);
  d.start(cmdOrb({ cpa: 0x1000 }));
  await new Promise((res) => setImmediate(res));
  assert.equal(priv.state, 'CP_PENDING');
  // A path the program does not use: only the masks change.
  r.mod.machine.chp(0x31)?.vary(false);
  assert.deepEqual([priv.sch.lpm, priv.sch.opm], [0x80, 0x80]);
  assert.equal(priv.state, 'CP_PENDING', 'lpum does not name 0x31: nothing is ended');
  // The path the device is connected on: XSCH cannot cancel an active program (cc 2), so HSCH.
  r.mod.machine.chp(0x30)?.vary(false);
  await signalled(d.ioEfd, 'IO eventfd');
  const irb = d.irb();
  assert.equal(irb.scsw.fctl, SCSW_FCTL_START_FUNC | SCSW_FCTL_HALT_FUNC, 'a halt interruption, not a clear');
  assert.equal(irb.scsw.fctl & SCSW_FCTL_CLEAR_FUNC, 0);
  assert.equal(priv.state, 'IDLE', 'the final interruption of the program frees it');
  assert.deepEqual([priv.sch.lpm, priv.sch.opm], [0, 0]);
  // CHP_VARY_ON gives both masks back; no CRW for vary events.
  r.mod.machine.chp(0x30)?.vary(true);
  assert.deepEqual([priv.sch.lpm, priv.sch.opm], [0x80, 0x80]);
  assert.equal(typeof eventfdRead(d.crwEfd), 'number', 'no CRW was queued for vary on/off');
  await r.done();
});

test('vfio_ccw_queue_crw and the CRW region: oldest first, one per read at any offset, re-signalled while more remain', async () => {
  const r = ccwRig(twoPathConsole);
  const { priv } = r.create('0.0.0300');
  const d = r.open(priv);
  const chp = r.mod.machine.chp(0x31);
  chp?.configure(false);
  chp?.configure(true);
  await signalled(d.crwEfd, 'CRW eventfd');
  // CHP_OFFLINE queues PERRN, CHP_ONLINE queues INIT: only rsc, erc and rsid are set.
  const first = decodeCcwCrwRegion(d.read(3, 0, CCW_CRW_REGION_SIZE)).crw;
  assert.deepEqual(crwOfWord(first), { slct: false, oflw: false, chn: false, rsc: 4, anc: false, erc: CRW_ERC_PERRN, rsid: 0x31 });
  await signalled(d.crwEfd, 'CRW eventfd again: one more is queued');
  // A read at offset 4 (the pad) still takes the next CRW off the queue.
  assert.deepEqual([...d.read(3, 4, 4)], [0, 0, 0, 0]);
  assert.equal(decodeCcwCrwRegion(d.read(3, 0, CCW_CRW_REGION_SIZE)).crw, 0, 'the INIT CRW went with the offset read');
  assert.equal(typeof eventfdRead(d.crwEfd), 'number', 'nothing left: no signal');
  // ONLINE: lpm |= mask & opm.
  assert.equal(priv.sch.lpm, 0xc0);
  assert.throws(() => d.read(3, 4, 8), errno('EINVAL'), 'pos + count past sizeof(struct ccw_crw_region)');
  assert.throws(() => r.proc.pwrite(d.fd, new Uint8Array(4), vfioCcwIndexToOffset(3)), errno('EINVAL'), 'the CRW region is read-only');
  await r.done();
});

test("the async region (vfio_ccw_async.c) and the SCHIB region (vfio_ccw_chp.c): sizes, CSCH's interruption, ENODEV when the SCHIB can't be stored", async () => {
  const r = ccwRig(twoPathConsole);
  const { priv } = r.create('0.0.0300');
  const d = r.open(priv);
  assert.throws(() => d.read(1, 4, 8), errno('EINVAL'), 'past sizeof(struct ccw_cmd_region)');
  assert.throws(() => r.proc.pwrite(d.fd, new Uint8Array(12), vfioCcwIndexToOffset(1)), errno('EINVAL'), 'a write past the region');
  // CSCH on an idle enabled subchannel: ret_code 0, the write returns count, the clear's interruption reaches the guest.
  d.async(VFIO_CCW_ASYNC_CMD_CSCH);
  await signalled(d.ioEfd, 'IO eventfd');
  assert.equal(d.irb().scsw.fctl, SCSW_FCTL_CLEAR_FUNC);
  assert.equal(priv.state, 'IDLE', 'a clear of no program leaves the state alone');
  assert.throws(() => d.read(2, 48, 8), errno('EINVAL'), 'past sizeof(struct ccw_schib_region)');
  // The device goes: cio_update_schib fails, the read answers ENODEV; the async region answers EIO (NOT_OPER).
  r.mod.machine.detachDevice('0.0.0300');
  assert.equal(priv.state, 'NOT_OPER');
  assert.throws(() => d.read(2, 0, 52), errno('ENODEV'));
  assert.throws(() => d.async(VFIO_CCW_ASYNC_CMD_CSCH), errno('EIO'));
  await r.done();
});

test('CHP_OFFLINE when the SCHIB cannot be stored: vfio_ccw_chp_event answers ENODEV before queueing a CRW; the css drops lpm and evaluates (NOT_OPER)', async () => {
  const r = ccwRig(twoPathConsole);
  const { priv } = r.create('0.0.0300');
  const d = r.open(priv);
  // The device goes and the machine has not reported it yet: the path loss is what the driver hears first.
  priv.sch.hw.detachDevice();
  r.mod.machine.chp(0x31)?.configure(false);
  assert.equal(priv.sch.lpm, 0, 's390_subchannel_remove_chpid: out_unreg');
  assert.equal(priv.state, 'NOT_OPER', 'vfio_ccw_sch_event: cio_update_schib failed');
  assert.equal(typeof eventfdRead(d.crwEfd), 'number', 'no CRW was queued');
  assert.equal(decodeCcwCrwRegion(d.read(3, 0, CCW_CRW_REGION_SIZE)).crw, 0);
  assert.throws(() => d.async(VFIO_CCW_ASYNC_CMD_CSCH), errno('EIO'));
  await signalled(d.reqEfd, 'REQ eventfd: the subchannel unregisters');
  d.close();
  await r.done();
});
