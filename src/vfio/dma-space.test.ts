// Tests for the user address space and the sorted range list the IOMMU models use.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioError } from '../uapi/errno.js';
import { ArrayBufferBacking, RangeList, U64_MAX, UserAddressSpace } from './dma-space.js';

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
