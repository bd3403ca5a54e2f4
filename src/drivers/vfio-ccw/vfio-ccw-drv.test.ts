// vfio_ccw_drv.c's helpers against the kernel through the device fd: vfio_ccw_sch_quiesce (reached from
// VFIO_DEVICE_RESET's CLOSE) and vfio_ccw_sch_io_todo for the interruption it provokes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CCW_FLAG_SLI, SCSW_FCTL_HALT_FUNC, SCSW_FCTL_START_FUNC, cmdOrb, encodeCcwChain } from '../../uapi/s390-cio.js';
import { VFIO_DEVICE_RESET } from '../../uapi/ioctl.js';
import { CON_CMD_READ_INQ, UnitRecordConsole } from '../../hw/css/unit-record.js';
import { ccwRig, signalled } from './vfio-ccw.test-kit.js';

test('RESET with a program running: vfio_ccw_sch_quiesce halts it, io_todo puts the halt IRB in the I/O region and signals IO', async () => {
  const r = ccwRig();
  const { priv } = r.create('0.0.0101');
  const d = r.open(priv);
  r.guest.set(encodeCcwChain([{ cmd: CON_CMD_READ_INQ, flags: CCW_FLAG_SLI, count: 80, cda: 0x3000 }]), 0x1000);
  d.start(cmdOrb({ cpa: 0x1000 }));
  await new Promise((res) => setImmediate(res));
  assert.equal(priv.state, 'CP_PENDING');
  assert.equal(priv.cp.iovaPinned(0x3000n, 1n), true);
  r.proc.ioctl(d.fd, VFIO_DEVICE_RESET);
  // cio_disable_subchannel answered EBUSY (a function running); XSCH could not cancel an active program; HSCH.
  await signalled(d.ioEfd, 'IO eventfd from the quiesce');
  assert.equal(d.irb().scsw.fctl, SCSW_FCTL_START_FUNC | SCSW_FCTL_HALT_FUNC);
  assert.equal(priv.cp.iovaPinned(0n, BigInt(1 << 20)), false, 'the final interruption freed the program');
  assert.equal(priv.state, 'IDLE', 'CLOSE then OPEN');
  assert.equal(priv.sch.schib.pmcw.ena, true);
  // Nothing is left pending: the next program runs.
  const con = r.mod.machine.subchannel('0.0.0101')?.hw.device;
  assert.ok(con instanceof UnitRecordConsole);
  con.pushInput(new TextEncoder().encode('ok'));
  d.start(cmdOrb({ cpa: 0x1000 }));
  await signalled(d.ioEfd);
  assert.equal(new TextDecoder().decode(r.guest.subarray(0x3000, 0x3002)), 'ok');
  await r.done();
});
