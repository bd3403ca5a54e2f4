// mbochs's QUERY_GFX_PLANE and GET_GFX_DMABUF through a process's device fd, as QEMU's display uses them
// (mbochs_query_gfx_plane, mbochs_get_gfx_dmabuf): probe, zeros while nothing is shown, a stable id per mode,
// the dmabuf fd holding the scanout's pixels, ENOENT for an unknown id, ids forgotten at the last close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Host } from '../../base/host.js';
import { mmap, munmap } from '../../native/index.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { VfioError } from '../../uapi/errno.js';
import {
  DRM_PLANE_TYPE_CURSOR,
  DRM_PLANE_TYPE_PRIMARY,
  VFIO_GFX_PLANE_TYPE_DMABUF,
  VFIO_GFX_PLANE_TYPE_PROBE,
  VFIO_GFX_PLANE_TYPE_REGION,
  decodeVfioDeviceGfxPlaneInfo,
} from '../../uapi/gfx-plane.js';
import { VFIO_DEVICE_GET_GFX_DMABUF, VFIO_DEVICE_QUERY_GFX_PLANE } from '../../uapi/ioctl.js';
import { vfioConfigure } from '../../vfio/core-state.js';
import { VfioProcess } from '../../vfio/vfio-process.js';
import { openViaGroup, u32s } from '../../vfio/uapi.test-kit.js';
import { mdevCreate, mdevParentType, mdevVfioDevice } from '../../mdev/index.js';
import { pciEmuIndexToOffset } from '../../emu/regions.js';
import { planeArg } from '../../emu/gfx.test-kit.js';
import { openFdCount } from '../mdpy/display.test-kit.js';
import { DRM_FORMAT_XRGB8888 } from '../../emu/framebuffer-png.js';
import { VBE_DISPI_ENABLED, VBE_DISPI_INDEX_BPP, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_INDEX_XRES, VBE_DISPI_INDEX_YRES, VBE_DISPI_INDEX_Y_OFFSET, VBE_DISPI_LFB_ENABLED } from '../../hw/bochs-dispi.js';
import { MbochsState, mbochsRegister } from './index.js';

test('mbochs answers QUERY_GFX_PLANE with dmabuf planes and GET_GFX_DMABUF with an fd of the scanout', async (t) => {
  const mark = sanitizer.mark();
  const fds = openFdCount();
  const host = new Host();
  vfioConfigure(host, { requestIntervalMs: 10 });
  const sample = mbochsRegister(host);
  const proc = new VfioProcess(host);
  t.after(async () => {
    proc.closeAll();
    await sample.unregister();
    assert.equal(openFdCount(), fds);
    sanitizer.assertNoLeaks(mark);
  });
  const type = mdevParentType(sample.parent, 'small');
  assert.ok(type);
  const dev = mdevVfioDevice(mdevCreate(type, '00000001-0000-4000-8000-000000000001'));
  assert.ok(dev instanceof MbochsState);
  let { device } = openViaGroup(proc, dev);
  const dispi = (index: number, value: number): void => {
    proc.pwrite(device, new Uint8Array(new Uint16Array([value]).buffer), pciEmuIndexToOffset(2) + 0x500 + index * 2);
  };
  const query = (flags: number, type = DRM_PLANE_TYPE_PRIMARY) => {
    const arg = planeArg(flags, type);
    assert.equal(proc.ioctl(device, VFIO_DEVICE_QUERY_GFX_PLANE, arg), 0);
    return decodeVfioDeviceGfxPlaneInfo(arg);
  };
  query(VFIO_GFX_PLANE_TYPE_PROBE | VFIO_GFX_PLANE_TYPE_DMABUF);
  assert.throws(() => query(VFIO_GFX_PLANE_TYPE_PROBE | VFIO_GFX_PLANE_TYPE_REGION), (e: unknown) => VfioError.is(e, 'EINVAL'));
  assert.throws(() => query(VFIO_GFX_PLANE_TYPE_REGION), (e: unknown) => VfioError.is(e, 'EINVAL'));
  let p = query(VFIO_GFX_PLANE_TYPE_DMABUF);
  assert.deepEqual([p.drmFormat, p.width, p.regionIndex], [0, 0, 0], 'nothing shown yet: zeros, id 0');
  dispi(VBE_DISPI_INDEX_XRES, 64);
  dispi(VBE_DISPI_INDEX_YRES, 64);
  dispi(VBE_DISPI_INDEX_BPP, 32);
  dispi(VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED);
  const frame = new Uint8Array(64 * 4 * 80);
  for (let i = 0; i < frame.length; i += 4) frame.set([i & 0xff, 1, 2, 0], i);
  proc.pwrite(device, frame, pciEmuIndexToOffset(0));
  p = query(VFIO_GFX_PLANE_TYPE_DMABUF);
  assert.deepEqual([p.drmFormat, p.width, p.height, p.stride, p.size, p.regionIndex], [DRM_FORMAT_XRGB8888, 64, 64, 256, 16384, 1]);
  assert.equal(query(VFIO_GFX_PLANE_TYPE_DMABUF).regionIndex, 1, 'the same mode keeps its id');
  assert.equal(query(VFIO_GFX_PLANE_TYPE_DMABUF, DRM_PLANE_TYPE_CURSOR).regionIndex, 0, 'no cursor plane');
  const fd = proc.ioctl(device, VFIO_DEVICE_GET_GFX_DMABUF, u32s(1));
  assert.ok(proc.fds().includes(fd), "an fd of the calling process's table");
  assert.throws(() => proc.mmap(fd, 0, 16384 + 4096, false), (e: unknown) => VfioError.is(e, 'EINVAL'), 'four pages, no more');
  const at = proc.mmap(fd, 0, 16384, false);
  const map = mmap(at.fd, at.offset, 16384, false);
  assert.deepEqual(new Uint8Array(map), frame.subarray(0, 16384), 'the dmabuf holds the scanout');
  munmap(map);
  proc.close(fd);
  // 16 lines of 256 bytes: the panned plane starts on a page (mbochs_dmabuf_alloc takes the pages from
  // offset >> PAGE_SHIFT, so an offset inside a page would not be kept).
  dispi(VBE_DISPI_INDEX_Y_OFFSET, 16);
  p = query(VFIO_GFX_PLANE_TYPE_DMABUF);
  assert.equal(p.regionIndex, 2, 'panning is another buffer');
  const fd2 = proc.ioctl(device, VFIO_DEVICE_GET_GFX_DMABUF, u32s(2));
  const at2 = proc.mmap(fd2, 0, 16384, false);
  const map2 = mmap(at2.fd, at2.offset, 16384, false);
  assert.deepEqual(new Uint8Array(map2), frame.subarray(16 * 256, 16 * 256 + 16384), 'the VRAM pages from the panned start');
  munmap(map2);
  proc.close(fd2);
  assert.throws(() => proc.ioctl(device, VFIO_DEVICE_GET_GFX_DMABUF, u32s(7)), (e: unknown) => VfioError.is(e, 'ENOENT'));
  assert.throws(() => proc.ioctl(device, VFIO_DEVICE_GET_GFX_DMABUF, new Uint8Array(2)), (e: unknown) => VfioError.is(e, 'EFAULT'));
  proc.closeAll();
  ({ device } = openViaGroup(proc, dev));
  assert.throws(() => proc.ioctl(device, VFIO_DEVICE_GET_GFX_DMABUF, u32s(1)), (e: unknown) => VfioError.is(e, 'ENOENT'), 'the last close forgot the buffers');
});
