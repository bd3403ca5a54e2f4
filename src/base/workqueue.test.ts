// The workqueue and sleeping primitives (src/base/workqueue.ts, sleep.ts): queue_work semantics (pending, re-run
// while running), flush_work, a failing work logged, and might_sleep's context.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Work } from './workqueue.js';
import { canSleep, mightSleep, msleep, withSleepAllowed } from './sleep.js';

test('queue_work: runs later, not inside queue(); a pending work is not queued twice; flush waits for the run', async () => {
  const runs: number[] = [];
  const w = new Work(async () => {
    runs.push(runs.length);
    await msleep(5);
  }, 'w');
  assert.equal(await w.flush(), false, 'nothing to flush');
  assert.equal(w.queue(), true);
  assert.equal(w.queue(), false, 'already pending');
  assert.deepEqual(runs, [], 'the run starts on a later turn');
  assert.equal(w.busy, true);
  assert.equal(await w.flush(), true);
  assert.deepEqual(runs, [0]);
  assert.equal(w.busy, false);
});

test('queue_work on a running work runs it once more after; flush waits for that last run', async () => {
  let runs = 0;
  let started!: () => void;
  const first = new Promise<void>((r) => (started = r));
  const w = new Work(async () => {
    runs++;
    started();
    await msleep(10);
  }, 'w');
  w.queue();
  await first;
  assert.equal(w.queue(), true, 'running, not pending: queued again');
  await w.flush();
  assert.equal(runs, 2);
});

test('a work that throws is logged and ends its run; later runs still happen', async () => {
  const logged: object[] = [];
  const logger = { debug() {}, info() {}, warn() {}, error: (o: object) => void logged.push(o) };
  let n = 0;
  const w = new Work(async () => {
    if (n++ === 0) throw new Error('boom');
  }, 'bad', logger);
  w.queue();
  await w.flush();
  assert.equal(logged.length, 1);
  w.queue();
  await w.flush();
  assert.equal(n, 2);
});

test('might_sleep: refused outside withSleepAllowed, allowed inside (nested too), and msleep sleeps', async () => {
  assert.equal(canSleep(), false);
  assert.throws(() => mightSleep('x'), /sleeping function called from invalid context: x/);
  withSleepAllowed(() => {
    mightSleep('y');
    withSleepAllowed(() => mightSleep('z'));
    assert.equal(canSleep(), true);
  });
  assert.equal(canSleep(), false, 'the context ends with the call');
  const t0 = performance.now();
  await msleep(15);
  assert.ok(performance.now() - t0 >= 14);
});
