// Tests for the user address space and the sorted range list the IOMMU models use.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioError } from '../uapi/errno.js';
import { ArrayBufferBacking, RangeList, U64_MAX, UserAddressSpace, dmaSegmentsRwAsync, type DmaBacking, type DmaSegment } from './dma-space.js';

test('translate splits across backings and faults on any unbacked byte', () => {
  const mm = new UserAddressSpace();
  const a = new ArrayBufferBacking(8192);
  const b = new ArrayBufferBacking(8192);
  mm.map(0x1000n, a, 4096);
  mm.map(0x2000n, b);
  const segs = mm.translate(0x1ff0n, 0x20n);
  assert.deepEqual(segs.map((s) => [s.backing === a ? 'a' : 'b', s.offset, s.length]), [['a', 8176, 16], ['b', 0, 16]]);
  assert.throws(() => mm.translate(0x0ff0n, 0x20n), (e) => VfioError.is(e, 'EFAULT'));
  assert.throws(() => mm.translate(0x3ff0n, 0x20n), (e) => VfioError.is(e, 'EFAULT'));
  assert.throws(() => mm.map(0x2800n, a), (e) => VfioError.is(e, 'EEXIST'));
  mm.write(0x1ffen, Uint8Array.of(1, 2, 3, 4));
  assert.deepEqual([...a.bytes.subarray(8190)], [1, 2]);
  assert.deepEqual([...b.bytes.subarray(0, 2)], [3, 4]);
  const out = new Uint8Array(4);
  mm.read(0x1ffen, out);
  assert.deepEqual([...out], [1, 2, 3, 4]);
  mm.unmap(0x2000n);
  assert.equal(mm.isBacked(0x1ffen, 4n), false);
  assert.throws(() => mm.unmap(0x2000n), (e) => VfioError.is(e, 'EINVAL'));
});

test('a range may end at the top of the u64 space', () => {
  const mm = new UserAddressSpace();
  mm.map(U64_MAX - 4095n, new ArrayBufferBacking(4096));
  assert.equal(mm.isBacked(U64_MAX - 4095n, 4096n), true);
  assert.throws(() => mm.map(U64_MAX - 4095n, new ArrayBufferBacking(8192)), (e) => VfioError.is(e, 'EOVERFLOW'));
});

test('RangeList finds intersections by binary search', () => {
  const l = new RangeList<{ start: bigint; last: bigint }>();
  for (const s of [30n, 10n, 50n]) l.insert({ start: s, last: s + 9n });
  assert.deepEqual([...l].map((r) => r.start), [10n, 30n, 50n]);
  assert.equal(l.findFirst(20n, 29n), undefined);
  assert.equal(l.findFirst(25n, 35n)?.start, 30n);
  assert.equal(l.find(59n)?.start, 50n);
  assert.throws(() => l.insert({ start: 15n, last: 16n }));
  l.removeAt(0, 2);
  assert.equal(l.length, 1);
});

test('dmaSegmentsRwAsync: async accessors where a backing has them, in segment order; the rest synchronously', async () => {
  const mm = new UserAddressSpace();
  const plain = new ArrayBufferBacking(4096);
  const order: string[] = [];
  const remote = new Uint8Array(4096);
  const served: DmaBacking = {
    size: 4096,
    read: () => assert.fail('the sync read of served memory is not used'),
    write: () => assert.fail('the sync write of served memory is not used'),
    readAsync: async (offset, dst) => {
      order.push(`read ${offset}`);
      await new Promise((r) => setImmediate(r));
      dst.set(remote.subarray(offset, offset + dst.length));
    },
    writeAsync: async (offset, src) => {
      order.push(`write ${offset}`);
      await new Promise((r) => setImmediate(r));
      remote.set(src, offset);
    },
  };
  mm.map(0x1000n, served);
  mm.map(0x2000n, plain);
  mm.map(0x3000n, served);
  const range = (): DmaSegment[] => mm.translate(0x1ffen, 0x1004n);
  const src = new Uint8Array(0x1004).fill(0x55);
  await dmaSegmentsRwAsync(range(), src, true);
  assert.deepEqual([plain.bytes[0], plain.bytes[4095], remote[4094], remote[4095], remote[0], remote[1], remote[2]], [0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0]);
  const dst = new Uint8Array(0x1004);
  remote.set([0xa, 0xb], 4094);
  remote.set([0xc, 0xd], 0);
  await dmaSegmentsRwAsync(range(), dst, false);
  assert.deepEqual([...dst.subarray(0, 3)], [0xa, 0xb, 0x55]);
  assert.deepEqual([...dst.subarray(0x1001)], [0x55, 0xc, 0xd]);
  assert.deepEqual(order, ['write 4094', 'write 0', 'read 4094', 'read 0']);
  await assert.rejects(dmaSegmentsRwAsync(range(), new Uint8Array(4), false), /cover 4100 of 4 bytes/, 'a short buffer is a caller bug');
});
