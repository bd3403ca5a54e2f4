// CANCEL SUBCHANNEL on the simulated subchannel, and cio_cancel_halt_clear's order on it (drivers/s390/cio/cio.c):
// a start not yet begun is withdrawn silently; otherwise HSCH is tried (3 times) before CSCH. This machine halts
// at once, so the clear step (a halt refused with cc 1/2 after cancel said cc 2) is not reachable on it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SCSW_FCTL_CLEAR_FUNC, SCSW_FCTL_HALT_FUNC, cmdOrb } from '../../uapi/s390-cio.js';
import { Subchannel, cioCancel, cioCancelHaltClear } from './subchannel.js';
import { SubchannelHw } from './subchannel-hw.js';
import { UnitRecordConsole } from './unit-record.js';

function rig(t: { after(fn: () => void): void }): { sch: Subchannel; irqs: () => number } {
  const hw = new SubchannelHw({ devno: 0x1234, chpids: [0x10], device: new UnitRecordConsole() });
  let irqs = 0;
  hw.irqSink = () => {
    irqs += 1;
  };
  const sch = new Subchannel({ cssid: 0, ssid: 0, num: 0x42 }, hw);
  t.after(() => {
    hw.destroy();
    hw.device.destroy?.();
  });
  assert.equal(hw.msch({ ena: true, intparm: 0x42 }), 0);
  return { sch, irqs: () => irqs };
}

test('XSCH withdraws a start still pending with no interruption; an active program gets cc 2 (cio_cancel: EINVAL)', async (t) => {
  const { sch, irqs } = rig(t);
  assert.equal(cioCancel(sch), 'EINVAL', 'nothing to cancel');
  assert.equal(sch.hw.ssch(cmdOrb({ cpa: 0x1000 })), 0);
  assert.equal(cioCancel(sch), 0);
  assert.equal(sch.hw.functionPending, false);
  await new Promise((r) => setImmediate(r));
  assert.equal(irqs(), 0, 'a cancelled start ends without status');
  assert.equal(sch.hw.tsch().cc, 1);
});

test('cio_cancel_halt_clear: HSCH when cancel does not apply (EBUSY, 3 tries), EBUSY with status pending, 0 when disabled', async (t) => {
  const { sch, irqs } = rig(t);
  // Enabled and idle: cancel has nothing (EINVAL), so HSCH is issued (EBUSY: its interruption follows).
  const retry = { iretry: 255 };
  assert.equal(cioCancelHaltClear(sch, retry), 'EBUSY');
  assert.equal(retry.iretry, 2, 'three halt tries, one used');
  assert.equal(sch.hw.stsch().scsw.fctl, SCSW_FCTL_HALT_FUNC);
  assert.equal(irqs(), 1);
  // Status pending now: XSCH and HSCH get cc 1 (EBUSY from cancel is returned as is).
  assert.equal(cioCancelHaltClear(sch, retry), 'EBUSY');
  assert.equal(sch.hw.tsch().cc, 0);
  // Disabled: nothing to do.
  assert.equal(sch.hw.msch({ ena: false }), 0);
  assert.equal(cioCancelHaltClear(sch, { iretry: 255 }), 0);
  assert.equal(sch.hw.stsch().scsw.fctl & SCSW_FCTL_CLEAR_FUNC, 0);
});
