// REGION_READ, REGION_WRITE and REGION_WRITE_MULTI over a real socket, byte for byte, with their errnos.
import { test } from 'node:test';
import * as native from '../native/index.js';
import assert from 'node:assert/strict';
import { Errno } from '../uapi/errno.js';
import { RawClient, testBed } from './server.test-kit.js';
import { VfioUserClient } from './client.js';
import {
  VFIO_USER_F_NO_REPLY,
  VFIO_USER_REGION_READ,
  VFIO_USER_REGION_WRITE,
  VFIO_USER_REGION_WRITE_MULTI,
  encodeCommand,
  encodeRegionAccess,
} from './protocol/index.js';

test('REGION_WRITE then REGION_READ of BAR0: exact reply bytes', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const raw = new RawClient(bed.path());
  t.after(() => raw.close());
  await raw.handshake();
  raw.send(encodeCommand(0x1234, VFIO_USER_REGION_WRITE, encodeRegionAccess(8, 0, 4, Buffer.from([1, 2, 3, 4]))));
  const w = await raw.next();
  assert.deepEqual(
    [...Buffer.concat([Buffer.from(new Uint8Array(new Uint32Array([w.header.msgId | (w.header.cmd << 16), w.header.msgSize, w.header.flags, w.header.errorNo]).buffer)), w.payload])],
    [...Buffer.concat([Buffer.from([0x34, 0x12, 10, 0, 32, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]), encodeRegionAccess(8, 0, 4)])],
  );
  assert.deepEqual([...bed.devices[0]!.bar0.subarray(8, 12)], [1, 2, 3, 4]);
  raw.send(encodeCommand(2, VFIO_USER_REGION_READ, encodeRegionAccess(8, 0, 4)));
  const r = await raw.next();
  assert.equal(r.header.msgSize, 16 + 16 + 4);
  assert.deepEqual(r.payload, Buffer.concat([encodeRegionAccess(8, 0, 4), Buffer.from([1, 2, 3, 4])]));
});

test('config space through region 7 with the client', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const c = await VfioUserClient.connect(bed.path());
  t.after(() => c.close());
  const id = await c.regionRead(7, 0, 4);
  assert.equal(id.readUInt16LE(0), 0x1b36);
  assert.equal(id.readUInt16LE(2), 0x0099);
  await c.regionWrite(0, 0, Buffer.from('abcd'));
  assert.equal((await c.regionRead(0, 0, 4)).toString(), 'abcd');
});

test('region access errors: EINVAL for out of range, bad index, short payload, write length mismatch, count too big', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const raw = new RawClient(bed.path());
  t.after(() => raw.close());
  await raw.handshake();
  const cases: Buffer[] = [
    encodeCommand(1, VFIO_USER_REGION_READ, encodeRegionAccess(4094, 0, 4)),
    encodeCommand(2, VFIO_USER_REGION_READ, encodeRegionAccess(0, 99, 4)),
    encodeCommand(3, VFIO_USER_REGION_READ, Buffer.alloc(8)),
    encodeCommand(4, VFIO_USER_REGION_WRITE, encodeRegionAccess(0, 0, 4, Buffer.from([1, 2]))),
    encodeCommand(5, VFIO_USER_REGION_READ, encodeRegionAccess(0, 0, 2 * 1024 * 1024)),
    encodeCommand(6, VFIO_USER_REGION_READ, encodeRegionAccess(0, 0, 0)),
  ];
  for (const [i, msg] of cases.entries()) {
    raw.send(msg);
    const r = await raw.next();
    assert.equal(r.header.msgId, i + 1);
    assert.equal(r.header.errorNo, Errno.EINVAL, `case ${i + 1}`);
    assert.equal(r.payload.length, 0);
  }
  // Still usable.
  raw.send(encodeCommand(9, VFIO_USER_REGION_READ, encodeRegionAccess(0, 0, 4)));
  assert.equal((await raw.next()).header.errorNo, 0);
});

test('NO_REPLY writes are applied without a reply; the next reply is the next request', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const raw = new RawClient(bed.path());
  t.after(() => raw.close());
  await raw.handshake();
  const msg = encodeCommand(1, VFIO_USER_REGION_WRITE, encodeRegionAccess(0, 0, 1, Buffer.from([0x5a])), true);
  assert.ok(msg.readUInt32LE(8) & VFIO_USER_F_NO_REPLY);
  raw.send(Buffer.concat([msg, encodeCommand(2, VFIO_USER_REGION_READ, encodeRegionAccess(0, 0, 1))]));
  const r = await raw.next();
  assert.equal(r.header.msgId, 2);
  assert.equal(r.payload[16], 0x5a);
});

test('many requests in one send are all answered, in order, in one batch', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const raw = new RawClient(bed.path());
  t.after(() => raw.close());
  await raw.handshake();
  const msgs: Buffer[] = [];
  for (let i = 0; i < 50; i++) msgs.push(encodeCommand(100 + i, VFIO_USER_REGION_WRITE, encodeRegionAccess(i * 4, 0, 4, Buffer.from([i, i, i, i]))));
  raw.send(Buffer.concat(msgs));
  for (let i = 0; i < 50; i++) assert.equal((await raw.next()).header.msgId, 100 + i);
  assert.equal(bed.devices[0]!.bar0[49 * 4], 49);
});

test('more pipelined requests than one sendmsg has iovecs (IOV_MAX 1024): all answered, in order, none dropped', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const raw = new RawClient(bed.path());
  t.after(() => raw.close());
  await raw.handshake();
  // 3000 reads of 32 bytes: the server takes about 2000 per recvmsg and used to answer them with one iovec
  // each, which sendmsg refused (EINVAL), dropping the connection.
  const n = 3000;
  const reads: Buffer[] = [];
  for (let i = 0; i < n; i++) reads.push(encodeCommand(i, VFIO_USER_REGION_READ, encodeRegionAccess((i % 1024) * 4, 0, 4)));
  const all = Buffer.concat(reads);
  let sent = 0;
  while (sent < all.length) {
    const k = native.sendmsg(raw.fd, all.subarray(sent));
    if (k > 0) sent += k;
    else await new Promise((r) => setImmediate(r));
  }
  const replies = await raw.many(n);
  for (let i = 0; i < n; i++) {
    assert.equal(replies[i]!.header.msgId, i);
    assert.equal(replies[i]!.header.errorNo, 0);
  }
});

test('REGION_WRITE_MULTI applies every write and answers wr_cnt; a bad entry applies none', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const c = await VfioUserClient.connect(bed.path());
  t.after(() => c.close());
  const n = await c.regionWriteMulti([
    { offset: 16, region: 0, data: Buffer.from([1]) },
    { offset: 20, region: 0, data: Buffer.from([2, 3, 4, 5, 6, 7, 8, 9]) },
  ]);
  assert.equal(n, 2);
  assert.deepEqual([...bed.devices[0]!.bar0.subarray(16, 28)], [1, 0, 0, 0, 2, 3, 4, 5, 6, 7, 8, 9]);
  await assert.rejects(
    c.regionWriteMulti([
      { offset: 0, region: 0, data: Buffer.from([0xee]) },
      { offset: 5000, region: 0, data: Buffer.from([1]) },
    ]),
    { code: 'EINVAL' },
  );
  assert.notEqual(bed.devices[0]!.bar0[0], 0xee);
  // wr_cnt 0 and truncated payloads are EINVAL.
  await assert.rejects(c.request(VFIO_USER_REGION_WRITE_MULTI, Buffer.alloc(8)), { code: 'EINVAL' });
  await assert.rejects(c.request(VFIO_USER_REGION_WRITE_MULTI, Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 1])), { code: 'EINVAL' });
});
