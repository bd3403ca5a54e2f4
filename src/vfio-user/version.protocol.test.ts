// VFIO_USER_VERSION over a real socket: negotiation, VERSION twice, commands before VERSION, bad payloads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Errno } from '../uapi/errno.js';
import * as native from '../native/index.js';
import { RawClient, openFdCount, testBed, typeOf } from './server.test-kit.js';
import { VfioUserClient } from './client.js';
import {
  VFIO_USER_DEVICE_GET_INFO,
  VFIO_USER_F_ERROR,
  VFIO_USER_F_TYPE_REPLY,
  VFIO_USER_VERSION,
  decodeVersion,
  encodeCommand,
  encodeDeviceInfoRequest,
  encodeVersion,
} from './protocol/index.js';

test('VERSION: QEMU 10.2 caps are accepted and the reply is a subset QEMU accepts', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const raw = new RawClient(bed.path());
  t.after(() => raw.close());
  raw.send(
    encodeCommand(
      7,
      VFIO_USER_VERSION,
      encodeVersion(0, 0, '{"capabilities":{"pgsizes":4096,"max_msg_fds":16,"max_dma_maps":65535,"max_data_xfer_size":1048576,"migration":{"max_bitmap_size":268435456,"pgsize":4096},"write_multiple":true}}'),
    ),
  );
  const m = await raw.next();
  assert.equal(m.header.msgId, 7);
  assert.equal(m.header.cmd, VFIO_USER_VERSION);
  assert.equal(typeOf(m.header), VFIO_USER_F_TYPE_REPLY);
  assert.equal(m.header.errorNo, 0);
  const v = decodeVersion(m.payload);
  assert.equal(v.major, 0);
  assert.equal(v.minor, 0, 'min(client, server) minor');
  const caps = JSON.parse(v.json ?? '{}').capabilities;
  assert.deepEqual(Object.keys(caps).sort(), ['max_data_xfer_size', 'max_dma_maps', 'max_msg_fds', 'migration', 'pgsizes', 'write_multiple']);
  assert.equal(caps.max_msg_fds, 16);
  assert.equal(caps.max_data_xfer_size, 1048576);
});

test('VERSION twice is EINVAL and the connection carries on', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const c = await VfioUserClient.connect(bed.path());
  t.after(() => c.close());
  await assert.rejects(c.request(VFIO_USER_VERSION, encodeVersion(0, 0)), { code: 'EINVAL' });
  const info = await c.getDeviceInfo();
  assert.equal(info.numRegions, 9);
});

test('a command before VERSION gets EINVAL and the connection is closed', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const raw = new RawClient(bed.path());
  t.after(() => raw.close());
  raw.send(encodeCommand(3, VFIO_USER_DEVICE_GET_INFO, encodeDeviceInfoRequest()));
  const m = await raw.next();
  assert.equal(m.header.msgId, 3);
  assert.ok(m.header.flags & VFIO_USER_F_ERROR);
  assert.equal(m.header.errorNo, Errno.EINVAL);
  assert.equal(await raw.eof(), true);
});

for (const [name, payload, fds] of [
  ['short payload', Buffer.from([0, 0]), 0],
  ['wrong major', encodeVersion(1, 0), 0],
  ['JSON that does not parse', encodeVersion(0, 0, '{caps'), 0],
  ['max_msg_fds of the wrong type', encodeVersion(0, 0, '{"capabilities":{"max_msg_fds":"16"}}'), 0],
  ['an fd attached', encodeVersion(0, 0), 1],
] as const) {
  test(`VERSION with ${name}: EINVAL, then close`, async (t) => {
    const bed = await testBed();
    t.after(() => bed.close());
    const before = openFdCount();
    const raw = new RawClient(bed.path());
    const efd = native.eventfd();
    raw.send(encodeCommand(1, VFIO_USER_VERSION, payload), fds === 1 ? [efd] : undefined);
    native.close(efd);
    const m = await raw.next();
    assert.equal(m.header.errorNo, Errno.EINVAL);
    assert.equal(await raw.eof(), true);
    raw.close();
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(openFdCount(), before, 'no fd leaked');
    assert.equal(bed.server.connectionCount, 0);
  });
}
