// Region dispatch: index/offset decoding, bounds (EINVAL), region-addressed access, the CONFIG region with BAR
// sizing, mmap and access splitting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioError } from '../uapi/errno.js';
import { deviceFileMmap, deviceFileRead, deviceFileWrite } from '../vfio/device-file.js';
import { deviceFileRegionRw } from '../vfio/device-region.js';
import { PCI_BASE_ADDRESS_0, PCI_VENDOR_ID } from '../uapi/pci-regs.js';
import { VFIO_PCI_CONFIG_REGION_INDEX } from '../uapi/region-info.js';
import { pciEmuIndexToOffset, pciEmuSplitAccess } from './regions.js';
import { MMAP_BAR_SIZE, openTestDev } from './test-device.test-kit.js';

const isErr = (code: string) => (e: unknown) => VfioError.is(e) && e.code === code;

test('reads and writes of 1, 2, 4, 8 and bulk sizes reach the region handler at index << 40 | offset', async (t) => {
  const { dev, df, done } = openTestDev();
  t.after(done);
  const bar0 = pciEmuIndexToOffset(0);
  assert.equal(bar0, 0);
  assert.equal(pciEmuIndexToOffset(9), 9 * 2 ** 40);
  for (const size of [1, 2, 4, 8, 16]) {
    const data = Uint8Array.from({ length: size }, (_, i) => i + size);
    assert.equal(deviceFileWrite(df, data, bar0 + (16 - size)), size);
    const back = new Uint8Array(size);
    assert.equal(deviceFileRead(df, back, bar0 + (16 - size)), size);
    assert.deepEqual(back, data);
  }
  assert.equal(dev.bar0[15], 31);
  const edid = new Uint8Array(4);
  deviceFileRead(df, edid, pciEmuIndexToOffset(9) + 0x42);
  assert.deepEqual([...edid], [0x42, 0x42, 0x42, 0x42], 'device-specific region 9 dispatches too');
});

test('out of bounds, unknown regions, empty regions and the wrong direction are EINVAL', async (t) => {
  const { df, done } = openTestDev();
  t.after(done);
  const cases: [string, () => unknown][] = [
    ['past the end of BAR0', () => deviceFileRead(df, new Uint8Array(4), 14)],
    ['at the end of BAR0', () => deviceFileRead(df, new Uint8Array(1), 16)],
    ['zero-length', () => deviceFileRead(df, new Uint8Array(0), 0)],
    ['BAR1 (not implemented)', () => deviceFileRead(df, new Uint8Array(1), pciEmuIndexToOffset(1))],
    ['region 10 (beyond the table)', () => deviceFileRead(df, new Uint8Array(1), pciEmuIndexToOffset(10))],
    ['write to a read-only region', () => deviceFileWrite(df, new Uint8Array(1), pciEmuIndexToOffset(9))],
    ['write to a region without a write handler', () => deviceFileWrite(df, new Uint8Array(1), pciEmuIndexToOffset(2))],
    ['past config space', () => deviceFileRead(df, new Uint8Array(4), pciEmuIndexToOffset(7) + 254)],
    ['negative position', () => deviceFileRead(df, new Uint8Array(1), -1)],
  ];
  for (const [what, fn] of cases) assert.throws(fn, isErr('EINVAL'), what);
});

test('region-addressed access (ops.regionRw) reaches the same handlers without a file position; EINVAL only without a handler', async (t) => {
  const { dev, df, done } = openTestDev();
  t.after(done);
  assert.equal(deviceFileRegionRw(df, 0, 4, Uint8Array.of(1, 2, 3, 4), true), 4);
  assert.deepEqual([...dev.bar0.subarray(4, 8)], [1, 2, 3, 4]);
  const back = new Uint8Array(4);
  deviceFileRead(df, back, 4);
  assert.deepEqual([...back], [1, 2, 3, 4], 'pread sees what the region write wrote');
  const edid = new Uint8Array(2);
  assert.equal(deviceFileRegionRw(df, 9, 0x42, edid, false), 2);
  assert.deepEqual([...edid], [0x42, 0x42]);
  const id = new Uint8Array(2);
  deviceFileRegionRw(df, VFIO_PCI_CONFIG_REGION_INDEX, PCI_VENDOR_ID, id, false);
  assert.deepEqual([...id], [0x36, 0x1b]);
  assert.throws(() => deviceFileRegionRw(df, 2, 0, new Uint8Array(1), true), isErr('EINVAL'), 'BAR2 has no write handler');
  assert.throws(() => deviceFileRegionRw(df, 1, 0, new Uint8Array(1), false), isErr('EINVAL'), 'BAR1 is not implemented');
  assert.throws(() => deviceFileRegionRw(df, 10, 0, new Uint8Array(1), false), isErr('EINVAL'), 'beyond the table');
});

test('CONFIG region: ids, BAR sizing through the file, and any access length', async (t) => {
  const { df, done } = openTestDev();
  t.after(done);
  const cfg = pciEmuIndexToOffset(VFIO_PCI_CONFIG_REGION_INDEX);
  const id = new Uint8Array(4);
  deviceFileRead(df, id, cfg + PCI_VENDOR_ID);
  assert.deepEqual([...id], [0x36, 0x1b, 0x34, 0x12]);
  const ones = new Uint8Array([0xff, 0xff, 0xff, 0xff]);
  deviceFileWrite(df, ones, cfg + PCI_BASE_ADDRESS_0);
  const sized = new Uint8Array(4);
  deviceFileRead(df, sized, cfg + PCI_BASE_ADDRESS_0);
  assert.equal(new DataView(sized.buffer).getUint32(0, true), 0xfffffff0, '16-byte mem32 BAR sizes as ~15');
  const whole = new Uint8Array(256);
  assert.equal(deviceFileRead(df, whole, cfg), 256);
  assert.equal(whole[0], 0x36);
});

test('mmap: page-aligned ranges inside a sparse area map the driver fd; everything else is EINVAL', async (t) => {
  const { dev, df, done } = openTestDev();
  t.after(done);
  const bar2 = pciEmuIndexToOffset(2);
  assert.deepEqual(deviceFileMmap(df, bar2 + 4096, 8192, true), { fd: dev.memfd, offset: 4096 });
  assert.throws(() => deviceFileMmap(df, bar2, 4096, false), isErr('EINVAL'), 'outside the sparse areas');
  assert.throws(() => deviceFileMmap(df, bar2 + 4096, MMAP_BAR_SIZE, false), isErr('EINVAL'), 'past the region');
  assert.throws(() => deviceFileMmap(df, bar2 + 100, 4096, false), isErr('EINVAL'), 'unaligned');
  assert.throws(() => deviceFileMmap(df, 0, 4096, false), isErr('EINVAL'), 'BAR0 has no mmap');
});

test('pciEmuSplitAccess splits like mtty_read: aligned 4, then 2, then 1', () => {
  const seen: string[] = [];
  pciEmuSplitAccess(1, new Uint8Array(9), (off, chunk) => seen.push(`${off}:${chunk.length}`));
  assert.deepEqual(seen, ['1:1', '2:2', '4:4', '8:2']);
});
