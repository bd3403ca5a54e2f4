// mbochs: sysfs types over the shared memory budget, config space and region info as mbochs.c, the dispi
// registers and a test pattern read back as a PNG, the EDID region round trip, budget errno, no fd leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Host } from '../../base/host.js';
import { fstatSize } from '../../native/index.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { VfioError } from '../../uapi/errno.js';
import { parseVfioInfoCaps } from '../../uapi/caps.js';
import {
  VFIO_DEVICE_GFX_LINK_STATE_UP,
  VFIO_REGION_INFO_CAP_TYPE,
  VFIO_REGION_SUBTYPE_GFX_EDID,
  VFIO_REGION_TYPE_GFX,
  decodeVfioRegionCapType,
  decodeVfioRegionGfxEdid,
} from '../../uapi/region-caps.js';
import { VFIO_REGION_INFO_FLAG_CAPS, VFIO_REGION_INFO_FLAG_MMAP, VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE } from '../../uapi/region-info.js';
import { vfioConfigure } from '../../vfio/core-state.js';
import { deviceFileRelease, openDeviceFile } from '../../vfio/device-file.js';
import type { VfioDeviceFile } from '../../vfio/device-file.js';
import { mdevCreate, mdevParentType, mdevRemove, mdevVfioDevice } from '../../mdev/index.js';
import type { MdevSample } from '../../mdev/sample-parent.js';
import { decodePng, openFdCount, pixel, readRegion, readU32, regionInfo, u32le, writeRegion } from '../mdpy/display.test-kit.js';
import { MbochsState, generateEdid, mbochsRegister, screenshot } from './index.js';
import { VBE_DISPI_ENABLED, VBE_DISPI_INDEX_BPP, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_INDEX_XRES, VBE_DISPI_INDEX_YRES, VBE_DISPI_INDEX_Y_OFFSET, VBE_DISPI_LFB_ENABLED } from '../../hw/bochs-dispi.js';

const UUID = (n: number): string => `0000000${n}-0000-4000-8000-00000000000${n}`;
const RW = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
const BASE = '/sys/devices/virtual/mbochs/mbochs/mdev_supported_types';

function setup(t: { after(fn: () => unknown): void }, maxMbytes?: number): { host: Host; sample: MdevSample; open: (dev: MbochsState) => VfioDeviceFile } {
  const mark = sanitizer.mark();
  const host = new Host();
  vfioConfigure(host, { requestIntervalMs: 10 });
  const sample = mbochsRegister(host, maxMbytes === undefined ? {} : { maxMbytes });
  const files: VfioDeviceFile[] = [];
  t.after(async () => {
    for (const f of files) deviceFileRelease(f);
    await sample.unregister();
    sanitizer.assertNoLeaks(mark);
  });
  const open = (dev: MbochsState): VfioDeviceFile => {
    const f = openDeviceFile(dev);
    files.push(f);
    return f;
  };
  return { host, sample, open };
}

function mbochsOf(sample: MdevSample, type: string, n: number): MbochsState {
  const t = mdevParentType(sample.parent, type);
  assert.ok(t);
  const vdev = mdevVfioDevice(mdevCreate(t, UUID(n)));
  assert.ok(vdev instanceof MbochsState);
  return vdev;
}

const dispiWrite = (df: VfioDeviceFile, index: number, value: number): void => {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, value, true);
  writeRegion(df, 2, 0x500 + index * 2, b);
};
const dispiRead = (df: VfioDeviceFile, index: number): number => {
  const b = readRegion(df, 2, 0x500 + index * 2, 2);
  return new DataView(b.buffer).getUint16(0, true);
};

test('types share the memory budget: available_instances follows the remaining megabytes', (t) => {
  const { host } = setup(t);
  assert.deepEqual(host.sysfs.ls(BASE), ['mbochs-large', 'mbochs-medium', 'mbochs-small']);
  assert.equal(host.sysfs.read(`${BASE}/mbochs-small/description`), 'virtual display, 4 MB video memory\n');
  assert.equal(host.sysfs.read(`${BASE}/mbochs-large/name`), 'mbochs-large\n');
  const avail = (): string[] => ['small', 'medium', 'large'].map((n) => host.sysfs.read(`${BASE}/mbochs-${n}/available_instances`));
  assert.deepEqual(avail(), ['64\n', '16\n', '4\n']);
  host.sysfs.write(`${BASE}/mbochs-large/create`, UUID(1));
  assert.deepEqual(avail(), ['48\n', '12\n', '3\n']);
  host.sysfs.write(`${BASE}/mbochs-medium/create`, UUID(2));
  assert.deepEqual(avail(), ['44\n', '11\n', '2\n']);
});

test('config space and region info as mbochs.c: VRAM BAR0, MMIO BAR2, the typed EDID region', (t) => {
  const { sample, open } = setup(t);
  const df = open(mbochsOf(sample, 'small', 1));
  const cfg = readRegion(df, 7, 0, 0x40);
  assert.equal(readU32(cfg, 0x00), 0x1111_1234);
  assert.equal(readU32(cfg, 0x04), 0x0000_0003, 'COMMAND io|memory, no capabilities');
  assert.equal(readU32(cfg, 0x08), 0x0380_0001);
  assert.equal(readU32(cfg, 0x10), 0x08, 'BAR0 prefetchable memory');
  assert.equal(readU32(cfg, 0x18), 0x00, 'BAR2 memory');
  assert.equal(readU32(cfg, 0x2c), 0x1100_1af4);
  writeRegion(df, 7, 0x10, u32le(0xffffffff));
  assert.equal(readU32(readRegion(df, 7, 0x10, 4)), 0xffc00008, '4 MiB of VRAM');
  writeRegion(df, 7, 0x18, u32le(0xffffffff));
  assert.equal(readU32(readRegion(df, 7, 0x18, 4)), 0xfffff000, 'one page of MMIO');

  assert.equal(regionInfo(df, 0).info.size, 4n << 20n);
  assert.equal(regionInfo(df, 0).info.flags, RW | VFIO_REGION_INFO_FLAG_MMAP);
  assert.equal(regionInfo(df, 2).info.size, 0x1000n);
  assert.equal(regionInfo(df, 2).info.flags, RW);
  // The EDID region: too small an argsz gets CAPS, cap_offset 0 and the size needed.
  const short = regionInfo(df, 9).info;
  assert.deepEqual([short.flags, short.capOffset, short.argsz, short.size], [RW | VFIO_REGION_INFO_FLAG_CAPS, 0, 48, 0x1000n]);
  const { info, bytes } = regionInfo(df, 9, 48);
  assert.equal(info.capOffset, 32);
  const caps = parseVfioInfoCaps(bytes, info.capOffset);
  assert.equal(caps.length, 1);
  const cap = caps[0];
  assert.ok(cap);
  assert.deepEqual([cap.id, cap.version], [VFIO_REGION_INFO_CAP_TYPE, 1]);
  assert.deepEqual(decodeVfioRegionCapType(cap.data), { type: VFIO_REGION_TYPE_GFX, subtype: VFIO_REGION_SUBTYPE_GFX_EDID });
});

test('dispi registers in BAR2 and a test pattern in VRAM come back as the PNG scanout', (t) => {
  const { sample, open } = setup(t);
  const dev = mbochsOf(sample, 'small', 1);
  const df = open(dev);
  assert.equal(dispiRead(df, 0), 0xb0c5, 'VBE_DISPI_ID5');
  assert.equal(dispiRead(df, 0xa), 64, 'VIDEO_MEMORY_64K: 4 MiB');
  assert.equal(readU32(readRegion(df, 2, 0x600, 4)), 8, 'QEMU extension: its size');
  assert.deepEqual([...readRegion(df, 2, 0x400, 4)], [0, 0, 0, 0], 'VGA ports unhandled');
  assert.throws(() => screenshot(dev), (e: unknown) => VfioError.is(e, 'ENODATA'));
  dispiWrite(df, VBE_DISPI_INDEX_XRES, 320);
  dispiWrite(df, VBE_DISPI_INDEX_YRES, 200);
  dispiWrite(df, VBE_DISPI_INDEX_BPP, 32);
  dispiWrite(df, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED);
  assert.equal(dispiRead(df, VBE_DISPI_INDEX_XRES), 320);
  // Diagonal stripes: pixel (x, y) = R x, G y, B 0x80 (XRGB8888: bytes B, G, R, X).
  const stride = 320 * 4;
  const frame = new Uint8Array(stride * 220);
  for (let y = 0; y < 220; y++) for (let x = 0; x < 320; x++) frame.set([0x80, y & 0xff, x & 0xff, 0], y * stride + x * 4);
  writeRegion(df, 0, 0, frame);
  let img = decodePng(screenshot(dev));
  assert.deepEqual([img.width, img.height], [320, 200]);
  assert.deepEqual(pixel(img, 0, 0), [0, 0, 0x80, 255]);
  assert.deepEqual(pixel(img, 300, 150), [300 & 0xff, 150, 0x80, 255]);
  // Panning: Y_OFFSET 20 starts the scanout 20 lines down.
  dispiWrite(df, VBE_DISPI_INDEX_Y_OFFSET, 20);
  img = decodePng(screenshot(dev));
  assert.deepEqual(pixel(img, 7, 0), [7, 20, 0x80, 255]);
  assert.deepEqual([...readRegion(df, 0, 150 * stride + 300 * 4, 4)], [0x80, 150, 300 & 0xff, 0]);
});

test('the EDID region round trip: registers, blob, link state, and the guest view in BAR2', (t) => {
  const { sample, open } = setup(t);
  const dev = mbochsOf(sample, 'small', 1);
  const df = open(dev);
  let regs = decodeVfioRegionGfxEdid(readRegion(df, 9, 0, 24));
  assert.deepEqual(regs, { edidOffset: 0x800, edidMaxSize: 0x400, edidSize: 0, maxXres: 800, maxYres: 600, linkState: 0 });
  const edid = generateEdid({ width: 800, height: 600 });
  writeRegion(df, 9, regs.edidOffset, edid);
  writeRegion(df, 9, 8, u32le(edid.length));
  assert.deepEqual([...readRegion(df, 2, 0, 8)], [0, 0, 0, 0, 0, 0, 0, 0], 'link down: the guest sees no EDID');
  writeRegion(df, 9, 20, u32le(VFIO_DEVICE_GFX_LINK_STATE_UP));
  writeRegion(df, 9, 12, u32le(4096));
  regs = decodeVfioRegionGfxEdid(readRegion(df, 9, 0, 24));
  assert.deepEqual([regs.edidSize, regs.linkState, regs.maxXres], [128, VFIO_DEVICE_GFX_LINK_STATE_UP, 800], 'max_xres is read-only');
  assert.deepEqual(readRegion(df, 9, 0x800, 128), edid, 'blob reads back');
  assert.deepEqual(readRegion(df, 2, 0, 128), edid, 'the guest reads the EDID from the MMIO BAR');
  assert.deepEqual([...readRegion(df, 2, 128, 4)], [0, 0, 0, 0], 'past edid_size reads 0');
  assert.deepEqual(dev.edidOf().preferredMode()?.width, 800);
  // A second EDID (a larger mode) replaces the first.
  writeRegion(df, 9, 0x800, generateEdid({ width: 640, height: 480 }));
  assert.equal(dev.edidOf().preferredMode()?.height, 480);
  writeRegion(df, 9, 20, u32le(2));
  assert.equal(dev.edidOf().preferredMode(), null);
  assert.deepEqual([...readRegion(df, 2, 0, 4)], [0, 0, 0, 0]);
  assert.deepEqual([...readRegion(df, 9, 2, 2)], [0, 0], 'only dword register accesses');
});

test('budget errno, removal returning memory, VRAM zeroed on last close, memfds closed in release', async (t) => {
  const { sample, open } = setup(t, 32);
  const medium = mdevParentType(sample.parent, 'medium');
  const large = mdevParentType(sample.parent, 'large');
  assert.ok(medium && large);
  assert.equal(large.availableInstances(), 0);
  const fds = openFdCount();
  assert.throws(() => mdevCreate(large, UUID(1)), (e: unknown) => VfioError.is(e, 'ENOSPC'));
  const aMdev = mdevCreate(medium, UUID(2));
  const a = mdevVfioDevice(aMdev);
  assert.ok(a instanceof MbochsState);
  mbochsOf(sample, 'medium', 3);
  assert.throws(() => mdevCreate(medium, UUID(4)), (e: unknown) => VfioError.is(e, 'ENOSPC'));
  assert.equal(openFdCount(), fds + 2);
  assert.equal(fstatSize(a.memfd), 16 << 20);
  const df = openDeviceFile(a);
  writeRegion(df, 0, 4096, new Uint8Array([1, 2, 3, 4]));
  deviceFileRelease(df);
  assert.equal(fstatSize(a.memfd), 16 << 20, 'the size survives the close');
  const df2 = open(a);
  assert.deepEqual([...readRegion(df2, 0, 4096, 4)], [0, 0, 0, 0], 'pages were given back at the last close');
  deviceFileRelease(df2);
  await mdevRemove(aMdev);
  assert.equal(medium.availableInstances(), 1);
  assert.equal(openFdCount(), fds + 1, 'release closed the memfd');
  await sample.unregister();
  assert.equal(openFdCount(), fds);
});
