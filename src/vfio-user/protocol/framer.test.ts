// Tests for the message framer: split headers and bodies, several messages per chunk, size limits,
// and fd ownership (real fds from /dev/null, so a leak or double close would show).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, fstatSync, openSync } from 'node:fs';
import { VFIO_USER_REGION_READ, VFIO_USER_REGION_WRITE, VFIO_USER_DEVICE_SET_IRQS } from './header.js';
import { encodeCommand } from './message.js';
import { FramingError, MessageFramer, VfioUserMessage, maxMessageSizeFor } from './framer.js';

function isOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

/** A framer whose closeFd really closes and records; fds opened here are closed at test end if leaked. */
function setup(t: TestContext, maxMessageSize?: number) {
  const closed: number[] = [];
  const opened: number[] = [];
  const framer = new MessageFramer({
    closeFd: (fd) => {
      closed.push(fd);
      closeSync(fd);
    },
    ...(maxMessageSize === undefined ? {} : { maxMessageSize }),
  });
  const open = (): number => {
    const fd = openSync('/dev/null', 'r');
    opened.push(fd);
    return fd;
  };
  t.after(() => {
    framer.destroy();
    for (const fd of opened) if (isOpen(fd) && !closed.includes(fd)) closeSync(fd);
  });
  return { framer, closed, open };
}

function drain(framer: MessageFramer): (VfioUserMessage | FramingError)[] {
  const out: (VfioUserMessage | FramingError)[] = [];
  for (let m = framer.next(); m !== undefined; m = framer.next()) out.push(m);
  return out;
}

function msg(item: VfioUserMessage | FramingError | undefined): VfioUserMessage {
  assert.ok(item instanceof VfioUserMessage, 'expected a message');
  return item;
}

const a = encodeCommand(1, VFIO_USER_REGION_READ, Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 4, 0, 0, 0]));
const b = encodeCommand(2, VFIO_USER_REGION_WRITE, Buffer.from('hello world, a region write'));
const c = encodeCommand(3, VFIO_USER_DEVICE_SET_IRQS);

test('several messages in one chunk come out as views of it, in order', (t) => {
  const { framer } = setup(t);
  const chunk = Buffer.concat([a, b, c]);
  framer.push(chunk);
  const [m1, m2, m3, m4] = drain(framer).map((x) => x);
  assert.equal(m4, undefined);
  assert.deepEqual([msg(m1).header.msgId, msg(m2).header.msgId, msg(m3).header.msgId], [1, 2, 3]);
  assert.deepEqual(msg(m1).payload, a.subarray(16));
  assert.equal(msg(m2).payload.toString(), 'hello world, a region write');
  assert.equal(msg(m3).payload.length, 0);
  // No copy: the payload shares the chunk's memory.
  assert.equal(msg(m1).payload.buffer, chunk.buffer);
  assert.equal(msg(m1).payload.byteOffset, chunk.byteOffset + 16);
  assert.equal(framer.buffered, 0);
});

test('a chunk pushed with a length is framed up to it; messages locate their payload in it', (t) => {
  const { framer } = setup(t);
  // A receive buffer with a message and a half in its filled part and stale bytes after it.
  const buf = Buffer.concat([a, b.subarray(0, 20), Buffer.alloc(64, 0xee)]);
  framer.push(buf, undefined, a.length + 20);
  const [m1] = drain(framer);
  assert.equal(framer.buffered, 20);
  assert.equal(msg(m1).bytes, buf);
  assert.deepEqual([msg(m1).payloadOffset, msg(m1).payloadLength], [16, a.length - 16]);
  framer.push(b.subarray(20));
  const [m2] = drain(framer);
  assert.equal(msg(m2).payload.toString(), 'hello world, a region write');
  assert.equal(msg(m2).bytes.subarray(msg(m2).payloadOffset, msg(m2).payloadOffset + msg(m2).payloadLength).toString(), 'hello world, a region write');
});

test('headers and bodies split at every byte reassemble', (t) => {
  const { framer } = setup(t);
  const stream = Buffer.concat([a, b, c, a]);
  for (let cut = 1; cut < stream.length; cut++) {
    framer.push(stream.subarray(0, cut));
    framer.push(stream.subarray(cut));
    const got = drain(framer).map((m) => msg(m));
    assert.deepEqual(got.map((m) => m.header.msgId), [1, 2, 3, 1], `cut at ${cut}`);
    assert.equal(got[1]?.payload.toString(), 'hello world, a region write');
    assert.equal(framer.buffered, 0);
  }
  // And one byte at a time.
  for (const byte of stream) framer.push(Buffer.from([byte]));
  assert.deepEqual(drain(framer).map((m) => msg(m).header.cmd), [9, 10, 8, 9]);
});

test('a split message is copied once and survives reuse of the chunk memory', (t) => {
  const { framer } = setup(t);
  const scratch = Buffer.alloc(64);
  b.copy(scratch, 0, 0, 20);
  framer.push(scratch.subarray(0, 20));
  assert.equal(framer.buffered, 20);
  scratch.fill(0xff);
  b.copy(scratch, 0, 20);
  framer.push(scratch.subarray(0, b.length - 20));
  scratch.fill(0);
  assert.equal(msg(framer.next()).payload.toString(), 'hello world, a region write');
});

test('an oversized message is answered with EINVAL and skipped; the stream goes on', (t) => {
  const { framer, closed, open } = setup(t, 64);
  const big = encodeCommand(9, VFIO_USER_REGION_WRITE, Buffer.alloc(100, 1));
  const fd = open();
  framer.push(big.subarray(0, 30), [fd]);
  const err = framer.next();
  assert.ok(err instanceof FramingError);
  assert.equal(err.fatal, false);
  assert.equal(err.error.code, 'EINVAL');
  assert.equal(err.header.msgId, 9);
  assert.deepEqual(closed, [fd]); // its fd is dropped with it
  assert.ok(!isOpen(fd));
  const fd2 = open();
  framer.push(big.subarray(30, 60), [fd2]); // more of the skipped body, with an fd: dropped too
  assert.deepEqual(closed, [fd, fd2]);
  framer.push(Buffer.concat([big.subarray(60), a]));
  assert.equal(msg(framer.next()).header.msgId, 1);
  assert.equal(framer.next(), undefined);
  framer.setMaxMessageSize(maxMessageSizeFor(4096));
  framer.push(big);
  assert.equal(msg(framer.next()).payload.length, 100);
});

test('msg_size below 16 or above the hard cap is fatal: everything after is dropped', (t) => {
  const { framer, closed, open } = setup(t);
  const bad = Buffer.from(a);
  bad.writeUInt32LE(15, 4);
  framer.push(Buffer.concat([a, bad, b]));
  assert.equal(msg(framer.next()).header.msgId, 1);
  const err = framer.next();
  assert.ok(err instanceof FramingError && err.fatal && err.error.code === 'EINVAL');
  assert.equal(framer.next(), undefined);
  assert.ok(framer.dead);
  const fd = open();
  framer.push(b, [fd]);
  assert.equal(framer.next(), undefined);
  assert.deepEqual(closed, [fd]);

  const t2 = setup(t);
  const huge = Buffer.from(a);
  huge.writeUInt32LE(0xffff_fff0, 4);
  t2.framer.push(huge);
  const e2 = t2.framer.next();
  assert.ok(e2 instanceof FramingError && e2.fatal);
});

test('fds attach to the message holding the chunk\'s last byte (Linux glues fd-less sends in front), and are closed unless taken', (t) => {
  const { framer, closed, open } = setup(t);
  const [f1, f2, f3, f4] = [open(), open(), open(), open()];
  // One recvmsg returned message 1 (sent without fds) and message 2 (sent with f1, f2): the kernel stops
  // right after the send that carried fds, so they are message 2's.
  framer.push(Buffer.concat([a, b]), [f1, f2]);
  // A read ending inside message 3 hands its fds to message 3, completed by the next read.
  framer.push(c.subarray(0, 10), [f3]);
  framer.push(c.subarray(10));
  // A read that is exactly one message.
  framer.push(a, [f4]);
  const [m1, m2, m3, m4] = drain(framer).map((m) => msg(m));
  assert.equal(m1?.fdCount, 0);
  assert.equal(m2?.fdCount, 2);
  assert.equal(m3?.fdCount, 1);
  assert.equal(m4?.fdCount, 1);
  assert.deepEqual(m2?.takeFds(), [f1, f2]); // ownership moves out: closeFds closes nothing now
  m2?.closeFds();
  assert.deepEqual(closed, []);
  m3?.closeFds();
  m3?.closeFds(); // safe to repeat
  assert.deepEqual(closed, [f3]);
  assert.ok(isOpen(f1) && isOpen(f2) && !isOpen(f3));
  closeSync(f1);
  closeSync(f2);
  // destroy() closes what a queued or partial message still owns; m4 was handed out already.
  const f5 = open();
  framer.push(a.subarray(0, 5), [f5]);
  framer.destroy();
  framer.destroy();
  assert.deepEqual(closed, [f3, f5]);
  m4?.closeFds();
  assert.deepEqual(closed, [f3, f5, f4]);
});

test('fds whose last byte falls in an oversized, skipped message are closed', (t) => {
  const { framer, closed, open } = setup(t);
  framer.setMaxMessageSize(64);
  const big = Buffer.alloc(100);
  big.writeUInt16LE(7, 0);
  big.writeUInt16LE(9, 2);
  big.writeUInt32LE(100, 4);
  const fd = open();
  framer.push(Buffer.concat([a, big]), [fd]);
  const items = drain(framer);
  assert.equal(items.length, 2);
  assert.ok(items[1] instanceof FramingError && !items[1].fatal);
  assert.equal(msg(items[0])?.fdCount, 0);
  assert.deepEqual(closed, [fd]);
});

test('destroy closes the fds of messages still queued', (t) => {
  const { framer, closed, open } = setup(t);
  const fd = open();
  framer.push(Buffer.concat([a, b]), [fd]);
  framer.destroy();
  assert.deepEqual(closed, [fd]);
  assert.equal(framer.next(), undefined);
});
