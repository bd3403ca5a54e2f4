// Round-trip, layout and errno tests for the type1 IOMMU structs and their INFO caps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioError } from './errno.js';
import type { ErrnoName } from './errno.js';
import { findVfioInfoCap, parseVfioInfoCaps } from './caps.js';
import * as T from './iommu-type1.js';

const errno = (code: ErrnoName) => (e: unknown): boolean => VfioError.is(e, code);
const dv = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

test('vfio_iommu_type1_info: 24 bytes, iova_pgsizes @8, cap_offset @16', () => {
  assert.equal(T.VFIO_IOMMU_TYPE1_INFO_SIZEOF, 24);
  const x = { argsz: 24, flags: T.VFIO_IOMMU_INFO_PGSIZES, iovaPgsizes: 0xfffffffffffff000n, capOffset: 0 };
  const b = T.encodeVfioIommuType1Info(x);
  assert.equal(dv(b).getBigUint64(8, true), 0xfffffffffffff000n);
  assert.deepEqual(T.decodeVfioIommuType1Info(b), x);
  assert.deepEqual(T.decodeVfioIommuType1Info(b.subarray(0, 16)), x);
  assert.throws(() => T.decodeVfioIommuType1Info(b.subarray(0, 12)), errno('EINVAL'));
});

test('type1 info caps: IOVA_RANGE 16+16n, MIGRATION 32, DMA_AVAIL 12; chain and argsz rule', () => {
  const caps = [
    T.vfioIommuType1CapIovaRange([{ start: 0n, end: 0xfedfffffn }, { start: 0xfef00000n, end: 0xffffffffffffn }]),
    T.vfioIommuType1CapMigration({ flags: 0, pgsizeBitmap: 0x1000n, maxDirtyBitmapSize: 256n << 20n }),
    T.vfioIommuType1CapDmaAvail(65535),
  ];
  const x = { argsz: 16, flags: T.VFIO_IOMMU_INFO_PGSIZES, iovaPgsizes: 0x1000n, capOffset: 0 };
  const need = 24 + 48 + 32 + 12;
  const small = T.encodeVfioIommuType1InfoWithCaps(x, caps);
  assert.equal(small.byteLength, 16); // argsz < 20: the kernel copies back 16 bytes
  assert.equal(dv(small).getUint32(0, true), need);
  assert.equal(dv(small).getUint32(4, true), T.VFIO_IOMMU_INFO_PGSIZES | T.VFIO_IOMMU_INFO_CAPS);
  assert.equal(T.encodeVfioIommuType1InfoWithCaps({ ...x, argsz: 20 }, caps).byteLength, 20);
  const full = T.encodeVfioIommuType1InfoWithCaps({ ...x, argsz: need }, caps);
  assert.equal(full.byteLength, need);
  const info = T.decodeVfioIommuType1Info(full);
  assert.equal(info.capOffset, 24);
  const found = parseVfioInfoCaps(full, info.capOffset, 24);
  assert.deepEqual(found.map((c) => [c.id, c.offset]), [[1, 24], [2, 72], [3, 104]]);
  const ir = findVfioInfoCap(full, 24, T.VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
  assert.ok(ir);
  assert.deepEqual(T.decodeVfioIommuType1CapIovaRange(ir.data), [{ start: 0n, end: 0xfedfffffn }, { start: 0xfef00000n, end: 0xffffffffffffn }]);
  const mig = findVfioInfoCap(full, 24, T.VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION);
  assert.ok(mig);
  assert.equal(dv(full).getBigUint64(72 + 16, true), 0x1000n); // pgsize_bitmap at cap + 16
  assert.deepEqual(T.decodeVfioIommuType1CapMigration(mig.data), { flags: 0, pgsizeBitmap: 0x1000n, maxDirtyBitmapSize: 256n << 20n });
  const avail = findVfioInfoCap(full, 24, T.VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
  assert.ok(avail);
  assert.equal(T.decodeVfioIommuType1CapDmaAvail(avail.data), 65535);
  const bad = new Uint8Array(8);
  dv(bad).setUint32(0, 1, true);
  assert.throws(() => T.decodeVfioIommuType1CapIovaRange(bad), errno('EINVAL'));
});

test('vfio_iommu_type1_dma_map: 32 bytes, vaddr @8, iova @16, size @24; flag checks', () => {
  assert.equal(T.VFIO_IOMMU_TYPE1_DMA_MAP_SIZEOF, 32);
  assert.deepEqual([T.VFIO_DMA_MAP_FLAG_READ, T.VFIO_DMA_MAP_FLAG_WRITE, T.VFIO_DMA_MAP_FLAG_VADDR], [1, 2, 4]);
  const x = { argsz: 32, flags: 3, vaddr: 0x7f0000000000n, iova: 0x100000n, size: 0x200000n };
  const b = T.encodeVfioIommuType1DmaMap(x);
  assert.deepEqual([dv(b).getBigUint64(8, true), dv(b).getBigUint64(16, true), dv(b).getBigUint64(24, true)], [x.vaddr, x.iova, x.size]);
  assert.deepEqual(T.decodeVfioIommuType1DmaMap(b), x);
  assert.throws(() => T.decodeVfioIommuType1DmaMap(T.encodeVfioIommuType1DmaMap({ ...x, flags: 8 })), errno('EINVAL'));
  assert.throws(() => T.decodeVfioIommuType1DmaMap(T.encodeVfioIommuType1DmaMap({ ...x, argsz: 24 })), errno('EINVAL'));
});

test('vfio_iommu_type1_dma_unmap: 24 bytes, + vfio_bitmap (24) for GET_DIRTY_BITMAP', () => {
  assert.equal(T.VFIO_IOMMU_TYPE1_DMA_UNMAP_SIZEOF, 24);
  assert.equal(T.VFIO_BITMAP_SIZEOF, 24);
  const plain = { argsz: 24, flags: 0, iova: 0x1000n, size: 0x1000n };
  assert.deepEqual(T.decodeVfioIommuType1DmaUnmap(T.encodeVfioIommuType1DmaUnmap(plain)), plain);
  const all = { argsz: 24, flags: T.VFIO_DMA_UNMAP_FLAG_ALL, iova: 0n, size: 0n };
  assert.deepEqual(T.decodeVfioIommuType1DmaUnmap(T.encodeVfioIommuType1DmaUnmap(all)), all);
  const dirty = { argsz: 48, flags: T.VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, iova: 0n, size: 0x8000n, bitmap: { pgsize: 4096n, size: 8n, data: 0x7fff0000n } };
  const b = T.encodeVfioIommuType1DmaUnmap(dirty);
  assert.equal(b.byteLength, 48);
  assert.deepEqual([dv(b).getBigUint64(24, true), dv(b).getBigUint64(32, true), dv(b).getBigUint64(40, true)], [4096n, 8n, 0x7fff0000n]);
  assert.deepEqual(T.decodeVfioIommuType1DmaUnmap(b), dirty);
  const einval = errno('EINVAL');
  assert.throws(() => T.decodeVfioIommuType1DmaUnmap(T.encodeVfioIommuType1DmaUnmap({ ...plain, flags: 8 })), einval);
  assert.throws(() => T.decodeVfioIommuType1DmaUnmap(T.encodeVfioIommuType1DmaUnmap({ ...dirty, flags: 1 | T.VFIO_DMA_UNMAP_FLAG_ALL })), einval);
  assert.throws(() => T.decodeVfioIommuType1DmaUnmap(T.encodeVfioIommuType1DmaUnmap({ ...dirty, flags: 1 | T.VFIO_DMA_UNMAP_FLAG_VADDR })), einval);
  assert.throws(() => T.decodeVfioIommuType1DmaUnmap(T.encodeVfioIommuType1DmaUnmap({ ...dirty, argsz: 47 })), einval);
  assert.throws(() => T.decodeVfioIommuType1DmaUnmap(b.subarray(0, 40)), einval);
});

test('vfio_iommu_type1_dirty_bitmap: one flag at a time; GET_BITMAP carries a 40-byte range', () => {
  assert.equal(T.VFIO_IOMMU_TYPE1_DIRTY_BITMAP_GET_SIZEOF, 40);
  const start = { argsz: 8, flags: T.VFIO_IOMMU_DIRTY_PAGES_FLAG_START };
  assert.deepEqual(T.decodeVfioIommuType1DirtyBitmap(T.encodeVfioIommuType1DirtyBitmap(start)), start);
  const get = {
    argsz: 48,
    flags: T.VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
    range: { iova: 0x100000n, size: 0x40000n, bitmap: { pgsize: 4096n, size: 8n, data: 0x1234000n } },
  };
  const b = T.encodeVfioIommuType1DirtyBitmap(get);
  assert.equal(b.byteLength, 48);
  assert.equal(dv(b).getBigUint64(8, true), 0x100000n);
  assert.equal(dv(b).getBigUint64(24, true), 4096n);
  assert.deepEqual(T.decodeVfioIommuType1DirtyBitmap(b), get);
  const einval = errno('EINVAL');
  const raw = (argsz: number, flags: number): Uint8Array => T.encodeVfioIommuType1DirtyBitmap({ argsz, flags });
  assert.throws(() => T.decodeVfioIommuType1DirtyBitmap(raw(8, 0)), einval);
  assert.throws(() => T.decodeVfioIommuType1DirtyBitmap(raw(8, 3)), einval);
  assert.throws(() => T.decodeVfioIommuType1DirtyBitmap(raw(8, 8)), einval);
  assert.throws(() => T.decodeVfioIommuType1DirtyBitmap(raw(4, 1)), einval);
  assert.throws(() => T.decodeVfioIommuType1DirtyBitmap(raw(8, 4)), einval); // GET without the range
});
