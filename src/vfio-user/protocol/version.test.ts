// Tests for VERSION: exact bytes of a QEMU 10.2 exchange, defaults, and libvfio-user's errnos.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioError } from '../../uapi/errno.js';
import { createHeader, readHeader, VFIO_USER_VERSION } from './header.js';
import { encodeCommand, encodeReply } from './message.js';
import { MessageFramer, VfioUserMessage } from './framer.js';
import {
  checkVersionReply,
  DEFAULT_SERVER_LIMITS,
  decodeVersion,
  encodeVersion,
  negotiateVersion,
  parseCapabilities,
} from './version.js';

const QEMU_JSON =
  '{"capabilities": {"pgsizes": 4096, "max_msg_fds": 16, "max_dma_maps": 65535, "max_data_xfer_size": 1048576, ' +
  '"migration": {"max_bitmap_size": 268435456, "pgsize": 4096}, "write_multiple": true}}';

function einval(fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => VfioError.is(e, 'EINVAL'));
}

test('the exact bytes of a VERSION exchange with QEMU 10.2', () => {
  // What QEMU sends: header (id 0, cmd 1, size, command), major 0, minor 0, JSON, NUL.
  const request = encodeCommand(0, VFIO_USER_VERSION, encodeVersion(0, 0, QEMU_JSON));
  assert.equal(request.length, 16 + 4 + QEMU_JSON.length + 1);
  assert.deepEqual([...request.subarray(0, 20)], [0, 0, 1, 0, request.length, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(request[request.length - 1], 0);

  const framer = new MessageFramer({ closeFd: () => assert.fail('no fd expected') });
  framer.push(request);
  const msg = framer.next();
  assert.ok(msg instanceof VfioUserMessage);
  const result = negotiateVersion(msg.payload, msg.fdCount);
  const reply = encodeReply(msg.header.msgId, msg.header.cmd, result.reply);

  const replyJson =
    '{"capabilities":{"max_msg_fds":16,"max_data_xfer_size":1048576,"max_dma_maps":65535,"pgsizes":4096,' +
    '"migration":{"pgsize":4096,"max_bitmap_size":268435456},"write_multiple":true}}';
  const expected = Buffer.concat([
    Buffer.from([0, 0, 1, 0, 16 + 4 + replyJson.length + 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]),
    Buffer.from([0, 0, 0, 0]),
    Buffer.from(replyJson + '\0', 'utf8'),
  ]);
  assert.deepEqual(reply, expected);
  assert.deepEqual(result.client, {
    maxMsgFds: 16,
    maxDataXferSize: 1048576,
    maxDmaMaps: 65535,
    pgsizes: 4096,
    migration: { pgsize: 4096, maxBitmapSize: 268435456 },
    writeMultiple: true,
    twinSocket: false,
  });
  // QEMU's own checks (caps_check) accept it: same major, minor <= 0, limits within its bounds.
  const back = checkVersionReply(reply.subarray(16), 0);
  assert.equal(back.minor, 0);
  assert.ok(back.maxMsgFds <= 16 && back.maxDataXferSize <= 64 * 1024 * 1024 && back.maxDmaMaps <= 65535);
});

test('omitted keys take the spec defaults; the reply is never more than the offer', () => {
  assert.deepEqual(parseCapabilities(undefined), {
    maxMsgFds: 1,
    maxDataXferSize: 1048576,
    maxDmaMaps: 65535,
    pgsizes: 4096,
    migration: undefined,
    writeMultiple: false,
    twinSocket: false,
  });
  const r = negotiateVersion(encodeVersion(0, 7), 0);
  assert.equal(r.minor, 1);
  assert.equal(r.server.maxMsgFds, 1);
  assert.equal(r.server.migration, undefined);
  assert.equal(r.server.writeMultiple, false);
  assert.equal(
    decodeVersion(r.reply).json,
    '{"capabilities":{"max_msg_fds":1,"max_data_xfer_size":1048576,"max_dma_maps":65535,"pgsizes":4096}}',
  );
  const small = negotiateVersion(
    encodeVersion(0, 0, '{"capabilities":{"max_msg_fds":4,"max_data_xfer_size":4,"pgsizes":12288,"migration":{}}}'),
    0,
  );
  assert.equal(small.server.maxMsgFds, 4);
  assert.equal(small.server.maxDataXferSize, 4);
  assert.equal(small.server.pgsizes, 4096);
  assert.deepEqual(small.server.migration, { pgsize: 4096, maxBitmapSize: 268435456 });
  // Empty object and unknown keys are fine (libvfio-user ignores unknown keys).
  assert.equal(negotiateVersion(encodeVersion(0, 0, '{}'), 0).server.maxMsgFds, 1);
  assert.equal(negotiateVersion(encodeVersion(0, 0, '{"capabilities":{"x":[1]},"y":2}'), 0).server.maxMsgFds, 1);
  // twin_socket is parsed but never enabled.
  const twin = negotiateVersion(encodeVersion(0, 0, '{"capabilities":{"twin_socket":{"supported":true}}}'), 0);
  assert.equal(twin.client.twinSocket, true);
  assert.equal(twin.server.twinSocket, false);
  assert.ok(!decodeVersion(twin.reply).json?.includes('twin_socket'));
});

test('malformed VERSION requests are EINVAL, as in libvfio-user test_negotiate.py', () => {
  const json = (s: string) => encodeVersion(0, 0, s);
  einval(() => negotiateVersion(Buffer.alloc(0), 0)); // short write
  einval(() => negotiateVersion(Buffer.alloc(3), 0));
  einval(() => negotiateVersion(encodeVersion(999, 0), 0)); // invalid major
  einval(() => negotiateVersion(Buffer.from([0, 0, 0, 0, 0x7b, 0x7d]), 0)); // missing NUL
  einval(() => negotiateVersion(Buffer.from([0, 0, 0, 0, 0x7b, 0, 0x7d, 0]), 0)); // inner NUL
  einval(() => negotiateVersion(json('{'), 0));
  einval(() => negotiateVersion(json('"'), 0));
  einval(() => negotiateVersion(json(''), 0));
  einval(() => negotiateVersion(json('[1]'), 0));
  einval(() => negotiateVersion(json('{ "capabilities": "23" }'), 0));
  einval(() => negotiateVersion(json('{ "capabilities": { "max_msg_fds": "foo" } }'), 0));
  einval(() => negotiateVersion(json('{ "capabilities": { "max_msg_fds": -1 } }'), 0));
  einval(() => negotiateVersion(json('{ "capabilities": { "max_msg_fds": 1025 } }'), 0));
  einval(() => negotiateVersion(json('{ "capabilities": { "max_msg_fds": 1.5 } }'), 0));
  einval(() => negotiateVersion(json('{ "capabilities": { "max_data_xfer_size": 0 } }'), 0));
  einval(() => negotiateVersion(json('{ "capabilities": { "migration": "23" } }'), 0));
  einval(() => negotiateVersion(json('{ "capabilities": { "migration": { "pgsize": "foo" } } }'), 0));
  einval(() => negotiateVersion(json('{ "capabilities": { "migration": { "pgsize": 4095 } } }'), 0));
  einval(() => negotiateVersion(json('{ "capabilities": { "migration": { "pgsize": 8192 } } }'), 0)); // not ours
  einval(() => negotiateVersion(json('{ "capabilities": { "write_multiple": 1 } }'), 0));
  einval(() => negotiateVersion(json('{ "capabilities": { "twin_socket": true } }'), 0));
  einval(() => negotiateVersion(json('{ "capabilities": { "pgsizes": 8192 } }'), 0)); // nothing in common
  einval(() => negotiateVersion(json('{}'), 1)); // fds with VERSION
});

test('the server limits cap the reply', () => {
  const r = negotiateVersion(encodeVersion(0, 0, QEMU_JSON), 0, {
    ...DEFAULT_SERVER_LIMITS,
    maxMsgFds: 8,
    maxDataXferSize: 4096,
    migration: undefined,
    writeMultiple: false,
  });
  assert.equal(
    decodeVersion(r.reply).json,
    '{"capabilities":{"max_msg_fds":8,"max_data_xfer_size":4096,"max_dma_maps":65535,"pgsizes":4096}}',
  );
  const h = readHeader(encodeReply(1, VFIO_USER_VERSION, r.reply), 0, createHeader());
  assert.equal(h.msgSize, 16 + r.reply.length);
});

test('the client-side check refuses a newer minor or another major', () => {
  einval(() => checkVersionReply(encodeVersion(0, 1, '{}'), 0));
  einval(() => checkVersionReply(encodeVersion(1, 0, '{}'), 0));
  assert.equal(checkVersionReply(encodeVersion(0, 0), 0).maxMsgFds, 1);
});
