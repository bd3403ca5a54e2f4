// Tests for the vfio-user header codec, command table and whole-message builders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createHeader,
  getUnalignedLe16,
  getUnalignedLe32,
  isCommand,
  isErrorReply,
  isReply,
  putUnalignedLe16,
  putUnalignedLe32,
  readHeader,
  vfioUserCommandName,
  VFIO_USER_DEVICE_FEATURE,
  VFIO_USER_DMA_READ,
  VFIO_USER_F_NO_REPLY,
  VFIO_USER_MIG_DATA_WRITE,
  VFIO_USER_REGION_READ,
  VFIO_USER_REGION_WRITE_MULTI,
  VFIO_USER_VERSION,
  wantsReply,
  writeHeader,
} from './header.js';
import { encodeCommand, encodeErrorReply, encodeReply, writeErrorReply, writeReplyHeader } from './message.js';
import { Errno } from '../../uapi/errno.js';

test('header round-trips through a reused object at an offset', () => {
  const buf = Buffer.alloc(40, 0xee);
  writeHeader(buf, 8, 0xbeef, VFIO_USER_REGION_READ, 32, VFIO_USER_F_NO_REPLY, 0xfffffffe);
  assert.deepEqual([...buf.subarray(8, 24)], [0xef, 0xbe, 9, 0, 32, 0, 0, 0, 0x10, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff]);
  assert.equal(buf[7], 0xee);
  assert.equal(buf[24], 0xee);
  const h = createHeader();
  assert.equal(readHeader(buf, 8, h), h);
  assert.deepEqual(h, { msgId: 0xbeef, cmd: 9, msgSize: 32, flags: 0x10, errorNo: 0xfffffffe });
  assert.ok(isCommand(h));
  assert.ok(!wantsReply(h));
});

test('unaligned little-endian gets and puts agree with Buffer, store modulo the width and read zeros past the end', () => {
  const b = Buffer.alloc(12);
  putUnalignedLe32(b, 1, 0xfedc_ba98);
  putUnalignedLe16(b, 5, 0x1234);
  assert.equal(b.readUInt32LE(1), 0xfedc_ba98);
  assert.equal(b.readUInt16LE(5), 0x1234);
  assert.equal(getUnalignedLe32(b, 1), 0xfedc_ba98);
  assert.equal(getUnalignedLe16(b, 5), 0x1234);
  putUnalignedLe32(b, 8, 0x1_0000_0005);
  assert.equal(getUnalignedLe32(b, 8), 5);
  assert.equal(getUnalignedLe32(b, 10), 0); // two bytes past the end read as zeros
});

test('command numbers match the spec table and name themselves', () => {
  assert.equal(VFIO_USER_VERSION, 1);
  assert.equal(VFIO_USER_DMA_READ, 11);
  assert.equal(VFIO_USER_REGION_WRITE_MULTI, 15);
  assert.equal(VFIO_USER_DEVICE_FEATURE, 16);
  assert.equal(VFIO_USER_MIG_DATA_WRITE, 18);
  assert.equal(vfioUserCommandName(9), 'VFIO_USER_REGION_READ');
  assert.equal(vfioUserCommandName(14), 'VFIO_USER_DIRTY_PAGES');
  assert.equal(vfioUserCommandName(18), 'VFIO_USER_MIG_DATA_WRITE');
  assert.equal(vfioUserCommandName(999), 'VFIO_USER_999');
});

test('replies echo id and command; error replies are a bare header with the errno', () => {
  const h = createHeader();
  const r = encodeReply(7, VFIO_USER_REGION_READ, Buffer.from([1, 2, 3]));
  readHeader(r, 0, h);
  assert.deepEqual(h, { msgId: 7, cmd: 9, msgSize: 19, flags: 1, errorNo: 0 });
  assert.ok(isReply(h) && !isErrorReply(h));
  assert.deepEqual([...r.subarray(16)], [1, 2, 3]);

  const e = encodeErrorReply(0x1234, VFIO_USER_VERSION, Errno.EINVAL);
  assert.deepEqual([...e], [0x34, 0x12, 1, 0, 16, 0, 0, 0, 0x21, 0, 0, 0, 22, 0, 0, 0]);
  const buf = Buffer.alloc(16);
  assert.equal(writeErrorReply(buf, 0, 0x1234, VFIO_USER_VERSION, Errno.EINVAL), 16);
  assert.deepEqual(buf, e);

  const c = encodeCommand(3, VFIO_USER_REGION_READ, undefined, true);
  readHeader(c, 0, h);
  assert.deepEqual(h, { msgId: 3, cmd: 9, msgSize: 16, flags: 0x10, errorNo: 0 });

  const out = Buffer.alloc(36);
  assert.equal(writeReplyHeader(out, 4, 5, VFIO_USER_REGION_READ, 16), 20);
  readHeader(out, 4, h);
  assert.equal(h.msgSize, 32);
});
