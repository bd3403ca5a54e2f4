// Tests for the type1 IOMMU model: the errno of every map/unmap rule, selftest cases, pinning, dma_rw, dirty bitmaps.
// Cases follow drivers/vfio/vfio_iommu_type1.c and tools/testing/selftests/vfio/vfio_dma_mapping_test.c.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ErrnoName } from '../uapi/errno.js';
import { VFIO_UPDATE_VADDR } from '../uapi/ioctl.js';
import { ArrayBufferBacking, U64_MAX, UserAddressSpace } from './dma-space.js';
import {
  IOMMU_READ, IOMMU_WRITE, VFIO_DMA_MAP_FLAG_READ as R, VFIO_DMA_MAP_FLAG_VADDR, VFIO_DMA_MAP_FLAG_WRITE as W,
  VFIO_DMA_UNMAP_FLAG_ALL as ALL, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP as GET_BITMAP, VFIO_DMA_UNMAP_FLAG_VADDR,
  VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, VfioIommuType1, type DmaUnmapListener, type VfioIommuType1Options,
} from './iommu-type1.js';
import type { Logger } from '../base/log.js';
import { errnoOf } from './uapi.test-kit.js';

const K4 = 0x1000n;
const RW = R | W;

function setup(opts: VfioIommuType1Options = {}, memSize = 64 * 4096) {
  const mm = new UserAddressSpace();
  const mem = new ArrayBufferBacking(memSize);
  mm.map(0x10000000n, mem);
  const iommu = new VfioIommuType1({ mm, ...opts });
  return { iommu, mm, mem, vaddr: 0x10000000n };
}

test('MAP_DMA rules and their errno', () => {
  const { iommu, vaddr } = setup({ dmaEntryLimit: 4 });
  iommu.mapDma({ iova: 0x100000n, vaddr, size: 4n * K4, flags: RW });
  const cases: [string, bigint, bigint, bigint, number, ErrnoName | 'ok'][] = [
    ['unknown flag', 0x200000n, vaddr, K4, RW | 0x80, 'EINVAL'],
    ['size 0', 0x200000n, vaddr, 0n, RW, 'EINVAL'],
    ['iova wraps', U64_MAX - K4 + 1n, vaddr, 2n * K4, RW, 'EOVERFLOW'],
    ['vaddr wraps', 0x200000n, U64_MAX - K4 + 1n, 2n * K4, RW, 'EOVERFLOW'],
    ['no READ/WRITE', 0x200000n, vaddr, K4, 0, 'EINVAL'],
    ['VADDR with prot', 0x200000n, vaddr, K4, RW | VFIO_DMA_MAP_FLAG_VADDR, 'EINVAL'],
    ['unaligned iova', 0x200800n, vaddr, K4, RW, 'EINVAL'],
    ['unaligned vaddr', 0x200000n, vaddr + 0x10n, K4, RW, 'EINVAL'],
    ['unaligned size', 0x200000n, vaddr, 0x1800n, RW, 'EINVAL'],
    ['overlap at start', 0x100000n, vaddr, K4, RW, 'EEXIST'],
    ['overlap at end', 0x0ff000n, vaddr, 2n * K4, RW, 'EEXIST'],
    ['covering', 0x0ff000n, vaddr, 8n * K4, RW, 'EEXIST'],
    ['VADDR on nothing', 0x200000n, vaddr, K4, VFIO_DMA_MAP_FLAG_VADDR, 'ENOENT'],
    ['VADDR on valid mapping', 0x100000n, vaddr, 4n * K4, VFIO_DMA_MAP_FLAG_VADDR, 'EINVAL'],
    ['adjacent below', 0x0ff000n, vaddr, K4, R, 'ok'],
    ['adjacent above', 0x104000n, vaddr, K4, W, 'ok'],
    // Without an IOMMU domain nothing is pinned at map time, so an unbacked vaddr maps.
    ['unbacked vaddr, emulated only', 0x300000n, 0x7000000n, K4, RW, 'ok'],
    ['entry limit', 0x400000n, vaddr, K4, RW, 'ENOSPC'],
  ];
  for (const [name, iova, va, size, flags, want] of cases) {
    assert.equal(errnoOf(() => iommu.mapDma({ iova, vaddr: va, size, flags })), want, name);
  }
  assert.equal(iommu.dmaCount, 4);
});

test('UNMAP_DMA rules and their errno (v2)', () => {
  const { iommu, vaddr } = setup();
  iommu.mapDma({ iova: 0x100000n, vaddr, size: 4n * K4, flags: RW });
  const cases: [string, bigint, bigint, number, ErrnoName | 'ok'][] = [
    ['unknown flag', 0x100000n, 4n * K4, 0x80, 'EINVAL'],
    ['bitmap with ALL', 0n, 0n, GET_BITMAP | ALL, 'EINVAL'],
    ['size 0', 0x100000n, 0n, 0, 'EINVAL'],
    ['unaligned iova', 0x100800n, K4, 0, 'EINVAL'],
    ['unaligned size', 0x100000n, 0x800n, 0, 'EINVAL'],
    ['ALL with iova', K4, 0n, ALL, 'EINVAL'],
    ['ALL with size', 0n, K4, ALL, 'EINVAL'],
    ['wraps', U64_MAX - K4 + 1n, 2n * K4, 0, 'EOVERFLOW'],
    ['bisect head', 0x101000n, 3n * K4, 0, 'EINVAL'],
    ['bisect tail', 0x100000n, 2n * K4, 0, 'EINVAL'],
    ['bitmap without tracking', 0x100000n, 4n * K4, GET_BITMAP, 'EINVAL'],
  ];
  for (const [name, iova, size, flags, want] of cases) {
    const bitmap = { pgsize: K4, size: 8n, data: new Uint8Array(8) };
    assert.equal(errnoOf(() => iommu.unmapDma({ iova, size, flags, bitmap })), want, name);
  }
  assert.equal(iommu.unmapDma({ iova: 0x200000n, size: K4, flags: 0 }), 0n, 'nothing there: success, 0 bytes');
  assert.equal(iommu.unmapDma({ iova: 0x0n, size: 0x200000n, flags: 0 }), 4n * K4, 'covering range unmaps it');
  assert.equal(iommu.dmaCount, 0);
});

test('v1 unmaps whole mappings that start in range and returns 0 for an offset start', () => {
  const { iommu, vaddr } = setup({ v2: false });
  iommu.mapDma({ iova: 0x100000n, vaddr, size: 4n * K4, flags: RW });
  assert.equal(iommu.unmapDma({ iova: 0x101000n, size: K4, flags: 0 }), 0n);
  assert.equal(iommu.unmapDma({ iova: 0x100000n, size: K4, flags: 0 }), 4n * K4, 'covering the first iova unmaps it all');
  assert.equal(iommu.dmaCount, 0);
  assert.equal(errnoOf(() => iommu.dirtyStart()), 'EACCES');
});

test('selftest vfio_dma_map_limit_test: last page, unmap all, overflow', () => {
  const { iommu, vaddr } = setup();
  const last = U64_MAX & ~(K4 - 1n);
  iommu.mapDma({ iova: last, vaddr, size: K4, flags: RW });
  assert.equal(iommu.unmapDma({ iova: last, size: K4, flags: 0 }), K4, 'unmap_range');
  iommu.mapDma({ iova: last, vaddr, size: K4, flags: RW });
  assert.equal(iommu.unmapDma({ iova: 0n, size: 0n, flags: ALL }), K4, 'unmap_all');
  assert.equal(errnoOf(() => iommu.mapDma({ iova: last, vaddr, size: 2n * K4, flags: RW })), 'EOVERFLOW');
  assert.equal(errnoOf(() => iommu.unmapDma({ iova: last, size: 2n * K4, flags: 0 })), 'EOVERFLOW');
});

test('the real 65535-entry limit with cheap inserts', () => {
  const { iommu, vaddr } = setup();
  for (let i = 0; i < 65535; i++) iommu.mapDma({ iova: BigInt(i) * K4, vaddr, size: K4, flags: RW });
  assert.equal(errnoOf(() => iommu.mapDma({ iova: 65535n * K4, vaddr, size: K4, flags: RW })), 'ENOSPC');
  const avail = iommu.getInfo().caps.find((c) => c.id === 3);
  assert.deepEqual(avail, { id: 3, version: 1, avail: 0 });
  assert.equal(iommu.unmapDma({ iova: 0n, size: 0n, flags: ALL }), 65535n * K4);
  assert.equal(iommu.dmaCount, 0);
});

test('GET_INFO: pgsizes, migration cap, DMA_AVAIL, IOVA ranges once an IOMMU group attaches', () => {
  const { iommu } = setup({ pgsizeBitmap: 0x1000n | 0x200000n });
  const info = iommu.getInfo();
  assert.equal(info.iovaPgsizes, 0x201000n);
  assert.deepEqual(info.caps, [
    { id: 2, version: 1, flags: 0, pgsizeBitmap: 0x1000n, maxDirtyBitmapSize: 256n * 1024n * 1024n },
    { id: 3, version: 1, avail: 65535 },
  ]);
  iommu.attachGroup({}, 'iommu');
  const ranges = iommu.getInfo().caps.find((c) => c.id === VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
  assert.deepEqual(ranges, { id: 1, version: 1, ranges: [{ start: 0n, end: 0xfedfffffn }, { start: 0xfef00000n, end: U64_MAX }] });
});

test('an IOMMU-backed group pins at map time: unbacked vaddr is EFAULT, reserved range is EINVAL', () => {
  const { iommu, vaddr } = setup();
  const g = {};
  iommu.attachGroup(g, 'iommu');
  assert.equal(errnoOf(() => iommu.attachGroup(g, 'iommu')), 'EINVAL', 'duplicate group');
  assert.equal(errnoOf(() => iommu.mapDma({ iova: 0x100000n, vaddr: 0x7000000n, size: K4, flags: RW })), 'EFAULT');
  assert.equal(iommu.dmaCount, 0, 'failed map leaves nothing');
  assert.equal(errnoOf(() => iommu.mapDma({ iova: 0xfee00000n, vaddr, size: K4, flags: RW })), 'EINVAL');
  iommu.mapDma({ iova: 0x100000n, vaddr, size: K4, flags: RW });
  iommu.detachGroup(g);
  assert.equal(iommu.dmaCount, 0, 'last group detached: everything unmapped');
});

class RecordingDevice implements DmaUnmapListener {
  calls: [bigint, bigint, number][] = [];
  constructor(private readonly iommu: VfioIommuType1, private readonly unpin: boolean) {}
  dmaUnmap(iova: bigint, length: bigint): void {
    this.calls.push([iova, length, this.iommu.dmaCount]);
    if (this.unpin) this.iommu.unpinPages(iova, Number(length / K4));
  }
}

test('pinPages rules, and dmaUnmap is called before the mapping goes', () => {
  const { iommu, vaddr } = setup();
  iommu.mapDma({ iova: 0x100000n, vaddr, size: 4n * K4, flags: R });
  assert.equal(errnoOf(() => iommu.pinPages(0x100000n, 1, IOMMU_READ)), 'EINVAL', 'no device registered');
  const dev = new RecordingDevice(iommu, true);
  const group = {};
  iommu.attachGroup(group, 'emulated');
  iommu.registerDevice(dev);
  assert.equal(errnoOf(() => iommu.pinPages(0x200000n, 1, IOMMU_READ)), 'EINVAL', 'unmapped iova');
  assert.equal(errnoOf(() => iommu.pinPages(0x100000n, 1, IOMMU_WRITE)), 'EPERM');
  assert.equal(errnoOf(() => iommu.pinPages(0x100000n, 0, IOMMU_READ)), 'EINVAL');
  assert.equal(errnoOf(() => iommu.pinPages(0x100000n, 513, IOMMU_READ)), 'E2BIG');
  assert.equal(errnoOf(() => iommu.pinPages(0x103000n, 2, IOMMU_READ)), 'EINVAL', 'runs off the mapping');
  assert.equal(iommu.mappings()[0]?.pinned, 0, 'failed pin unwound');
  const pages = iommu.pinPages(0x101000n, 2, IOMMU_READ, group);
  assert.equal(pages.length, 2);
  assert.equal(pages[1]?.segments[0]?.offset, 2 * 4096);
  assert.equal(iommu.unmapDma({ iova: 0x100000n, size: 4n * K4, flags: 0 }), 4n * K4);
  assert.deepEqual(dev.calls, [[0x100000n, 4n * K4, 1]], 'called once, with the whole mapping, before removal');
  assert.equal(iommu.checkExtension(VFIO_UPDATE_VADDR), 0, 'no vaddr update with mdevs');
  assert.equal(errnoOf(() => iommu.unmapDma({ iova: 0n, size: 0n, flags: ALL | VFIO_DMA_UNMAP_FLAG_VADDR })), 'EBUSY');
});

test('a device that keeps pins past dmaUnmap is warned about and unpinned', () => {
  const warnings: string[] = [];
  const logger: Logger = { debug() {}, info() {}, error() {}, warn: (_o, msg) => void warnings.push(msg ?? '') };
  const { iommu, vaddr } = setup({ logger });
  const dev = new RecordingDevice(iommu, false);
  iommu.attachGroup({}, 'emulated');
  iommu.registerDevice(dev);
  iommu.mapDma({ iova: 0x100000n, vaddr, size: K4, flags: RW });
  iommu.pinPages(0x100000n, 1, IOMMU_READ);
  assert.equal(iommu.unmapAll(), K4);
  assert.equal(dev.calls.length, 1);
  assert.equal(warnings.length, 1);
  assert.equal(iommu.dmaCount, 0);
});

test('dmaRw crosses mappings, checks permissions, EINVAL when unmapped, EFAULT when unbacked', () => {
  const { iommu, vaddr, mem } = setup();
  iommu.mapDma({ iova: 0x100000n, vaddr: vaddr + 8n * K4, size: K4, flags: RW });
  iommu.mapDma({ iova: 0x101000n, vaddr, size: K4, flags: RW });
  iommu.mapDma({ iova: 0x102000n, vaddr, size: K4, flags: R });
  iommu.mapDma({ iova: 0x103000n, vaddr, size: K4, flags: W });
  iommu.mapDma({ iova: 0x200000n, vaddr: 0x7000000n, size: K4, flags: RW });
  const data = new Uint8Array(16).map((_, i) => i + 1);
  iommu.dmaRw(0x100ff8n, data, true);
  assert.deepEqual([...mem.bytes.subarray(8 * 4096 + 4088, 8 * 4096 + 4096)], [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual([...mem.bytes.subarray(0, 8)], [9, 10, 11, 12, 13, 14, 15, 16]);
  const back = new Uint8Array(16);
  iommu.dmaRw(0x100ff8n, back, false);
  assert.deepEqual(back, data);
  assert.equal(errnoOf(() => iommu.dmaRw(0x102000n, data, true)), 'EPERM', 'write to read-only');
  assert.equal(errnoOf(() => iommu.dmaRw(0x103000n, back, false)), 'EPERM', 'write-only mapping is not readable');
  assert.equal(errnoOf(() => iommu.dmaRw(0x103000n, data, true)), 'EPERM', 'the kernel wants READ for any access');
  assert.equal(errnoOf(() => iommu.dmaRw(0x300000n, back, false)), 'EINVAL');
  assert.equal(errnoOf(() => iommu.dmaRw(0x200000n, back, false)), 'EFAULT');
  assert.equal(errnoOf(() => iommu.dmaRw(0x100000n, new Uint8Array(0), false)), 'EINVAL');
});

test('dirty tracking: pinned pages stay dirty, dma_rw writes are reported once, bitmap rules', () => {
  const { iommu, vaddr } = setup();
  iommu.attachGroup({}, 'emulated');
  iommu.registerDevice({ dmaUnmap: (iova, len) => iommu.unpinPages(iova, Number(len / K4)) });
  iommu.mapDma({ iova: 0x100000n, vaddr, size: 16n * K4, flags: RW });
  iommu.mapDma({ iova: 0x110000n, vaddr, size: 64n * K4, flags: RW });
  iommu.pinPages(0x102000n, 1, IOMMU_WRITE);
  iommu.dirtyStart();
  iommu.dmaRw(0x110000n + 3n * K4 + 100n, new Uint8Array(5000), true);
  const data = new Uint8Array(16);
  const bm = { pgsize: K4, size: 16n, data };
  assert.equal(errnoOf(() => iommu.dirtyGetBitmap(0x101000n, 80n * K4 - K4, bm)), 'EINVAL', 'bisects');
  assert.equal(errnoOf(() => iommu.dirtyGetBitmap(0x100000n, 80n * K4, { ...bm, pgsize: 0x2000n })), 'EINVAL', 'pgsize');
  assert.equal(errnoOf(() => iommu.dirtyGetBitmap(0x100000n, 80n * K4, { ...bm, size: 8n })), 'EINVAL', 'too small');
  iommu.dirtyGetBitmap(0x100000n, 80n * K4, bm);
  // Mapping 1: bit 2 (pinned). Mapping 2 starts at bit 16: writes hit pages 3..4 -> bits 19, 20.
  assert.deepEqual([...data], [0x04, 0x00, 0x18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  data.fill(0);
  iommu.dirtyGetBitmap(0x100000n, 80n * K4, bm);
  assert.deepEqual([...data.subarray(0, 3)], [0x04, 0x00, 0x00], 'writes reported once, pins again');
  data.fill(0);
  iommu.pinPages(0x111000n, 1, IOMMU_WRITE);
  assert.equal(iommu.unmapDma({ iova: 0x110000n, size: 64n * K4, flags: GET_BITMAP, bitmap: { pgsize: K4, size: 8n, data } }), 64n * K4);
  assert.equal(data[0], 0x02, 'combined unmap returns the bitmap of the removed mapping');
  iommu.dirtyStop();
  assert.equal(errnoOf(() => iommu.dirtyGetBitmap(0x100000n, 16n * K4, bm)), 'EINVAL', 'not tracking');
});

test('VFIO_DMA_MAP_FLAG_VADDR: invalidate, block dma_rw, update', () => {
  const { iommu, vaddr } = setup();
  iommu.attachGroup({}, 'iommu');
  iommu.mapDma({ iova: 0x100000n, vaddr, size: 2n * K4, flags: RW });
  assert.equal(iommu.unmapDma({ iova: 0x100000n, size: 2n * K4, flags: VFIO_DMA_UNMAP_FLAG_VADDR }), 2n * K4);
  assert.equal(errnoOf(() => iommu.unmapDma({ iova: 0x100000n, size: 2n * K4, flags: VFIO_DMA_UNMAP_FLAG_VADDR })), 'EINVAL');
  assert.equal(errnoOf(() => iommu.dmaRw(0x100000n, new Uint8Array(4), false)), 'EBUSY');
  assert.equal(errnoOf(() => iommu.mapDma({ iova: 0x100000n, vaddr, size: K4, flags: VFIO_DMA_MAP_FLAG_VADDR })), 'EINVAL', 'size must match');
  iommu.mapDma({ iova: 0x100000n, vaddr: vaddr + 4n * K4, size: 2n * K4, flags: VFIO_DMA_MAP_FLAG_VADDR });
  iommu.dmaRw(0x100000n, new Uint8Array(4), false);
  assert.equal(iommu.mappings()[0]?.vaddr, vaddr + 4n * K4);
});
