// The AP queue model and its message: mex requests, dequeue order, queue full, reset with TAPQ polling,
// the interruption edge, and the saved record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioError } from '../../uapi/errno.js';
import { AP_RESPONSE_NORMAL, AP_RESPONSE_NO_PENDING_REPLY, AP_RESPONSE_Q_FULL, AP_RESPONSE_RESET_IN_PROGRESS, apMkQid } from './ap-defs.js';
import { REP82_ERROR_OPERAND_INVALID, TYPE82_RSP_CODE, decodeMexReply, encodeMexRequest, executeApRequest } from './ap-message.js';
import { ApQueueHw } from './ap-queue-hw.js';

test('a mex request computes base ** exponent mod modulus, for 1024- and 2048-bit operands', () => {
  assert.equal(decodeMexReply(executeApRequest(encodeMexRequest({ base: 4n, exponent: 13n, modulus: 497n }))), 445n);
  const modulus = (1n << 2047n) + 1n + 2n * 12345n;
  const r = decodeMexReply(executeApRequest(encodeMexRequest({ base: 3n, exponent: 65537n, modulus })));
  let want = 1n;
  for (let i = 0; i < 65537; i++) want = (want * 3n) % modulus;
  assert.equal(r, want);
});

test('bad operands get a type 82 reply', () => {
  const rep = executeApRequest(encodeMexRequest({ base: 600n, exponent: 3n, modulus: 497n }));
  assert.equal(rep[1], TYPE82_RSP_CODE);
  assert.equal(rep[2], REP82_ERROR_OPERAND_INVALID);
  assert.equal(decodeMexReply(rep), null);
  assert.equal(executeApRequest(new Uint8Array([0, 0x51]))[1], TYPE82_RSP_CODE, 'unknown message type');
});

test('replies dequeue in order with their psmid; a full queue answers Q_FULL', () => {
  const q = new ApQueueHw(apMkQid(5, 6), { depth: 2 });
  assert.equal(q.nqap(1n, encodeMexRequest({ base: 2n, exponent: 10n, modulus: 1001n })).responseCode, AP_RESPONSE_NORMAL);
  const st = q.nqap(2n, encodeMexRequest({ base: 3n, exponent: 3n, modulus: 101n }));
  assert.equal(st.repliesWaiting, true);
  assert.equal(q.nqap(3n, new Uint8Array(8)).responseCode, AP_RESPONSE_Q_FULL);
  const a = q.dqap();
  assert.equal(a.psmid, 1n);
  assert.ok(a.reply);
  assert.equal(decodeMexReply(a.reply), 23n);
  const b = q.dqap();
  assert.equal(b.psmid, 2n);
  assert.ok(b.reply);
  assert.equal(decodeMexReply(b.reply), 27n);
  const c = q.dqap();
  assert.equal(c.status.responseCode, AP_RESPONSE_NO_PENDING_REPLY);
  assert.equal(c.status.queueEmpty, true);
});

test('ZAPQ flushes at once and stays in progress for resetMs of the clock; NQAP, AQIC, another ZAPQ meanwhile are refused', () => {
  let now = 1000;
  const q = new ApQueueHw(apMkQid(4, 7), { resetMs: 30, clock: () => now });
  q.nqap(9n, encodeMexRequest({ base: 2n, exponent: 2n, modulus: 7n }));
  assert.equal(q.aqic(true).irqEnabled, true);
  assert.equal(q.zapq().responseCode, AP_RESPONSE_NORMAL);
  assert.equal(q.zeroizes, 1);
  assert.equal(q.nqap(1n, new Uint8Array(8)).responseCode, AP_RESPONSE_RESET_IN_PROGRESS);
  assert.equal(q.tapq().status.responseCode, AP_RESPONSE_RESET_IN_PROGRESS);
  assert.equal(q.tapq().status.queueEmpty, true, 'flushed at once');
  assert.equal(q.aqic(true).responseCode, AP_RESPONSE_RESET_IN_PROGRESS);
  assert.equal(q.zapq().responseCode, AP_RESPONSE_RESET_IN_PROGRESS, 'one reset at a time');
  assert.equal(q.zeroizes, 1);
  now += 29;
  assert.equal(q.tapq().status.responseCode, AP_RESPONSE_RESET_IN_PROGRESS, 'polling does not speed it up');
  now += 1;
  const done = q.tapq();
  assert.equal(done.status.responseCode, AP_RESPONSE_NORMAL);
  assert.equal(done.status.queueEmpty, true, 'the reply was flushed');
  assert.equal(done.status.irqEnabled, false, 'the reset disabled interrupts');
  assert.equal(done.info.qd, 7);
});

test('a queue hung in reset stays in progress until the fault clears; save/load keeps a reset under way', () => {
  let now = 0;
  const q = new ApQueueHw(apMkQid(4, 8), { resetMs: 10, clock: () => now });
  q.hangInReset = true;
  q.rapq();
  now += 1000;
  assert.equal(q.tapq().status.responseCode, AP_RESPONSE_RESET_IN_PROGRESS);
  const hung = JSON.parse(JSON.stringify(q.save())) as unknown;
  q.hangInReset = false;
  assert.equal(q.tapq().status.responseCode, AP_RESPONSE_NORMAL);
  q.rapq();
  now += 4;
  const rec = JSON.parse(JSON.stringify(q.save())) as unknown;
  const r = new ApQueueHw(apMkQid(4, 8), { clock: () => now });
  r.load(rec);
  assert.equal(r.tapq().status.responseCode, AP_RESPONSE_RESET_IN_PROGRESS, '6 ms of the reset left');
  now += 6;
  assert.equal(r.tapq().status.responseCode, AP_RESPONSE_NORMAL);
  r.load(hung);
  assert.equal(r.hangInReset, true);
  assert.equal(r.tapq().status.responseCode, AP_RESPONSE_RESET_IN_PROGRESS);
});

test('the interruption fires once when a reply becomes pending with AQIC enabled', () => {
  const q = new ApQueueHw(apMkQid(4, 6));
  const seen: number[] = [];
  q.onInterrupt = (qid) => seen.push(qid);
  q.nqap(1n, encodeMexRequest({ base: 2n, exponent: 2n, modulus: 7n }));
  assert.deepEqual(seen, [], 'disabled: nothing');
  q.aqic(true);
  assert.deepEqual(seen, [0x0406], 'enabling with a reply pending raises it');
  q.nqap(2n, encodeMexRequest({ base: 2n, exponent: 2n, modulus: 7n }));
  assert.equal(seen.length, 1, 'level already up: no second edge');
  q.dqap();
  q.dqap();
  q.nqap(3n, encodeMexRequest({ base: 2n, exponent: 2n, modulus: 7n }));
  assert.equal(seen.length, 2, 'drained, then a new reply: a new edge');
});

test('save/load round-trips and refuses a record of another queue', () => {
  const q = new ApQueueHw(apMkQid(5, 71));
  q.nqap(77n, encodeMexRequest({ base: 5n, exponent: 3n, modulus: 11n }));
  q.aqic(true);
  const rec = JSON.parse(JSON.stringify(q.save())) as unknown;
  const r = new ApQueueHw(apMkQid(5, 71));
  r.load(rec);
  const d = r.dqap();
  assert.equal(d.psmid, 77n);
  assert.ok(d.reply);
  assert.equal(decodeMexReply(d.reply), 4n);
  assert.throws(() => new ApQueueHw(apMkQid(5, 6)).load(rec), (e) => VfioError.is(e, 'EINVAL'));
  assert.throws(() => r.load({ version: 1, name: 'ap-queue', qid: r.qid, replies: [], resetPolls: 0, irqEnabled: false, zeroizes: 0 }), (e) => VfioError.is(e, 'EINVAL'), 'version 1 records are not taken');
});
