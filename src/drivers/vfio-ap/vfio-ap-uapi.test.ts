// The matrix mdev through a process's device fd (the group path): GET_INFO, GET_IRQ_INFO, SET_IRQS, RESET of the
// guest's queues with the wait for each, the guest's use of its queues, hot unplug of a queue unbound from vfio_ap,
// and removal with the device open: the REQ eventfd asks, release runs last, and nothing touches the freed device.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { close, eventfd, eventfdRead } from '../../native/index.js';
import { UseAfterFreeError } from '../../sanitizer/errors.js';
import { VfioError } from '../../uapi/errno.js';
import { VFIO_DEVICE_FLAGS_AP, VFIO_DEVICE_FLAGS_RESET, decodeVfioDeviceInfo, encodeVfioDeviceInfo } from '../../uapi/device-info.js';
import { VFIO_AP_CFG_CHG_IRQ_INDEX, VFIO_AP_REQ_IRQ_INDEX, VFIO_IRQ_INFO_EVENTFD, decodeVfioIrqInfo, encodeVfioIrqInfo } from '../../uapi/irq-info.js';
import { encodeVfioIrqSet, vfioIrqSetOfEventfds, vfioIrqSetOfNone } from '../../uapi/irq-set.js';
import { VFIO_IRQ_SET_ACTION_TRIGGER } from '../../uapi/irq-set.js';
import { VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_IRQ_INFO, VFIO_DEVICE_GET_REGION_INFO, VFIO_DEVICE_RESET, VFIO_DEVICE_SET_IRQS } from '../../uapi/ioctl.js';
import { VfioProcess } from '../../vfio/vfio-process.js';
import { openViaGroup } from '../../vfio/uapi.test-kit.js';
import { mdevRemove } from '../../mdev/mdev-device.js';
import { AP_RESPONSE_NO_PENDING_REPLY, AP_RESPONSE_NORMAL, AP_RESPONSE_Q_NOT_AVAIL, AP_RESPONSE_RESET_IN_PROGRESS, apMkQid } from '../../hw/ap/ap-defs.js';
import { decodeMexReply, encodeMexRequest } from '../../hw/ap/ap-message.js';
import { vfioApGuestDqap, vfioApGuestNqap, vfioApGuestTapq } from './guest.js';
import { apTestHost } from './vfio-ap.test-kit.js';
import { AP_RESET_INTERVAL, MAX_RESET_CHECK_WAIT } from './vfio-ap-queue.js';

const Q56 = apMkQid(5, 6);
const Q57 = apMkQid(5, 7);

function opened(t: { after(fn: () => unknown): void }) {
  const th = apTestHost(t);
  const a = th.create({ adapters: [5], domains: [6, 7] });
  const proc = new VfioProcess(th.host);
  th.atUnload(() => proc.closeAll());
  const { device } = openViaGroup(proc, a.m);
  return { ...th, ...a, proc, fd: device };
}

test('GET_INFO: AP and RESET, no regions, two IRQs; GET_IRQ_INFO and SET_IRQS for REQ and CFG_CHG', (t) => {
  const { proc, fd, m } = opened(t);
  const info = encodeVfioDeviceInfo({ argsz: 24, flags: 0, numRegions: 9, numIrqs: 9, capOffset: 0 });
  proc.ioctl(fd, VFIO_DEVICE_GET_INFO, info);
  const got = decodeVfioDeviceInfo(info);
  assert.equal(got.flags, VFIO_DEVICE_FLAGS_AP | VFIO_DEVICE_FLAGS_RESET);
  assert.equal(got.numRegions, 0);
  assert.equal(got.numIrqs, 2);
  assert.throws(() => proc.ioctl(fd, VFIO_DEVICE_GET_INFO, encodeVfioDeviceInfo({ argsz: 8, flags: 0, numRegions: 0, numIrqs: 0, capOffset: 0 })), (e) => VfioError.is(e, 'EINVAL'));
  for (const index of [VFIO_AP_REQ_IRQ_INDEX, VFIO_AP_CFG_CHG_IRQ_INDEX]) {
    const ii = encodeVfioIrqInfo({ argsz: 16, flags: 0, index, count: 0 });
    proc.ioctl(fd, VFIO_DEVICE_GET_IRQ_INFO, ii);
    assert.deepEqual(decodeVfioIrqInfo(ii), { argsz: 16, flags: VFIO_IRQ_INFO_EVENTFD, index, count: 1 });
  }
  assert.throws(() => proc.ioctl(fd, VFIO_DEVICE_GET_IRQ_INFO, encodeVfioIrqInfo({ argsz: 16, flags: 0, index: 2, count: 0 })), (e) => VfioError.is(e, 'EINVAL'));
  assert.throws(() => proc.ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, new Uint8Array(32)), (e) => VfioError.is(e, 'EOPNOTSUPP'));
  const req = eventfd();
  t.after(() => close(req));
  proc.ioctl(fd, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfEventfds(VFIO_AP_REQ_IRQ_INDEX, 0, [req])));
  assert.ok(m.reqTrigger >= 0);
  assert.throws(() => proc.ioctl(fd, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfEventfds(VFIO_AP_REQ_IRQ_INDEX, 0, [req, req]))), (e) => VfioError.is(e, 'EINVAL'), 'one vector only');
  assert.throws(() => proc.ioctl(fd, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfNone(VFIO_AP_REQ_IRQ_INDEX, 0, 1, VFIO_IRQ_SET_ACTION_TRIGGER))), (e) => VfioError.is(e, 'EINVAL'), 'DATA_NONE is not taken');
  proc.ioctl(fd, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfEventfds(VFIO_AP_REQ_IRQ_INDEX, 0, [-1])));
  assert.equal(m.reqTrigger, -1, '-1 drops the trigger');
});

test('the guest computes on its queues; RESET flushes every queue of the guest matrix and waits for each', async (t) => {
  const { proc, fd, m } = opened(t);
  assert.equal(vfioApGuestNqap(m, Q56, 1n, encodeMexRequest({ base: 4n, exponent: 13n, modulus: 497n })).responseCode, AP_RESPONSE_NORMAL);
  const rep = vfioApGuestDqap(m, Q56);
  assert.equal(rep.psmid, 1n);
  assert.ok(rep.reply);
  assert.equal(decodeMexReply(rep.reply), 445n);
  assert.equal(vfioApGuestNqap(m, apMkQid(4, 6), 2n, new Uint8Array(8)).responseCode, AP_RESPONSE_Q_NOT_AVAIL, 'not in the guest matrix');
  vfioApGuestNqap(m, Q56, 3n, encodeMexRequest({ base: 2n, exponent: 5n, modulus: 33n }));
  vfioApGuestNqap(m, Q57, 4n, encodeMexRequest({ base: 2n, exponent: 5n, modulus: 33n }));
  const zeroizes = [Q56, Q57].map((q) => m.qtable.get(q)?.hw.zeroizes ?? -1);
  assert.equal(await proc.ioctlAsync(fd, VFIO_DEVICE_RESET), 0);
  for (const [i, qid] of [Q56, Q57].entries()) {
    const q = m.qtable.get(qid);
    assert.ok(q);
    assert.equal(q.hw.zeroizes, (zeroizes[i] ?? 0) + 1, 'ZAPQ');
    assert.equal(q.lastResetWaitMs, AP_RESET_INTERVAL, 'checked after one AP_RESET_INTERVAL');
    assert.equal(q.hw.resetInProgress, false);
    assert.equal(vfioApGuestTapq(m, qid).queueEmpty, true, 'the pending reply was flushed');
  }
});

test('RESET with a request in flight: the reply is flushed, the ioctl sleeps until TAPQ says the reset is over', async (t) => {
  const { proc, fd, m } = opened(t);
  const q = m.qtable.get(Q56);
  assert.ok(q);
  // The firmware takes 50 ms on this queue: the check sees it in progress at least once.
  q.hw.resetMs = 50;
  assert.equal(vfioApGuestNqap(m, Q56, 7n, encodeMexRequest({ base: 3n, exponent: 4n, modulus: 100n })).responseCode, AP_RESPONSE_NORMAL);
  assert.equal(vfioApGuestTapq(m, Q56).queueEmpty, false, 'the reply is pending');
  const t0 = performance.now();
  assert.equal(await proc.ioctlAsync(fd, VFIO_DEVICE_RESET), 0);
  const took = performance.now() - t0;
  assert.ok(took >= 50, `the ioctl waited for the reset (${took} ms)`);
  assert.ok(q.lastResetWaitMs >= 2 * AP_RESET_INTERVAL && q.lastResetWaitMs % AP_RESET_INTERVAL === 0, 'TAPQ every AP_RESET_INTERVAL');
  assert.equal(q.hw.resetInProgress, false);
  const d = vfioApGuestDqap(m, Q56);
  assert.equal(d.status.responseCode, AP_RESPONSE_NO_PENDING_REPLY, 'the request in flight is gone');
  assert.equal(vfioApGuestNqap(m, Q56, 8n, encodeMexRequest({ base: 3n, exponent: 4n, modulus: 100n })).responseCode, AP_RESPONSE_NORMAL, 'usable again');
});

test('RESET meeting a reset already under way: the check waits it out and issues ZAPQ again', async (t) => {
  const { proc, fd, m } = opened(t);
  const q = m.qtable.get(Q57);
  assert.ok(q);
  q.hw.resetMs = 30;
  const before = q.hw.zeroizes;
  const t0 = performance.now();
  assert.equal(q.hw.zapq().responseCode, AP_RESPONSE_NORMAL, 'a reset started behind vfio_ap');
  assert.equal(await proc.ioctlAsync(fd, VFIO_DEVICE_RESET), 0);
  assert.ok(performance.now() - t0 >= 60, 'both resets ran their 30 ms');
  assert.equal(q.hw.zeroizes, before + 2, "vfio_ap's ZAPQ met RESET_IN_PROGRESS; the second one took");
  assert.ok(q.lastResetWaitMs >= 2 * AP_RESET_INTERVAL, 'a check for each reset');
  assert.equal(q.resetStatus, AP_RESPONSE_NORMAL);
});

test('RESET of a queue that never comes out of reset: EBUSY after MAX_RESET_CHECK_WAIT, the others still reset', async (t) => {
  const { proc, fd, m } = opened(t);
  const stuck = m.qtable.get(Q57);
  const fine = m.qtable.get(Q56);
  assert.ok(stuck && fine);
  stuck.hw.hangInReset = true;
  const t0 = performance.now();
  await assert.rejects(proc.ioctlAsync(fd, VFIO_DEVICE_RESET), (e) => VfioError.is(e, 'EBUSY'));
  assert.ok(performance.now() - t0 >= MAX_RESET_CHECK_WAIT - 1, 'it waited the whole budget');
  assert.equal(stuck.resetStatus, AP_RESPONSE_RESET_IN_PROGRESS, 'the queue keeps its in-progress status');
  assert.equal(fine.resetStatus, AP_RESPONSE_NORMAL);
  assert.equal(fine.lastResetWaitMs, AP_RESET_INTERVAL, 'the healthy queue was done at the first check');
  // The firmware recovers: the next RESET succeeds.
  stuck.hw.hangInReset = false;
  assert.equal(await proc.ioctlAsync(fd, VFIO_DEVICE_RESET), 0);
  assert.equal(stuck.resetStatus, AP_RESPONSE_NORMAL);
});

test('unbinding a queue from vfio_ap while the guest runs takes its adapter out of the guest matrix', async (t) => {
  const { host, proc, fd, m, path, mod } = opened(t);
  const z56 = m.qtable.get(Q56)?.hw.zeroizes ?? -1;
  const cfg = eventfd();
  t.after(() => close(cfg));
  proc.ioctl(fd, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfEventfds(VFIO_AP_CFG_CHG_IRQ_INDEX, 0, [cfg])));
  assert.equal(host.sysfs.read('/sys/bus/ap/devices/05.0007/status'), 'in use\n');
  assert.throws(() => host.sysfs.write('/sys/bus/ap/apmask', '+5'), (e) => VfioError.is(e, 'EBUSY'), 'in use: the host cannot take it back');
  vfioApGuestNqap(m, Q57, 9n, encodeMexRequest({ base: 2n, exponent: 2n, modulus: 7n }));
  const hw56 = m.qtable.get(Q56)?.hw;
  assert.ok(hw56);
  host.sysfs.write('/sys/bus/ap/drivers/vfio_ap/unbind', '05.0007');
  assert.equal(hw56.zeroizes, z56 + 1, 'reset_queues_for_apid: every queue of the adapter the guest had is reset');
  assert.equal(mod.matrixDev.removing.size, 1, 'the remove waits for the resets');
  await Promise.all([...mod.matrixDev.removing]);
  assert.equal(hw56.resetInProgress, false);
  assert.equal(host.sysfs.read(`${path}/matrix`), '05.0006\n05.0007\n', 'the assignment stays');
  assert.equal(host.sysfs.read(`${path}/guest_matrix`), '.0006\n.0007\n', 'the guest loses adapter 5 (its domains stay)');
  assert.equal(eventfdRead(cfg), 1n, 'userspace hears of it on CFG_CHG');
  assert.equal(vfioApGuestNqap(m, Q56, 1n, new Uint8Array(8)).responseCode, AP_RESPONSE_Q_NOT_AVAIL);
  assert.equal(m.qtable.has(Q57), false);
  host.sysfs.write('/sys/bus/ap/drivers/vfio_ap/bind', '05.0007');
  assert.equal(host.sysfs.read(`${path}/guest_matrix`), '05.0006\n05.0007\n', 'binding it again plugs it back');
});

test('remove with the device open asks through REQ, waits, and frees the device last; queues outlive it', async (t) => {
  const { host, proc, fd, m, mdev } = opened(t);
  const req = eventfd();
  t.after(() => close(req));
  proc.ioctl(fd, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfEventfds(VFIO_AP_REQ_IRQ_INDEX, 0, [req])));
  const q = m.qtable.get(Q56);
  assert.ok(q);
  let removed = false;
  const removing = mdevRemove(mdev).then(() => {
    removed = true;
  });
  await new Promise((r) => setTimeout(r, 25));
  const asked = eventfdRead(req);
  assert.ok(typeof asked === 'bigint' && asked >= 1n, 'the user was asked to let go');
  assert.equal(removed, false, 'remove waits for the user');
  proc.closeAll();
  await removing;
  assert.throws(() => m.qtable, UseAfterFreeError, 'the device is freed');
  assert.equal(q.matrixMdev, null, 'remove unlinked the queue before the free');
  // The queue still exists and unbinding it touches nothing of the freed device.
  host.sysfs.write('/sys/bus/ap/drivers/vfio_ap/unbind', '05.0006');
  assert.equal(host.sysfs.read('/sys/bus/ap/devices/05.0007/status'), 'unassigned\n');
});

test('a RESET sleeps without stopping the event loop: timers fire and another device answers meanwhile', async (t) => {
  const { proc, fd, m, create, host, atUnload } = opened(t);
  const q = m.qtable.get(Q56);
  assert.ok(q);
  q.hw.resetMs = 70;
  // A second mdev of another domain, opened by another process: its ioctls are answered while the first sleeps.
  const other = create({ adapters: [5], domains: [71] });
  const proc2 = new VfioProcess(host);
  atUnload(() => proc2.closeAll());
  const { device: fd2 } = openViaGroup(proc2, other.m);
  let ticks = 0;
  const timer = setInterval(() => void ticks++, 5);
  let answered = 0;
  const resetting = proc.ioctlAsync(fd, VFIO_DEVICE_RESET);
  while (q.resetWork.busy) {
    await new Promise((r) => setTimeout(r, 10));
    proc2.ioctl(fd2, VFIO_DEVICE_GET_INFO, encodeVfioDeviceInfo({ argsz: 24, flags: 0, numRegions: 0, numIrqs: 0, capOffset: 0 }));
    answered++;
  }
  assert.equal(await resetting, 0);
  clearInterval(timer);
  assert.ok(ticks >= 5, `timers ran during the reset (${ticks})`);
  assert.ok(answered >= 3, `the other device answered during the reset (${answered})`);
  assert.ok(q.lastResetWaitMs >= 4 * AP_RESET_INTERVAL, 'the check polled until the 70 ms reset was over');
});

test('RESET from a caller that cannot wait is refused before it does anything (might_sleep)', (t) => {
  const { proc, fd, m } = opened(t);
  const zeroizes = [...m.qtable.values()].map((q) => q.hw.zeroizes);
  assert.throws(() => proc.ioctl(fd, VFIO_DEVICE_RESET), /sleeping function called from invalid context/);
  assert.deepEqual([...m.qtable.values()].map((q) => q.hw.zeroizes), zeroizes, 'no ZAPQ was issued');
  assert.ok([...m.qtable.values()].every((q) => !q.resetWork.busy), 'no reset work queued');
});

test('closing the device resets its queues at once and lets the checks finish on the workqueue', async (t) => {
  const { proc, fd, m } = opened(t);
  vfioApGuestNqap(m, Q56, 1n, encodeMexRequest({ base: 2n, exponent: 3n, modulus: 11n }));
  const queues = [...m.qtable.values()];
  const zeroizes = queues.map((q) => q.hw.zeroizes);
  const t0 = performance.now();
  proc.close(fd);
  assert.ok(performance.now() - t0 < AP_RESET_INTERVAL, 'the close did not sleep');
  assert.deepEqual(queues.map((q) => q.hw.zeroizes), zeroizes.map((z) => z + 1), 'every queue was zeroized by the close');
  assert.ok(queues.every((q) => q.resetWork.busy), 'their reset checks are under way');
  assert.throws(() => vfioApGuestTapq(m, Q56), (e) => VfioError.is(e, 'EINVAL'), 'the guest is gone');
  assert.equal(queues[0]?.hw.tapq().status.responseCode, AP_RESPONSE_RESET_IN_PROGRESS, 'the queue is in reset');
  for (const q of queues) assert.equal(await q.resetWork.flush(), true);
  assert.ok(queues.every((q) => q.resetStatus === AP_RESPONSE_NORMAL && !q.hw.resetInProgress));
});

test('closing the fd while a RESET sleeps: the device stays open until the ioctl returns (fdget holds the file)', async (t) => {
  const { proc, fd, m } = opened(t);
  const q = m.qtable.get(Q57);
  assert.ok(q);
  q.hw.resetMs = 30;
  const resetting = proc.ioctlAsync(fd, VFIO_DEVICE_RESET);
  proc.close(fd);
  assert.equal(m.openCount, 1, 'the ioctl still holds the file');
  assert.equal(m.guestAttached, true);
  assert.equal(await resetting, 0);
  assert.equal(m.openCount, 0, 'the file went with the ioctl');
  assert.equal(m.guestAttached, false);
});
