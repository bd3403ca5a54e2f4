// Benchmarks of the native addon (dist/native): empty-call cost and 16-byte socketpair round trips:
// synchronous loops across two threads (recvmsg + pollWait, or blocking sockets), in one thread, and
// driven by Node's event loop (FdWatcher).
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import * as n from '../dist-test/native/index.js';

const EAGAIN = -11;
const MSG = 16;

/**
 * Blocking-style receive of one message: try recvmsg, ppoll only when empty (on a socket switched
 * to blocking mode recvmsg itself waits, one system call instead of three).
 */
function recvBlocking(fd, buf, fdsOut) {
  for (;;) {
    const r = n.recvmsg(fd, buf, 0, MSG, fdsOut);
    if (r !== EAGAIN) return r;
    const p = n.pollWait(fd, n.POLLIN, -1);
    if (p < 0) return p;
  }
}

/** Starts an echo worker on fd; resolves, once it runs, to { exited } (a promise of its exit). */
async function startEcho(fd, blocking) {
  const worker = new Worker(new URL(import.meta.url), { workerData: { fd, blocking } });
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  await new Promise((resolve) => worker.once('online', resolve));
  return { exited };
}

if (!isMainThread) {
  // Echo server: blocking loop until the peer closes its end.
  const { fd, blocking } = workerData;
  if (blocking) n.setNonBlocking(fd, false);
  const buf = new Uint8Array(MSG);
  const fdsOut = new Int32Array(2);
  for (;;) {
    const r = recvBlocking(fd, buf, fdsOut);
    if (r <= 0) break;
    n.sendmsg(fd, buf.subarray(0, r));
  }
  n.close(fd);
} else {
  const emit = (bench, unit, value) => console.log(JSON.stringify({ bench, unit, value: Math.round(value * 100) / 100 }));
  const now = () => Number(process.hrtime.bigint()) / 1e9;

  // 1. An empty native call.
  {
    for (let i = 0; i < 1e6; i++) n.noop();
    const N = 2e7;
    const t0 = now();
    for (let i = 0; i < N; i++) n.noop();
    emit('native.noop_call', 'ns/call', ((now() - t0) / N) * 1e9);
  }

  // 2. Ping-pong in one thread: send a->b, recv b, send b->a, recv a (system call cost, no wake-ups).
  {
    const [a, b] = n.socketpair();
    const buf = new Uint8Array(MSG);
    const fdsOut = new Int32Array(2);
    const run = (secs) => {
      let count = 0;
      const t0 = now();
      let t = t0;
      while (t - t0 < secs) {
        for (let i = 0; i < 1024; i++) {
          n.sendmsg(a, buf);
          n.recvmsg(b, buf, 0, MSG, fdsOut);
          n.sendmsg(b, buf);
          n.recvmsg(a, buf, 0, MSG, fdsOut);
        }
        count += 1024;
        t = now();
      }
      return count / (t - t0);
    };
    run(0.2);
    emit('native.socketpair_pingpong_inthread', 'roundtrips/s', run(1.5));
    n.close(a);
    n.close(b);
  }

  // 3. Ping-pong between the main thread and a worker, both in synchronous loops: what a
  //    synchronous hot path can reach. First recvmsg + pollWait on nonblocking sockets, then
  //    plain blocking sockets.
  const pingpong = (a, buf, fdsOut, secs) => {
    let count = 0;
    const t0 = now();
    let t = t0;
    while (t - t0 < secs) {
      for (let i = 0; i < 256; i++) {
        n.sendmsg(a, buf);
        if (recvBlocking(a, buf, fdsOut) !== MSG) throw new Error('short echo');
      }
      count += 256;
      t = now();
    }
    return count / (t - t0);
  };
  {
    const [a, b] = n.socketpair();
    const { exited } = await startEcho(b, true);
    n.setNonBlocking(a, false);
    const buf = new Uint8Array(MSG);
    const fdsOut = new Int32Array(2);
    pingpong(a, buf, fdsOut, 0.2);
    emit('native.socketpair_pingpong_blocking', 'roundtrips/s', pingpong(a, buf, fdsOut, 1.5));
    n.close(a);
    await exited;
  }
  {
    const [a, b] = n.socketpair();
    const { exited } = await startEcho(b, false);
    const buf = new Uint8Array(MSG);
    const fdsOut = new Int32Array(2);
    pingpong(a, buf, fdsOut, 0.2);
    emit('native.socketpair_pingpong', 'roundtrips/s', pingpong(a, buf, fdsOut, 2));

    // 4. The same echo, but the main thread waits on Node's event loop (FdWatcher): one
    //    wake-up per message, the path the synchronous loop above avoids.
    const secs = 1.5;
    const rate = await new Promise((resolve) => {
      let count = 0;
      const t0 = now();
      const w = new n.FdWatcher(a, () => {
        while (n.recvmsg(a, buf, 0, MSG, fdsOut) === MSG) {
          count++;
          if ((count & 255) === 0 && now() - t0 >= secs) {
            w.close();
            resolve(count / (now() - t0));
            return;
          }
          n.sendmsg(a, buf);
        }
      });
      w.start(n.POLLIN);
      n.sendmsg(a, buf);
    });
    emit('native.socketpair_pingpong_fdwatcher', 'roundtrips/s', rate);
    n.close(a); // the worker sees EOF and ends
    await exited;
  }
}
