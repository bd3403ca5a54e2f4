// Hostile input over a real socket: short headers, bad msg_size, unknown commands, reply-type messages,
// truncated payloads and disconnects at each step. The server answers or closes that connection, never
// crashes, other connections carry on, and nothing leaks (fds, sanitizer-tracked objects).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Errno } from '../uapi/errno.js';
import { sanitizer } from '../sanitizer/index.js';
import * as native from '../native/index.js';
import { RawClient, openFdCount, testBed, waitFor } from './server.test-kit.js';
import { VfioUserClient } from './client.js';
import {
  VFIO_USER_DEVICE_GET_INFO,
  VFIO_USER_DEVICE_GET_REGION_INFO,
  VFIO_USER_DMA_MAP,
  VFIO_USER_F_TYPE_REPLY,
  VFIO_USER_REGION_READ,
  encodeCommand,
  encodeDmaMap,
  encodeRegionAccess,
  writeHeader,
} from './protocol/index.js';
import { rawHeader } from './client.js';

test('msg_size below 16: EINVAL and close; other connections carry on', async (t) => {
  const bed = await testBed(2);
  t.after(() => bed.close());
  const good = await VfioUserClient.connect(bed.path(1));
  t.after(() => good.close());
  const bad = new RawClient(bed.path());
  t.after(() => bad.close());
  await bad.handshake();
  bad.send(rawHeader(5, VFIO_USER_REGION_READ, 8));
  const r = await bad.next();
  assert.equal(r.header.errorNo, Errno.EINVAL);
  assert.equal(await bad.eof(), true);
  assert.equal((await good.regionRead(7, 0, 2)).readUInt16LE(0), 0x1b36);
});

test('msg_size above the negotiated max: EINVAL, the body is skipped and the connection goes on', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const raw = new RawClient(bed.path());
  t.after(() => raw.close());
  await raw.handshake();
  const size = 1024 * 1024 + 64 * 1024;
  const big = Buffer.alloc(size);
  writeHeader(big, 0, 1, VFIO_USER_REGION_READ, size, 0);
  // Send in pieces: the socket buffer is smaller than the message.
  // Bounded in time, and any error but EAGAIN is reported with how far it got.
  const sender = (async () => {
    const deadline = Date.now() + 20_000;
    for (let off = 0; off < size; ) {
      const n = native.sendmsg(raw.fd, big.subarray(off, Math.min(size, off + 65536)));
      if (n > 0) off += n;
      else if (n !== -native.EAGAIN) throw new Error(`send failed with errno ${-n} after ${off} of ${size} bytes`);
      else if (Date.now() > deadline) throw new Error(`server stopped reading after ${off} of ${size} bytes`);
      else await new Promise((r) => setTimeout(r, 1));
    }
  })();
  const r = await raw.next(20_000);
  await sender;
  assert.equal(r.header.msgId, 1);
  assert.equal(r.header.errorNo, Errno.EINVAL);
  // The reply can come before the server has skipped the whole body: the socket may still be full.
  await raw.sendAll(encodeCommand(2, VFIO_USER_REGION_READ, encodeRegionAccess(0, 7, 2)));
  const ok = await raw.next();
  assert.equal(ok.header.msgId, 2);
  assert.equal(ok.header.errorNo, 0);
});

test('unknown command (0, 14, 99): EINVAL and the connection carries on', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const c = await VfioUserClient.connect(bed.path());
  t.after(() => c.close());
  for (const cmd of [0, 14, 99]) await assert.rejects(c.request(cmd), { code: 'EINVAL' });
  assert.equal((await c.getDeviceInfo()).numIrqs, 5);
});

test('a reply-type message that answers nothing: EINVAL, then close', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const raw = new RawClient(bed.path());
  t.after(() => raw.close());
  await raw.handshake();
  raw.send(rawHeader(42, VFIO_USER_DEVICE_GET_INFO, 16, VFIO_USER_F_TYPE_REPLY));
  const r = await raw.next();
  assert.equal(r.header.msgId, 42);
  assert.equal(r.header.errorNo, Errno.EINVAL);
  assert.equal(await raw.eof(), true);
});

test('truncated payloads are EINVAL per command', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const raw = new RawClient(bed.path());
  t.after(() => raw.close());
  await raw.handshake();
  for (const [i, cmd] of [VFIO_USER_DEVICE_GET_INFO, VFIO_USER_DEVICE_GET_REGION_INFO, VFIO_USER_DMA_MAP, VFIO_USER_REGION_READ, 5, 6, 7, 8, 15, 16, 17, 18, 3].entries()) {
    raw.send(encodeCommand(i, cmd, Buffer.alloc(3)));
    const r = await raw.next();
    assert.equal(r.header.msgId, i);
    assert.equal(r.header.errorNo, Errno.EINVAL, `cmd ${cmd}`);
  }
});

/** The byte stream of a session, cut at every point to disconnect there. */
function session(memfd: number): { bytes: Buffer; fdAt: number }[] {
  return [
    { bytes: encodeCommand(0, 1, Buffer.from([0, 0, 0, 0])), fdAt: -1 },
    { bytes: encodeCommand(1, VFIO_USER_DMA_MAP, encodeDmaMap({ flags: 3, offset: 0n, address: 0x10000n, size: 65536n })), fdAt: memfd },
    { bytes: encodeCommand(2, VFIO_USER_DMA_MAP, encodeDmaMap({ flags: 3, offset: 0n, address: 0x90000n, size: 4096n })), fdAt: -1 },
    { bytes: encodeCommand(3, VFIO_USER_REGION_READ, encodeRegionAccess(0, 0, 4)), fdAt: -1 },
    { bytes: encodeCommand(4, VFIO_USER_DEVICE_GET_REGION_INFO, Buffer.from([32, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, ...new Array(16).fill(0)])), fdAt: -1 },
  ];
}

test('a client that disconnects at every step, mid-message or not, leaves nothing behind', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const dev = bed.devices[0]!;
  const memfd = native.memfdCreate('ram', 65536);
  t.after(() => native.close(memfd));
  const steps = session(memfd);
  const cuts: [number, number][] = [];
  for (let s = 0; s < steps.length; s++) for (const at of [0, 7, 16, 20]) cuts.push([s, at]);
  const mark = sanitizer.mark();
  const fdsBefore = openFdCount();
  for (const [s, at] of cuts) {
    const raw = new RawClient(bed.path());
    for (let i = 0; i < s; i++) {
      const st = steps[i]!;
      raw.send(st.bytes, st.fdAt >= 0 ? [st.fdAt] : undefined);
      for (const fd of (await raw.next()).fds) native.close(fd);
    }
    const st = steps[s]!;
    if (at > 0) raw.send(st.bytes.subarray(0, Math.min(at, st.bytes.length)), st.fdAt >= 0 ? [st.fdAt] : undefined);
    raw.close();
    await waitFor(() => bed.server.connectionCount === 0 && dev.openCount === 0, 1000, `teardown after step ${s} cut ${at}`);
  }
  assert.equal(openFdCount(), fdsBefore, 'no fd leaked');
  sanitizer.assertNoLeaks(mark);
  // The device is still usable by a new client.
  const c = await VfioUserClient.connect(bed.path());
  assert.equal((await c.regionRead(7, 0, 2)).readUInt16LE(0), 0x1b36);
  await c.close();
});

test('more fds than the transport takes: the connection is closed, the fds too', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const raw = new RawClient(bed.path());
  t.after(() => raw.close());
  await raw.handshake();
  const efd = native.eventfd();
  const before = openFdCount();
  raw.send(encodeCommand(1, VFIO_USER_REGION_READ, encodeRegionAccess(0, 0, 4)), new Array(40).fill(efd));
  assert.equal(await raw.eof(), true);
  // Everything received is closed, and so is the server's end of this connection.
  await waitFor(() => openFdCount() === before - 1, 2000, `fds closed (${openFdCount()} open, ${before} before)`);
  native.close(efd);
});

test('SET_IRQS with a socket (or anything but an eventfd) as trigger is EINVAL: a client cannot make the server block in write', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const c = await VfioUserClient.connect(bed.path());
  t.after(() => c.close());
  const [a, b] = native.socketpair();
  t.after(() => {
    native.close(a);
    native.close(b);
  });
  await assert.rejects(c.setIrqs(0, 0, [a]), { code: 'EINVAL' });
  await assert.rejects(c.setIrqs(4, 0, [b]), { code: 'EINVAL' });
  const efd = native.eventfd();
  t.after(() => native.close(efd));
  await c.setIrqs(0, 0, [efd]);
  assert.equal((await c.regionRead(7, 0, 2)).readUInt16LE(0), 0x1b36);
});
