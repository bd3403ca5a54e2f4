// The server's limits, each refused the way it says: connections past the per-device and per-server limits are
// closed at accept with one log line per burst, and DMA mappings past max_dma_maps are ENOSPC on the wire.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Logger } from '../base/log.js';
import * as native from '../native/index.js';
import { VfioError } from '../uapi/errno.js';
import { VfioUserClient } from './client.js';
import { DEFAULT_SERVER_LIMITS } from './protocol/index.js';
import { RawClient, testBed } from './server.test-kit.js';

function capture(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, logger: { debug() {}, info() {}, error() {}, warn: (_o, msg) => void warnings.push(msg ?? '') } };
}

test('connections past maxConnectionsPerDevice are closed at accept, with one log line per burst', async (t) => {
  const { logger, warnings } = capture();
  const bed = await testBed(2, { logger, maxConnectionsPerDevice: 2 });
  t.after(() => bed.close());
  const a = new RawClient(bed.path(0));
  const b = new RawClient(bed.path(0));
  t.after(() => native.close(a.fd));
  await a.handshake();
  const extra = [new RawClient(bed.path(0)), new RawClient(bed.path(0))];
  for (const c of extra) {
    assert.equal(await c.eof(), true, 'closed by the server');
    native.close(c.fd);
  }
  assert.deepEqual(warnings, ['vfio-user: connection refused: too many open connections'], 'one line for the burst');
  // The other device has its own count, and the first client still works.
  const other = await VfioUserClient.connect(bed.path(1));
  await other.close();
  native.close(b.fd);
  await new Promise((r) => setTimeout(r, 20));
  const again = new RawClient(bed.path(0));
  t.after(() => native.close(again.fd));
  assert.equal(await again.eof(200), false, 'a place is free again');
});

test('connections past maxConnections (all devices) are closed at accept', async (t) => {
  const bed = await testBed(2, { maxConnections: 2 });
  t.after(() => bed.close());
  const held = [new RawClient(bed.path(0)), new RawClient(bed.path(1))];
  t.after(() => held.forEach((c) => native.close(c.fd)));
  await held[0]?.handshake();
  await held[1]?.handshake();
  const third = new RawClient(bed.path(1));
  assert.equal(await third.eof(), true);
  native.close(third.fd);
});

test('DMA_MAP past max_dma_maps is ENOSPC; unmapping makes room', async (t) => {
  const bed = await testBed(1, { limits: { ...DEFAULT_SERVER_LIMITS, maxDmaMaps: 2 } });
  t.after(() => bed.close());
  const c = await VfioUserClient.connect(bed.path(0));
  t.after(() => c.close());
  const fd = native.memfdCreate('guest', 3 * 4096, true);
  t.after(() => native.close(fd));
  for (let i = 0; i < 2; i++) await c.dmaMap({ iova: BigInt(i) * 0x10000n, size: 4096n, fd, offset: BigInt(i) * 4096n });
  await assert.rejects(c.dmaMap({ iova: 0x20000n, size: 4096n, fd, offset: 8192n }), (e) => VfioError.is(e, 'ENOSPC'));
  await c.dmaUnmap({ iova: 0n, size: 4096n });
  await c.dmaMap({ iova: 0x20000n, size: 4096n, fd, offset: 8192n });
});
