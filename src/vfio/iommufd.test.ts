// Tests for the iommufd model: ids, IOAS map/unmap errno (ioas.c, io_pagetable.c), bind/attach, the access path.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ErrnoName } from '../uapi/errno.js';
import { ArrayBufferBacking, U64_MAX, UserAddressSpace } from './dma-space.js';
import { IOMMU_IOAS_MAP_FIXED_IOVA as FIXED, IOMMU_IOAS_MAP_READABLE as R, IOMMU_IOAS_MAP_WRITEABLE as W, IommufdCtx } from './iommufd.js';
import { IOMMU_WRITE } from './iommu-type1.js';
import { errnoOf } from './uapi.test-kit.js';

const K4 = 0x1000n;
const VA = 0x10000000n;

function setup() {
  const mm = new UserAddressSpace();
  const mem = new ArrayBufferBacking(64 * 4096);
  mm.map(VA, mem);
  return { ctx: new IommufdCtx({ mm }), mem };
}

test('object ids start at 1 and the lowest free id is reused', () => {
  const { ctx } = setup();
  const a = ctx.ioasAlloc();
  const b = ctx.ioasAlloc();
  assert.deepEqual([a, b], [1, 2]);
  ctx.destroy(a);
  assert.equal(ctx.ioasAlloc(), 1);
  assert.equal(errnoOf(() => ctx.destroy(99)), 'ENOENT');
});

test('IOAS_MAP rules and their errno', () => {
  const { ctx } = setup();
  const ioas = ctx.ioasAlloc();
  assert.equal(ctx.ioasMap(ioas, { iova: 0x100000n, length: 4n * K4, userVa: VA, flags: FIXED | R | W }), 0x100000n);
  const cases: [string, Parameters<IommufdCtx['ioasMap']>[1], ErrnoName | 'ok', number?][] = [
    ['unknown flag', { length: K4, userVa: VA, flags: R | 0x80 }, 'EOPNOTSUPP'],
    ['iova ULONG_MAX', { iova: U64_MAX, length: K4, userVa: VA, flags: FIXED | R }, 'EOVERFLOW'],
    ['no prot', { length: K4, userVa: VA, flags: 0 }, 'EINVAL'],
    ['bad ioas', { length: K4, userVa: VA, flags: R }, 'ENOENT', 42],
    ['zero length', { length: 0n, userVa: VA, flags: R }, 'EINVAL'],
    ['unaligned length', { length: 0x800n, userVa: VA, flags: R }, 'EINVAL'],
    ['unaligned iova', { iova: 0x200800n, length: K4, userVa: VA, flags: FIXED | R }, 'EINVAL'],
    ['wraps', { iova: U64_MAX - K4 + 1n - K4, length: 3n * K4, userVa: VA, flags: FIXED | R }, 'EOVERFLOW'],
    ['overlap', { iova: 0x103000n, length: 2n * K4, userVa: VA, flags: FIXED | R }, 'EEXIST'],
    ['unaligned user va', { iova: 0x200000n, length: K4, userVa: VA + 0x10n, flags: FIXED | R }, 'EINVAL'],
  ];
  for (const [name, args, want, id] of cases) assert.equal(errnoOf(() => ctx.ioasMap(id ?? ioas, args)), want, name);
  // Allocated IOVAs skip 0 and existing areas, aligned to the length.
  assert.equal(ctx.ioasMap(ioas, { length: 2n * K4, userVa: VA, flags: R }), 0x2000n);
  assert.equal(ctx.ioasMap(ioas, { length: 1n << 20n, userVa: 0n, flags: R }), 0x200000n);
});

test('IOAS_UNMAP: whole areas only, ENOENT when empty or cut, unmap all', () => {
  const { ctx } = setup();
  const ioas = ctx.ioasAlloc();
  ctx.ioasMap(ioas, { iova: 0x100000n, length: 4n * K4, userVa: VA, flags: FIXED | R });
  ctx.ioasMap(ioas, { iova: 0x200000n, length: K4, userVa: VA, flags: FIXED | R });
  assert.equal(errnoOf(() => ctx.ioasUnmap(ioas, 0x300000n, K4)), 'ENOENT');
  assert.equal(errnoOf(() => ctx.ioasUnmap(ioas, 0x101000n, K4)), 'ENOENT');
  assert.equal(errnoOf(() => ctx.ioasUnmap(ioas, 0x100000n, 0n)), 'EINVAL');
  assert.equal(ctx.ioasUnmap(ioas, 0x100000n, 4n * K4), 4n * K4);
  assert.equal(ctx.ioasUnmap(ioas, 0n, U64_MAX), K4);
  assert.equal(ctx.ioasUnmap(ioas, 0n, U64_MAX), 0n, 'unmap all of nothing succeeds');
});

test('bind/attach bookkeeping, EBUSY destroy, and the emulated access path with notify-before-unmap', () => {
  const { ctx, mem } = setup();
  const ioas = ctx.ioasAlloc();
  ctx.ioasMap(ioas, { iova: 0x100000n, length: 4n * K4, userVa: VA, flags: FIXED | R | W });
  ctx.ioasMap(ioas, { iova: 0x104000n, length: K4, userVa: VA + 8n * K4, flags: FIXED | R });
  const calls: [bigint, bigint][] = [];
  const key = {};
  let devId = 0;
  devId = ctx.bindDevice(key, { dmaUnmap: (iova, len) => { calls.push([iova, len]); ctx.unpinPages(devId, iova, Number(len / K4)); } });
  assert.equal(errnoOf(() => ctx.bindDevice(key)), 'EINVAL', 'double bind');
  assert.equal(errnoOf(() => ctx.dmaRw(devId, 0x100000n, new Uint8Array(4), false)), 'ENOENT', 'not attached');
  assert.equal(errnoOf(() => ctx.attach(devId, 77)), 'ENOENT');
  ctx.attach(devId, ioas);
  assert.equal(errnoOf(() => ctx.destroy(ioas)), 'EBUSY');
  ctx.dmaRw(devId, 0x103ffen, Uint8Array.of(7, 7), true);
  assert.equal(errnoOf(() => ctx.dmaRw(devId, 0x103ffen, Uint8Array.of(7, 7, 7), true)), 'EPERM', 'runs into a read-only area');
  assert.equal(mem.bytes[4 * 4096 - 1], 7);
  const pages = ctx.pinPages(devId, 0x101000n, 2, IOMMU_WRITE);
  assert.equal(pages[0]?.segments[0]?.offset, 4096);
  assert.equal(errnoOf(() => ctx.pinPages(devId, 0x104000n, 1, IOMMU_WRITE)), 'EPERM');
  assert.equal(ctx.ioasUnmap(ioas, 0x100000n, 4n * K4), 4n * K4);
  assert.deepEqual(calls, [[0x100000n, 4n * K4]]);
  ctx.unbind(devId);
  ctx.destroy(ioas);
});

test('an access that keeps its pins makes unmap fail with EDEADLK', () => {
  const { ctx } = setup();
  const ioas = ctx.ioasAlloc();
  ctx.ioasMap(ioas, { iova: 0x100000n, length: K4, userVa: VA, flags: FIXED | R });
  const dev = ctx.bindDevice({}, { dmaUnmap() {} });
  ctx.attach(dev, ioas);
  ctx.pinPages(dev, 0x100000n, 1, 0);
  assert.equal(errnoOf(() => ctx.ioasUnmap(ioas, 0x100000n, K4)), 'EDEADLK');
});

test('a physical device pins every page: unbacked user memory is EFAULT', () => {
  const { ctx } = setup();
  const ioas = ctx.ioasAlloc();
  ctx.ioasMap(ioas, { iova: 0x100000n, length: K4, userVa: 0x7000000n, flags: FIXED | R });
  const dev = ctx.bindDevice({});
  assert.equal(errnoOf(() => ctx.attach(dev, ioas)), 'EFAULT');
  ctx.ioasUnmap(ioas, 0n, U64_MAX);
  ctx.attach(dev, ioas);
  assert.equal(errnoOf(() => ctx.ioasMap(ioas, { length: K4, userVa: 0x7000000n, flags: R })), 'EFAULT');
});
