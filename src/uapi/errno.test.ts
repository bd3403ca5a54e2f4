// errno names and numbers, and the VfioError a peer's errno number becomes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Errno, VfioError, errnoError, errnoName } from './errno.js';

test('errnoName and errnoError: Linux numbers to names; an unknown number is E<n> and becomes EIO', () => {
  assert.equal(errnoName(Errno.EAGAIN), 'EAGAIN');
  assert.equal(errnoName(200), 'E200');
  const e = errnoError(Errno.ECONNRESET, 'peer answered');
  assert.ok(VfioError.is(e, 'ECONNRESET'));
  assert.equal(e.errno, 104);
  assert.equal(e.message, 'ECONNRESET: peer answered');
  const u = errnoError(200, 'peer answered');
  assert.ok(VfioError.is(u, 'EIO'));
  assert.equal(u.message, 'EIO: peer answered (errno 200)');
});
