// Tests of FdWatcher on Node's event loop: readiness, stop/close, exceptions, worker teardown.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { setImmediate as nextCheck, setTimeout as sleep } from 'node:timers/promises';
import * as native from './index.js';
import { socketPair as pair } from './fd.test-kit.js';

const indexUrl = new URL('./index.js', import.meta.url).href;

/**
 * Lets the event loop pass its poll phase at least once: a watcher whose fd became ready before
 * this call has fired when it resolves (setImmediate runs after the poll phase).
 */
async function settle(): Promise<void> {
  await sleep(5);
  await nextCheck();
}

/** Runs an ES module snippet in a fresh node; `NATIVE` names the native index URL. */
function runChild(code: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `const NATIVE = ${JSON.stringify(indexUrl)};\n${code}`], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('FdWatcher fires on readability with POLLIN and the fd stays open after close', async (t) => {
  const [a, b] = pair(t);
  const seen: Array<[number, number]> = [];
  let fired!: () => void;
  const firedOnce = new Promise<void>((resolve) => (fired = resolve));
  const w = new native.FdWatcher(b, (events, error) => {
    seen.push([events, error]);
    native.read(b, new Uint8Array(8));
    fired();
  });
  t.after(() => w.close());
  w.start(native.POLLIN);
  await settle();
  assert.equal(seen.length, 0);
  native.write(a, Uint8Array.of(1));
  await firedOnce;
  await settle();
  assert.deepEqual(seen, [[native.POLLIN, 0]]);
  w.close();
  assert.equal(native.fdIsOpen(b), true);
});

test('POLLOUT interest fires at once on a writable socket and can be changed by start', async (t) => {
  const [, b] = pair(t);
  const seen: number[] = [];
  let fired!: () => void;
  const firedOnce = new Promise<void>((resolve) => (fired = resolve));
  const w = new native.FdWatcher(b, (ev) => {
    seen.push(ev);
    w.start(native.POLLIN); // nothing to read: no further callbacks
    fired();
  });
  t.after(() => w.close());
  w.start(native.POLLOUT);
  await firedOnce;
  await settle();
  assert.deepEqual(seen, [native.POLLOUT]);
});

test('no callback after stop, none after close, and close inside the callback is safe', async (t) => {
  const [a, b] = pair(t);
  let stoppedCalls = 0;
  const stopped = new native.FdWatcher(b, () => stoppedCalls++);
  stopped.start(native.POLLIN);
  stopped.stop();
  let closedCalls = 0;
  const closed = new native.FdWatcher(a, () => closedCalls++);
  closed.start(native.POLLIN);
  closed.close();
  closed.close();
  assert.throws(() => closed.start(native.POLLIN), (e: unknown) => native.NativeError.is(e, 'EBADF'));
  native.write(a, Uint8Array.of(1));
  native.write(b, Uint8Array.of(1));
  await settle();
  assert.equal(stoppedCalls, 0);
  assert.equal(closedCalls, 0);

  let selfClosingCalls = 0;
  let fired!: () => void;
  const firedOnce = new Promise<void>((resolve) => (fired = resolve));
  const selfClosing = new native.FdWatcher(b, () => {
    selfClosingCalls++;
    selfClosing.close(); // data stays unread: a live watcher would fire again
    fired();
  });
  t.after(() => selfClosing.close());
  stopped.close(); // one uv_poll per fd: release b first
  selfClosing.start(native.POLLIN);
  await firedOnce;
  await settle();
  await settle();
  assert.equal(selfClosingCalls, 1);
});

test('an exception thrown in the callback surfaces as uncaughtException', () => {
  const r = runChild(`
    const n = await import(NATIVE);
    const [a, b] = n.socketpair();
    const w = new n.FdWatcher(b, () => { throw new Error('boom from watcher'); });
    process.on('uncaughtException', (e) => { console.log('caught:' + e.message); w.close(); });
    w.start(n.POLLIN);
    n.write(a, Uint8Array.of(1));
  `);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /caught:boom from watcher/);
  const unhandled = runChild(`
    const n = await import(NATIVE);
    const [a, b] = n.socketpair();
    new n.FdWatcher(b, () => { throw new Error('unhandled boom'); }).start(n.POLLIN);
    n.write(a, Uint8Array.of(1));
  `);
  assert.equal(unhandled.status, 1);
  assert.match(unhandled.stderr, /unhandled boom/);
});

test('ref/unref decide whether a started watcher keeps the process alive', () => {
  const r = runChild(`
    const n = await import(NATIVE);
    const [a, b] = n.socketpair();
    new n.FdWatcher(b, () => {}).unref().start(n.POLLIN);
    process.on('exit', () => console.log('exited'));
  `);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /exited/);
  const kept = runChild(`
    const n = await import(NATIVE);
    const [a, b] = n.socketpair();
    const w = new n.FdWatcher(b, () => { console.log('fired'); w.close(); });
    w.unref().ref().start(n.POLLIN);
    setTimeout(() => n.write(a, Uint8Array.of(1)), 30).unref();
  `);
  assert.equal(kept.status, 0, kept.stderr);
  assert.match(kept.stdout, /fired/);
});

test('a worker that exits or is terminated with a started watcher shuts down cleanly', () => {
  // Worker teardown aborts the process if a libuv handle is still open: the watchers must close
  // themselves (async cleanup hook). 'exit' lets the worker end with an unref'd started watcher.
  const r = runChild(`
    const { Worker } = await import('node:worker_threads');
    for (const mode of ['terminate', 'exit']) {
      // The worker inherits --input-type=module: its eval code is an ES module too.
      const w = new Worker(\`
        const { parentPort } = await import('node:worker_threads');
        const n = await import(\${JSON.stringify(NATIVE)});
        const [a, b] = n.socketpair();
        const w = new n.FdWatcher(b, () => {});
        w.start(n.POLLIN);
        if ('\${mode}' === 'exit') w.unref();
        parentPort.postMessage('ready');\`, { eval: true });
      const exited = new Promise((resolve) => w.once('exit', resolve));
      await new Promise((resolve) => w.once('message', resolve));
      if (mode === 'terminate') await w.terminate();
      const code = await exited;
      console.log(mode + ':' + code);
    }
  `);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /terminate:1\nexit:0/);
});
