// A connection as a user of its device: one client per device (EBUSY for a second), unregister reaching the
// client through its REQ eventfd, and a stalled client stalling nobody.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as native from '../native/index.js';
import { Errno } from '../uapi/errno.js';
import { RawClient, testBed, waitFor } from './server.test-kit.js';
import { VfioUserClient } from './client.js';
import { VFIO_USER_REGION_READ, encodeCommand, encodeRegionAccess } from './protocol/index.js';

test('a second client of an open device is refused with EBUSY after VERSION; the first keeps working', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const first = await VfioUserClient.connect(bed.path());
  t.after(() => first.close());
  await assert.rejects(VfioUserClient.connect(bed.path()), { code: 'EBUSY' });
  assert.equal((await first.regionRead(7, 0, 2)).readUInt16LE(0), 0x1b36);
  assert.equal(bed.devices[0]!.openCount, 1);
  await first.close();
  await waitFor(() => bed.devices[0]!.openCount === 0, 1000, 'close on disconnect');
  const second = await VfioUserClient.connect(bed.path());
  assert.equal((await second.getDeviceInfo()).numRegions, 9);
  await second.close();
});

test('unregister while a client is attached: its REQ eventfd fires, it leaves, unregister completes', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const c = await VfioUserClient.connect(bed.path());
  const req = native.eventfd();
  t.after(() => native.close(req));
  await c.setIrqs(4, 0, [req]);
  const watcher = new native.FdWatcher(req, () => {
    native.eventfdRead(req);
    watcher.close();
    void c.close(); // what QEMU does: unplug the device
  });
  watcher.start(native.POLLIN);
  // Completes only once every open file is closed: the client's disconnect closed the device.
  await bed.removeDevice(0);
  assert.equal(c.closed, true);
  assert.equal(bed.server.connectionCount, 0);
});

test('two devices, a client each, and a slow client that sends half a message and stalls: the others proceed', async (t) => {
  const bed = await testBed(3);
  t.after(() => bed.close());
  const slow = new RawClient(bed.path(2));
  t.after(() => slow.close());
  await slow.handshake();
  const msg = encodeCommand(1, VFIO_USER_REGION_READ, encodeRegionAccess(0, 0, 4));
  slow.send(msg.subarray(0, 20));
  const a = await VfioUserClient.connect(bed.path(0));
  const b = await VfioUserClient.connect(bed.path(1));
  t.after(() => a.close());
  t.after(() => b.close());
  for (let i = 0; i < 200; i++) {
    const [x, y] = await Promise.all([a.regionWrite(0, 0, Buffer.from([i])), b.regionRead(0, 0, 1)]);
    void x;
    assert.equal(y.length, 1);
  }
  // The slow client finishes its message and is answered.
  slow.send(msg.subarray(20));
  const r = await slow.next();
  assert.equal(r.header.errorNo, 0);
  assert.equal(r.header.msgId, 1);
  void Errno;
});

test('server.close() asks clients to leave (EOF) and removes the socket files', async (t) => {
  const bed = await testBed(2);
  const a = await VfioUserClient.connect(bed.path(0));
  const b = await VfioUserClient.connect(bed.path(1));
  await bed.server.close();
  await Promise.all([a.whenClosed(), b.whenClosed()]);
  const { existsSync } = await import('node:fs');
  assert.equal(existsSync(bed.path(0)), false);
  await bed.close();
  void t;
});

test('export: a stale socket file is replaced, a live one is EADDRINUSE', async (t) => {
  const bed = await testBed(1);
  t.after(() => bed.close());
  // A stale socket: bound, then the listener closed without unlinking.
  const stalePath = `${bed.dir}/stale.sock`;
  native.close(native.unixListen(stalePath));
  const dev = await bed.addDevice(); // exports at dev1.sock
  bed.server.unexport(dev);
  await bed.server.export(dev, stalePath);
  const c = await VfioUserClient.connect(stalePath);
  await c.close();
  const other = (await import('./server.js')).VfioUserServer;
  const s2 = new other();
  await assert.rejects(s2.export(bed.devices[0]!, bed.path(0)), { code: 'EADDRINUSE' });
  await s2.close();
});
