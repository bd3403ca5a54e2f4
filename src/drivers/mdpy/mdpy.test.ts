// mdpy: the sample's sysfs types, config space and region info through a device file, a test pattern written
// through BAR0 (and through an mmap of it) read back as a PNG, the plane query, the instance budget, no fd leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Host } from '../../base/host.js';
import { mmap, munmap } from '../../native/index.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { VfioError } from '../../uapi/errno.js';
import { VFIO_DEVICE_GET_INFO, VFIO_DEVICE_QUERY_GFX_PLANE, VFIO_DEVICE_RESET } from '../../uapi/ioctl.js';
import { decodeVfioDeviceInfo } from '../../uapi/device-info.js';
import { VFIO_GFX_PLANE_TYPE_PROBE, VFIO_GFX_PLANE_TYPE_REGION, VFIO_GFX_PLANE_TYPE_DMABUF, decodeVfioDeviceGfxPlaneInfo } from '../../uapi/gfx-plane.js';
import { VFIO_REGION_INFO_FLAG_MMAP, VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE } from '../../uapi/region-info.js';
import { vfioConfigure } from '../../vfio/core-state.js';
import { deviceFileMmap, deviceFileRelease, openDeviceFile } from '../../vfio/device-file.js';
import type { VfioDeviceFile } from '../../vfio/device-file.js';
import { MDEV_NO_INSTANCES_ERRNO, mdevCreate, mdevParentType, mdevRemove, mdevVfioDevice } from '../../mdev/index.js';
import type { MdevSample } from '../../mdev/sample-parent.js';
import { pciEmuIndexToOffset } from '../../emu/regions.js';
import { fileIoctl } from '../../emu/test-device.test-kit.js';
import { DRM_FORMAT_XRGB8888, MdpyState, mdpyRegister, screenshot } from './index.js';
import { decodePng, openFdCount, pixel, readRegion, readU32, regionInfo, u32le, writeRegion } from './display.test-kit.js';

const UUID = (n: number): string => `0000000${n}-0000-4000-8000-00000000000${n}`;
const RW = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;

/** A host with the mdpy sample; `open` files are closed before the sample unregisters (after hooks run in order). */
function setup(t: { after(fn: () => unknown): void }, maxDevices?: number): { host: Host; sample: MdevSample; open: (dev: MdpyState) => VfioDeviceFile } {
  const mark = sanitizer.mark();
  const host = new Host();
  vfioConfigure(host, { requestIntervalMs: 10 });
  const sample = mdpyRegister(host, maxDevices === undefined ? {} : { maxDevices });
  const files: VfioDeviceFile[] = [];
  t.after(async () => {
    for (const f of files) deviceFileRelease(f);
    await sample.unregister();
    sanitizer.assertNoLeaks(mark);
  });
  const open = (dev: MdpyState): VfioDeviceFile => {
    const f = openDeviceFile(dev);
    files.push(f);
    return f;
  };
  return { host, sample, open };
}

function mdpyOf(sample: MdevSample, type: string, n: number): MdpyState {
  const t = mdevParentType(sample.parent, type);
  assert.ok(t);
  const vdev = mdevVfioDevice(mdevCreate(t, UUID(n)));
  assert.ok(vdev instanceof MdpyState);
  return vdev;
}

test('mdpy types in sysfs as the sample: names, descriptions, device_api, 4 instances shared', (t) => {
  const { host } = setup(t);
  const base = '/sys/devices/virtual/mdpy/mdpy/mdev_supported_types';
  assert.deepEqual(host.sysfs.ls(base), ['mdpy-hd', 'mdpy-vga', 'mdpy-xga']);
  assert.equal(host.sysfs.read(`${base}/mdpy-vga/name`), 'mdpy-vga\n');
  assert.equal(host.sysfs.read(`${base}/mdpy-xga/description`), 'virtual display, 1024x768 framebuffer\n');
  assert.equal(host.sysfs.read(`${base}/mdpy-hd/device_api`), 'vfio-pci\n');
  assert.equal(host.sysfs.read(`${base}/mdpy-hd/available_instances`), '4\n');
  host.sysfs.write(`${base}/mdpy-hd/create`, `${UUID(1)}\n`);
  assert.equal(host.sysfs.read(`${base}/mdpy-vga/available_instances`), '3\n');
  assert.equal(host.sysfs.readlink(`/sys/devices/virtual/mdpy/mdpy/${UUID(1)}/mdev_type`), `/sys${base.slice(4)}/mdpy-hd`);
});

test('config space, device and region info bytes as mdpy.c builds them', (t) => {
  const { sample, open } = setup(t);
  const dev = mdpyOf(sample, 'vga', 1);
  const df = open(dev);
  const cfg = readRegion(df, 7, 0, 0x50);
  assert.deepEqual([...cfg.subarray(0, 4)], [0x36, 0x1b, 0x0f, 0x00], 'vendor 1b36 device 000f');
  assert.equal(readU32(cfg, 0x04), 0x0010_0003, 'COMMAND io|memory, STATUS cap list');
  assert.equal(readU32(cfg, 0x08), 0x0380_0001, 'class display/other, revision 1');
  assert.equal(readU32(cfg, 0x10), 0x0000_0008, 'BAR0: 32-bit prefetchable memory');
  assert.equal(readU32(cfg, 0x2c), 0x1100_1af4, 'subsystem 1af4:1100');
  assert.equal(cfg[0x34], 0x40, 'capability list at MDPY_VENDORCAP_OFFSET');
  assert.equal(cfg[0x3d], 0, 'no interrupt pin');
  assert.deepEqual([...cfg.subarray(0x40, 0x43)], [0x09, 0x00, 0x10], 'vendor cap, last, 16 bytes');
  assert.equal(readU32(cfg, 0x44), DRM_FORMAT_XRGB8888);
  assert.equal(readU32(cfg, 0x48), 640);
  assert.equal(readU32(cfg, 0x4c), 480);
  // BAR sizing: 640x480x4 = 1228800 bytes, rounded up to 2 MiB.
  writeRegion(df, 7, 0x10, u32le(0xffffffff));
  assert.equal(readU32(readRegion(df, 7, 0x10, 4)), 0xffe00008);
  writeRegion(df, 7, 0x10, u32le(0xfe000000));
  assert.equal(readU32(readRegion(df, 7, 0x10, 4)), 0xfe000008);

  const info = new Uint8Array(24);
  new DataView(info.buffer).setUint32(0, 24, true);
  fileIoctl(df, VFIO_DEVICE_GET_INFO, info);
  const di = decodeVfioDeviceInfo(info);
  assert.equal(di.numIrqs, 5);
  const bar0 = regionInfo(df, 0).info;
  assert.deepEqual(bar0, { argsz: 32, flags: RW | VFIO_REGION_INFO_FLAG_MMAP, index: 0, capOffset: 0, size: 0x200000n, offset: BigInt(pciEmuIndexToOffset(0)) });
  const display = regionInfo(df, 16).info;
  assert.equal(display.size, 0x200000n);
  assert.equal(display.flags, RW | VFIO_REGION_INFO_FLAG_MMAP);
  assert.deepEqual(regionInfo(df, 1).info.size, 0n, 'unimplemented BAR: size 0');
  assert.equal(regionInfo(df, 1).info.flags, 0);
  assert.equal(regionInfo(df, 7).info.flags, RW);
});

test('a test pattern written through BAR0 and through an mmap of it comes back in the PNG', (t) => {
  const { sample, open } = setup(t);
  const dev = mdpyOf(sample, 'vga', 1);
  const df = open(dev);
  // Power-on: a gray gradient, black at the top.
  let img = decodePng(screenshot(dev));
  assert.equal(img.width, 640);
  assert.equal(img.height, 480);
  assert.deepEqual(pixel(img, 10, 0), [0, 0, 0, 255]);
  assert.deepEqual(pixel(img, 10, 240), [127, 127, 127, 255]);
  // Row 0 red, row 1 green (XRGB8888 little-endian: B, G, R, X), through pwrite on the BAR.
  const stride = 640 * 4;
  const row = (b: number, g: number, r: number): Uint8Array => {
    const line = new Uint8Array(stride);
    for (let x = 0; x < 640; x++) line.set([b, g, r, 0], x * 4);
    return line;
  };
  writeRegion(df, 0, 0, row(0, 0, 255));
  writeRegion(df, 0, stride, row(0, 255, 0));
  // A blue square at (100..109, 200..209) through a shared mapping of BAR0, as a VMM maps it.
  const { fd, offset } = deviceFileMmap(df, pciEmuIndexToOffset(0), 0x200000, true);
  const map = new Uint8Array(mmap(fd, offset, 0x200000, true));
  for (let y = 200; y < 210; y++) for (let x = 100; x < 110; x++) map.set([255, 0, 0, 0], y * stride + x * 4);
  munmap(map.buffer);
  img = decodePng(screenshot(dev));
  assert.deepEqual(pixel(img, 0, 0), [255, 0, 0, 255]);
  assert.deepEqual(pixel(img, 639, 1), [0, 255, 0, 255]);
  assert.deepEqual(pixel(img, 105, 205), [0, 0, 255, 255]);
  assert.deepEqual(pixel(img, 110, 205), [Math.floor((205 * 255) / 480), Math.floor((205 * 255) / 480), Math.floor((205 * 255) / 480), 255]);
  assert.deepEqual([...readRegion(df, 0, 205 * stride + 105 * 4, 4)], [255, 0, 0, 0], 'BAR reads see the mapping');
  // VFIO_DEVICE_RESET brings the gradient back.
  fileIoctl(df, VFIO_DEVICE_RESET, new Uint8Array(0));
  assert.deepEqual(pixel(decodePng(screenshot(dev)), 0, 0), [0, 0, 0, 255]);
  assert.throws(() => deviceFileMmap(df, pciEmuIndexToOffset(0), 0x201000, true), (e: unknown) => VfioError.is(e, 'EINVAL'));
});

test('QUERY_GFX_PLANE: region planes only, the display region with the type geometry', (t) => {
  const { sample, open } = setup(t);
  const dev = mdpyOf(sample, 'xga', 1);
  const df = open(dev);
  const plane = (flags: number): Uint8Array => {
    const b = new Uint8Array(64);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, 64, true);
    dv.setUint32(4, flags, true);
    dv.setUint32(8, 1, true);
    return b;
  };
  assert.equal(fileIoctl(df, VFIO_DEVICE_QUERY_GFX_PLANE, plane(VFIO_GFX_PLANE_TYPE_PROBE | VFIO_GFX_PLANE_TYPE_REGION)), 0);
  assert.throws(() => fileIoctl(df, VFIO_DEVICE_QUERY_GFX_PLANE, plane(VFIO_GFX_PLANE_TYPE_PROBE | VFIO_GFX_PLANE_TYPE_DMABUF)), (e: unknown) => VfioError.is(e, 'EINVAL'));
  const b = plane(VFIO_GFX_PLANE_TYPE_REGION);
  fileIoctl(df, VFIO_DEVICE_QUERY_GFX_PLANE, b);
  const p = decodeVfioDeviceGfxPlaneInfo(b);
  assert.deepEqual([p.drmFormat, p.width, p.height, p.stride, p.size, p.regionIndex], [DRM_FORMAT_XRGB8888, 1024, 768, 4096, 0x400000, 16]);
});

test('budget: max_instances across types, the core errno past it, removal returns it; no fd leaks', async (t) => {
  const { sample } = setup(t, 2);
  const vga = mdevParentType(sample.parent, 'vga');
  const hd = mdevParentType(sample.parent, 'hd');
  assert.ok(vga && hd);
  const fds = openFdCount();
  const a = mdevCreate(vga, UUID(1));
  mdevCreate(hd, UUID(2));
  assert.equal(openFdCount(), fds + 2, 'one memfd per device');
  assert.equal(hd.availableInstances(), 0);
  assert.throws(() => mdevCreate(hd, UUID(3)), (e: unknown) => VfioError.is(e, MDEV_NO_INSTANCES_ERRNO));
  await mdevRemove(a);
  assert.equal(openFdCount(), fds + 1, 'release closed the memfd');
  assert.equal(vga.availableInstances(), 1);
  mdevCreate(vga, UUID(3));
  await sample.unregister();
  assert.equal(openFdCount(), fds);
});
