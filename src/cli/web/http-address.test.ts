// `--http [HOST:]PORT`: local by default; hosts and IPv6 literals as given; nonsense refused with the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHttpAddress } from './http-address.js';

test('PORT is local; HOST:PORT and [IPv6]:PORT keep their host; bad input is refused', () => {
  assert.deepEqual(parseHttpAddress('8080'), { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseHttpAddress('0.0.0.0:80'), { host: '0.0.0.0', port: 80 });
  assert.deepEqual(parseHttpAddress('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseHttpAddress('localhost:9000'), { host: 'localhost', port: 9000 });
  for (const bad of ['', 'x', '70000', 'host:', ':80', 'a b:80', '8080/x']) assert.throws(() => parseHttpAddress(bad), /expected|out of range/);
});
