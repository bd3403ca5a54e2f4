// Tests of the addon's socket calls on real fds: SCM_RIGHTS passing, errno returns, UNIX listen/connect.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as native from './index.js';
import { openFdCount, socketPair as pair } from './fd.test-kit.js';

const { EAGAIN, EMSGSIZE } = native;
const O_CLOEXEC = 0o2000000;
const O_NONBLOCK = 0o4000;

/** The file status flags of fd, as /proc reports them (no fcntl needed). */
function fdFlags(fd: number): number {
  const m = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  assert.ok(m?.[1] !== undefined, `no flags for fd ${fd}`);
  return parseInt(m[1], 8);
}

test('socketpair ends are nonblocking and close-on-exec', (t) => {
  const [a, b] = pair(t);
  for (const fd of [a, b]) {
    assert.equal(fdFlags(fd) & O_CLOEXEC, O_CLOEXEC);
    assert.equal(fdFlags(fd) & O_NONBLOCK, O_NONBLOCK);
  }
});

test('sendmsg/recvmsg move bytes; an empty socket gives -EAGAIN and a closed peer EOF', () => {
  const [a, b] = native.socketpair();
  const buf = new Uint8Array(32);
  const fdsOut = new Int32Array(4);
  assert.equal(native.recvmsg(b, buf, 0, buf.length, fdsOut), -EAGAIN);
  assert.equal(native.sendmsg(a, Uint8Array.of(1, 2, 3, 4)), 4);
  assert.equal(native.recvmsg(b, buf, 10, 8, fdsOut), 4);
  assert.deepEqual([...buf.subarray(10, 14)], [1, 2, 3, 4]);
  assert.equal(fdsOut[0], 0);
  native.close(a);
  assert.equal(native.recvmsg(b, buf, 0, buf.length, fdsOut), 0);
  native.close(b);
});

test('one fd travels as SCM_RIGHTS: a new, working, close-on-exec number', (t) => {
  const [a, b] = pair(t);
  const efd = native.eventfd();
  t.after(() => native.close(efd));
  assert.equal(native.sendmsg(a, Uint8Array.of(7), [efd]), 1);
  const fdsOut = new Int32Array(4);
  assert.equal(native.recvmsg(b, new Uint8Array(8), 0, 8, fdsOut), 1);
  assert.equal(fdsOut[0], 1);
  const got = fdsOut[1] ?? -1;
  assert.notEqual(got, efd);
  assert.equal(fdFlags(got) & O_CLOEXEC, O_CLOEXEC);
  assert.equal(native.eventfdWrite(got, 5), 0); // same counter through the new number
  assert.equal(native.eventfdRead(efd), 5n);
  native.close(got);
});

test('several fds arrive in order with a header and payload sent as one iovec', (t) => {
  const [a, b] = pair(t);
  const sent = [native.eventfd(), native.eventfd(), native.eventfd()];
  t.after(() => sent.forEach((fd) => native.close(fd)));
  assert.equal(native.sendmsgv(a, [Uint8Array.of(1, 2), Uint8Array.of(3, 4, 5)], sent), 5);
  const buf = new Uint8Array(16);
  const fdsOut = new Int32Array(8);
  assert.equal(native.recvmsg(b, buf, 0, buf.length, fdsOut), 5);
  assert.deepEqual([...buf.subarray(0, 5)], [1, 2, 3, 4, 5]);
  assert.equal(fdsOut[0], 3);
  const got = [...fdsOut.subarray(1, 4)];
  got.forEach((fd, i) => {
    assert.ok(!sent.includes(fd));
    assert.equal(fdFlags(fd) & O_CLOEXEC, O_CLOEXEC);
    assert.equal(native.eventfdWrite(fd, i + 1), 0);
    assert.equal(native.eventfdRead(sent[i] ?? -1), BigInt(i + 1));
    native.close(fd);
  });
});

test('more fds than fdsOut holds: -EMSGSIZE and every received fd closed', (t) => {
  const [a, b] = pair(t);
  const sent = [native.eventfd(), native.eventfd(), native.eventfd()];
  t.after(() => sent.forEach((fd) => native.close(fd)));
  assert.equal(native.sendmsg(a, Uint8Array.of(1), sent), 1);
  const before = openFdCount();
  const fdsOut = new Int32Array(2); // room for one fd
  assert.equal(native.recvmsg(b, new Uint8Array(4), 0, 4, fdsOut), -EMSGSIZE);
  assert.equal(fdsOut[0], 0);
  assert.equal(openFdCount(), before);
});

test('sendmsg with more than SCM_MAX_FD fds is -EINVAL; bad arguments throw', (t) => {
  const [a] = pair(t);
  assert.equal(native.sendmsg(a, Uint8Array.of(1), new Array<number>(native.SCM_MAX_FD + 1).fill(a)), -22);
  assert.throws(() => native.recvmsg(a, new Uint8Array(4), 2, 4, new Int32Array(2)), RangeError);
  assert.throws(() => native.recvmsg(a, new Uint8Array(4), 0, 4, new Int32Array(0)), TypeError);
});

test('pollWait: 0 on timeout, POLLIN once readable, -errno never thrown', (t) => {
  const [a, b] = pair(t);
  assert.equal(native.pollWait(b, native.POLLIN, 1_000_000), 0);
  native.sendmsg(a, Uint8Array.of(1));
  assert.equal(native.pollWait(b, native.POLLIN, 1_000_000_000), native.POLLIN);
  assert.equal(native.pollWait(a, native.POLLOUT, 0), native.POLLOUT);
});

test('UNIX listen/connect/accept round trip in a temp dir; a second listen is EADDRINUSE', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vfio-native-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'sock');
  const lfd = native.unixListen(path);
  t.after(() => native.close(lfd));
  assert.equal(native.accept(lfd), -EAGAIN);
  assert.throws(() => native.unixListen(path), (e: unknown) => native.NativeError.is(e, 'EADDRINUSE'));
  const cfd = native.unixConnect(path);
  t.after(() => native.close(cfd));
  assert.equal(native.pollWait(lfd, native.POLLIN, 1_000_000_000), native.POLLIN);
  const sfd = native.accept(lfd);
  assert.ok(sfd >= 0);
  t.after(() => native.close(sfd));
  assert.equal(fdFlags(sfd) & (O_CLOEXEC | O_NONBLOCK), O_CLOEXEC | O_NONBLOCK);
  assert.equal(fdFlags(cfd) & (O_CLOEXEC | O_NONBLOCK), O_CLOEXEC | O_NONBLOCK);
  assert.equal(native.sendmsg(cfd, Uint8Array.of(9, 8)), 2);
  const buf = new Uint8Array(4);
  assert.equal(native.recvmsg(sfd, buf, 0, 4, new Int32Array(1)), 2);
  assert.deepEqual([...buf.subarray(0, 2)], [9, 8]);
});

test('connect to a missing socket throws NativeError ENOENT with the path', () => {
  assert.throws(
    () => native.unixConnect('/nonexistent-vfio-ts/sock'),
    (e: unknown) =>
      native.NativeError.is(e, 'ENOENT') && e.errno === 2 && e.syscall === 'connect' && e.path === '/nonexistent-vfio-ts/sock',
  );
});

test('close of a closed fd throws NativeError EBADF; dup, fdIsOpen and setNonBlocking', () => {
  const [a, b] = native.socketpair();
  const d = native.dup(a);
  assert.notEqual(d, a);
  assert.equal(fdFlags(d) & O_CLOEXEC, O_CLOEXEC);
  native.setNonBlocking(d, false); // shared file status flags: a becomes blocking too
  assert.equal(fdFlags(a) & O_NONBLOCK, 0);
  native.setNonBlocking(d, true);
  assert.equal(fdFlags(a) & O_NONBLOCK, O_NONBLOCK);
  native.close(d);
  assert.equal(native.fdIsOpen(d), false);
  assert.equal(native.fdIsOpen(a), true);
  native.close(a);
  native.close(b);
  assert.throws(
    () => native.close(a),
    (e: unknown) => e instanceof native.NativeError && e.code === 'EBADF' && e.errno === 9 && e.syscall === 'close',
  );
});

test('read and write move bytes on a plain fd', (t) => {
  const [a, b] = pair(t);
  assert.equal(native.write(a, Uint8Array.of(0, 1, 2, 3), 1, 2), 2);
  const buf = new Uint8Array(4);
  assert.equal(native.read(b, buf, 2), 2);
  assert.deepEqual([...buf], [0, 0, 1, 2]);
  assert.equal(native.read(b, buf), -EAGAIN);
});

test('recvmsg with spinNs: data already there comes at once; nothing within the window is -EAGAIN', (t) => {
  const [a, b] = pair(t);
  const buf = Buffer.alloc(64);
  const fdsOut = new Int32Array(4);
  native.sendmsg(b, Buffer.from('ping'));
  assert.equal(native.recvmsg(a, buf, 0, 64, fdsOut, 50_000_000), 4);
  const t0 = process.hrtime.bigint();
  assert.equal(native.recvmsg(a, buf, 0, 64, fdsOut, 2_000_000), -EAGAIN);
  const waited = Number(process.hrtime.bigint() - t0);
  assert.ok(waited >= 2_000_000, `returned after ${waited} ns, before the 2 ms window`);
});

/** native.exchange with its scalar inputs put into io, as the transport does. */
function exchange(fd: number, tx: Uint8Array | undefined, txLength: number, owed: number, buf: Uint8Array, io: Int32Array, spinNs: number, peek: boolean): number {
  io[0] = txLength;
  io[1] = owed;
  io[2] = spinNs;
  io[3] = peek ? 1 : 0;
  return native.exchange(fd, tx, buf, io);
}

test('exchange: sends, drops the owed bytes, peeks past them (SO_PEEK_OFF); -EAGAIN settles what is owed', (t) => {
  const [server, client] = pair(t);
  native.peekOffsets(server);
  const buf = Buffer.alloc(256);
  const io = new Int32Array(16);
  const got = Buffer.alloc(256);
  const fdsOut = new Int32Array(4);
  native.sendmsg(client, Buffer.from('request-1'));
  // A first receive: peeked, so the bytes stay queued.
  assert.equal(exchange(server, undefined, 0, 0, buf, io, 0, true), 9);
  assert.deepEqual([io[1], io[2]], [0, 0]);
  assert.equal(buf.toString('latin1', 0, 9), 'request-1');
  native.sendmsg(client, Buffer.from('request-2'));
  // Reply, owing the 9 peeked bytes: they are dropped after a quick send, or stay owed (io[2]) after one that took
  // long (as if preempted); either way the peek sees only the new bytes.
  const reply = Buffer.from('reply-1');
  assert.equal(exchange(server, reply, reply.length, 9, buf, io, 0, true), 9);
  assert.deepEqual([io[0], io[1]], [reply.length, 0]);
  assert.ok(io[2] === 0 || io[2] === 9, `owed ${io[2]}`);
  assert.equal(buf.toString('latin1', 0, 9), 'request-2');
  const owed = (io[2] ?? 0) + 9;
  assert.equal(native.recvmsg(client, got, 0, 256, fdsOut), reply.length);
  assert.equal(got.toString('latin1', 0, reply.length), 'reply-1');
  // Nothing new: -EAGAIN, and the owed bytes are gone from the socket.
  assert.equal(exchange(server, undefined, 0, owed, buf, io, 0, true), -EAGAIN);
  assert.equal(io[2], 0);
  native.sendmsg(client, Buffer.from('request-3'));
  assert.equal(native.recvmsg(server, got, 0, 256, fdsOut), 9);
  assert.equal(got.toString('latin1', 0, 9), 'request-3');
});

test('exchange: bytes that carry fds are read for real, fds included; owed or dropped bytes that are missing are -EPROTO', (t) => {
  const [server, client] = pair(t);
  native.peekOffsets(server);
  const buf = Buffer.alloc(256);
  const io = new Int32Array(16);
  const efd = native.eventfd();
  t.after(() => native.close(efd));
  native.sendmsg(client, Buffer.from('with-fd'), [efd]);
  assert.equal(exchange(server, undefined, 0, 0, buf, io, 0, true), 7);
  assert.deepEqual([io[1], io[3]], [1, 1]); // a real read, one fd
  const fd = io[4] ?? -1;
  assert.ok(native.fdIsOpen(fd));
  native.close(fd);
  // Nothing was peeked, so owing bytes is a broken stream.
  assert.equal(exchange(server, undefined, 0, 5, buf, io, 0, true), -71);
  // dropPeeked drops what a peek left queued, and only that.
  native.sendmsg(client, Buffer.from('peeked'));
  assert.equal(exchange(server, undefined, 0, 0, buf, io, 0, true), 6);
  assert.equal(native.dropPeeked(server, buf, 6, io), 0);
  assert.equal(native.dropPeeked(server, buf, 1, io), -71);
  // Without peek it is a plain recvmsg.
  native.sendmsg(client, Buffer.from('plain'));
  assert.equal(exchange(server, undefined, 0, 0, buf, io, 0, false), 5);
  assert.equal(io[1], 1);
  assert.throws(() => exchange(server, Buffer.alloc(4), 8, 0, buf, io, 0, true), RangeError);
});
