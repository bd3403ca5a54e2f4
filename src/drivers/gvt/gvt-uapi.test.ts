// A vGPU through a process's device fd (VFIO group path), as QEMU's vfio-pci uses it: GET_INFO, the BARs and the
// OpRegion and EDID regions with their type caps, the PVINFO page and the GTT in BAR0, the aperture slice, config
// space ids, INTx and MSI from a page flip, QUERY_GFX_PLANE / GET_GFX_DMABUF and the screenshot of the plane.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { close, eventfd, mmap, munmap } from '../../native/index.js';
import { VfioError } from '../../uapi/errno.js';
import { VFIO_DEVICE_FLAGS_PCI, decodeVfioDeviceInfo } from '../../uapi/device-info.js';
import { VFIO_DEVICE_GET_GFX_DMABUF, VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_IRQ_INFO, VFIO_DEVICE_GET_REGION_INFO, VFIO_DEVICE_QUERY_GFX_PLANE, VFIO_DEVICE_RESET, VFIO_DEVICE_SET_IRQS } from '../../uapi/ioctl.js';
import { decodeVfioIrqInfo, encodeVfioIrqInfo } from '../../uapi/irq-info.js';
import { VFIO_IRQ_SET_ACTION_TRIGGER, encodeVfioIrqSet, vfioIrqSetOfEventfds, vfioIrqSetOfNone } from '../../uapi/irq-set.js';
import { findVfioInfoCap } from '../../uapi/caps.js';
import {
  VFIO_REGION_INFO_CAP_SPARSE_MMAP,
  VFIO_REGION_INFO_CAP_TYPE,
  VFIO_REGION_SUBTYPE_GFX_EDID,
  VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION,
  VFIO_REGION_TYPE_GFX,
  VFIO_REGION_TYPE_PCI_VENDOR_TYPE,
  decodeVfioRegionCapSparseMmap,
  decodeVfioRegionCapType,
  decodeVfioRegionGfxEdid,
} from '../../uapi/region-caps.js';
import { VFIO_REGION_INFO_FLAG_MMAP, VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE, decodeVfioRegionInfo, encodeVfioRegionInfo } from '../../uapi/region-info.js';
import { DRM_PLANE_TYPE_CURSOR, VFIO_GFX_PLANE_TYPE_DMABUF, VFIO_GFX_PLANE_TYPE_PROBE, VFIO_GFX_PLANE_TYPE_REGION, decodeVfioDeviceGfxPlaneInfo } from '../../uapi/gfx-plane.js';
import { VfioProcess } from '../../vfio/vfio-process.js';
import { openViaGroup, u32s } from '../../vfio/uapi.test-kit.js';
import { pciEmuIndexToOffset } from '../../emu/regions.js';
import { planeArg } from '../../emu/gfx.test-kit.js';
import { fired } from '../../emu/irq.test-kit.js';
import { generateEdid } from '../../hw/edid.js';
import { programPlane } from '../../hw/i915/i915.test-kit.js';
import {
  DRM_FORMAT_XRGB8888,
  GEN8_DE_PIPE_IER,
  GEN8_DE_PIPE_IIR,
  GEN8_DE_PIPE_IMR,
  GEN8_MASTER_IRQ,
  GEN8_MASTER_IRQ_CONTROL,
  GEN9_PIPE_PLANE1_FLIP_DONE,
  I915_GTT_OFFSET,
  PLANE_SURF,
  VGTIF,
  VGT_PVINFO_PAGE,
} from '../../hw/i915/i915-regs.js';
import { decodePng, pixel } from '../mdpy/display.test-kit.js';
import { gvtBed } from './gvt.test-kit.js';
import { GVT_EDID_REGION_INDEX, GVT_OPREGION_REGION_INDEX, OPREGION_SIGNATURE, driver } from './index.js';

const MIB = 1 << 20;

function regionInfo(proc: VfioProcess, fd: number, index: number) {
  const bytes = new Uint8Array(256);
  encodeVfioRegionInfo({ argsz: 256, flags: 0, index, capOffset: 0, size: 0n, offset: 0n }, bytes.subarray(0, 32));
  proc.ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, bytes);
  const info = decodeVfioRegionInfo(bytes);
  const typeCap = findVfioInfoCap(bytes, info.capOffset, VFIO_REGION_INFO_CAP_TYPE);
  const sparse = findVfioInfoCap(bytes, info.capOffset, VFIO_REGION_INFO_CAP_SPARSE_MMAP);
  return { info, type: typeCap === undefined ? null : decodeVfioRegionCapType(typeCap.data), areas: sparse === undefined ? null : decodeVfioRegionCapSparseMmap(sparse.data) };
}

/** A BAR0 register of the vGPU through pread/pwrite of the device fd. */
function bar0(proc: VfioProcess, fd: number) {
  return {
    read: (off: number): number => {
      const b = new Uint8Array(4);
      proc.pread(fd, b, pciEmuIndexToOffset(0) + off);
      return new DataView(b.buffer).getUint32(0, true);
    },
    write: (off: number, v: number): void => {
      proc.pwrite(fd, u32s(v >>> 0), pciEmuIndexToOffset(0) + off);
    },
  };
}

test('a vGPU over its device fd: info, regions with the OpRegion and EDID caps, PVINFO, GTT, aperture, config ids', (t) => {
  const bed = gvtBed(t, { apertureMb: 512, hiddenMb: 2048 });
  const { vgpu } = bed.create('GVTg_V5_4', 1);
  const proc = bed.process();
  const { device: fd } = openViaGroup(proc, vgpu);
  const info = new Uint8Array(24);
  new DataView(info.buffer).setUint32(0, 24, true);
  proc.ioctl(fd, VFIO_DEVICE_GET_INFO, info);
  const di = decodeVfioDeviceInfo(info);
  assert.equal(di.flags & VFIO_DEVICE_FLAGS_PCI, VFIO_DEVICE_FLAGS_PCI);
  assert.equal(di.numRegions, 11, 'nine PCI regions, the OpRegion and EDID');
  const b0 = regionInfo(proc, fd, 0);
  assert.deepEqual([b0.info.size, b0.info.flags & VFIO_REGION_INFO_FLAG_MMAP], [16n * BigInt(MIB), 0]);
  const b2 = regionInfo(proc, fd, 2);
  const res = vgpu.live().res;
  assert.equal(b2.info.size, 512n * BigInt(MIB), 'BAR2 is the whole aperture');
  assert.deepEqual(b2.areas, [{ offset: BigInt(res.lowBase), size: 128n * BigInt(MIB) }], 'only the vGPU\'s slice maps');
  const op = regionInfo(proc, fd, GVT_OPREGION_REGION_INDEX);
  assert.deepEqual([op.info.size, op.info.flags & (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP)], [8192n, VFIO_REGION_INFO_FLAG_READ]);
  assert.deepEqual(op.type, { type: (VFIO_REGION_TYPE_PCI_VENDOR_TYPE | 0x8086) >>> 0, subtype: VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION });
  const sig = new Uint8Array(16);
  proc.pread(fd, sig, pciEmuIndexToOffset(GVT_OPREGION_REGION_INDEX));
  assert.equal(Buffer.from(sig).toString('latin1'), OPREGION_SIGNATURE);
  assert.throws(() => proc.pwrite(fd, sig, pciEmuIndexToOffset(GVT_OPREGION_REGION_INDEX)), (e: unknown) => VfioError.is(e, 'EINVAL'), 'read-only');
  const ed = regionInfo(proc, fd, GVT_EDID_REGION_INDEX);
  assert.deepEqual(ed.type, { type: VFIO_REGION_TYPE_GFX, subtype: VFIO_REGION_SUBTYPE_GFX_EDID });
  assert.equal(ed.info.flags & (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE), VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE);
  const regs = new Uint8Array(24);
  proc.pread(fd, regs, pciEmuIndexToOffset(GVT_EDID_REGION_INDEX));
  assert.deepEqual(decodeVfioRegionGfxEdid(regs), { edidOffset: 0x800, edidMaxSize: 128, edidSize: 0, maxXres: 1920, maxYres: 1200, linkState: 0 });
  const edid = generateEdid({ width: 1280, height: 1024 });
  proc.pwrite(fd, edid, pciEmuIndexToOffset(GVT_EDID_REGION_INDEX) + 0x800);
  const back = new Uint8Array(128);
  proc.pread(fd, back, pciEmuIndexToOffset(GVT_EDID_REGION_INDEX) + 0x800);
  assert.deepEqual(back, edid);
  // Config space: Intel VGA with the physical GPU's device id.
  const cfg = new Uint8Array(12);
  proc.pread(fd, cfg, pciEmuIndexToOffset(7));
  const c = new DataView(cfg.buffer);
  assert.deepEqual([c.getUint16(0, true), c.getUint16(2, true), c.getUint16(10, true)], [0x8086, 0x5912, 0x0300]);
  // BAR0: the PVINFO page a guest i915 checks, read-only in its top half.
  const r = bar0(proc, fd);
  assert.deepEqual([r.read(VGT_PVINFO_PAGE), r.read(VGT_PVINFO_PAGE + 4)], [0x76544776, 0x47765447], "VGT_MAGIC 'vGTvGTvG'");
  assert.equal(r.read(VGT_PVINFO_PAGE + VGTIF.vgtId), res.id);
  assert.deepEqual(
    [VGTIF.mappableBase, VGTIF.mappableSize, VGTIF.nonmappableBase, VGTIF.nonmappableSize, VGTIF.fenceNum].map((o) => r.read(VGT_PVINFO_PAGE + o)),
    [res.lowBase, res.lowSize, res.highBase, res.highSize, 4],
  );
  r.write(VGT_PVINFO_PAGE + VGTIF.fenceNum, 32);
  assert.equal(r.read(VGT_PVINFO_PAGE + VGTIF.fenceNum), 4, 'the host half is read-only');
  r.write(VGT_PVINFO_PAGE + VGTIF.displayReady, 1);
  assert.equal(r.read(VGT_PVINFO_PAGE + VGTIF.displayReady), 1);
  // GTT entries: the vGPU's own pages take writes, others' stay 0.
  const own = I915_GTT_OFFSET + (res.lowBase / 4096) * 8;
  r.write(own, 0x1234f003);
  assert.equal(r.read(own), 0x1234f003);
  r.write(I915_GTT_OFFSET, 0x5003);
  assert.equal(r.read(I915_GTT_OFFSET), 0, 'the host\'s GTT entries are not the vGPU\'s');
  // The aperture: inside the slice it is graphics memory; outside it is EINVAL.
  proc.pwrite(fd, Uint8Array.of(0xaa, 0xbb), pciEmuIndexToOffset(2) + res.lowBase + 16);
  const gm = new Uint8Array(2);
  vgpu.live().gpu.gmRead(res.lowBase + 16, gm);
  assert.deepEqual([...gm], [0xaa, 0xbb]);
  assert.throws(() => proc.pread(fd, gm, pciEmuIndexToOffset(2)), (e: unknown) => VfioError.is(e, 'EINVAL'));
  const m = proc.mmap(fd, pciEmuIndexToOffset(2) + res.lowBase, 4096, true);
  assert.equal(m.offset, res.lowBase, 'the mapping is the aperture page itself');
  assert.throws(() => proc.mmap(fd, pciEmuIndexToOffset(2), 4096, true), (e: unknown) => VfioError.is(e, 'EINVAL'));
});

test('a page flip interrupts through INTx or MSI; the plane comes back from QUERY_GFX_PLANE, GET_GFX_DMABUF and screenshot', (t) => {
  const bed = gvtBed(t);
  const { vgpu } = bed.create('GVTg_V5_8', 1);
  const proc = bed.process();
  const efd = eventfd();
  const { device: fd } = openViaGroup(proc, vgpu);
  const irqInfo = (index: number) => {
    const b = encodeVfioIrqInfo({ argsz: 16, flags: 0, index, count: 0 });
    proc.ioctl(fd, VFIO_DEVICE_GET_IRQ_INFO, b);
    return decodeVfioIrqInfo(b).count;
  };
  assert.deepEqual([irqInfo(0), irqInfo(1), irqInfo(2)], [1, 1, 0], 'INTx, one MSI vector, no MSI-X');
  const r = bar0(proc, fd);
  const res = vgpu.live().res;
  const query = (flags: number, type?: number) => {
    const arg = planeArg(flags, type);
    assert.equal(proc.ioctl(fd, VFIO_DEVICE_QUERY_GFX_PLANE, arg), 0);
    return decodeVfioDeviceGfxPlaneInfo(arg);
  };
  query(VFIO_GFX_PLANE_TYPE_PROBE | VFIO_GFX_PLANE_TYPE_DMABUF);
  assert.throws(() => query(VFIO_GFX_PLANE_TYPE_PROBE | VFIO_GFX_PLANE_TYPE_REGION), (e: unknown) => VfioError.is(e, 'EINVAL'));
  assert.throws(() => query(0), (e: unknown) => VfioError.is(e, 'EINVAL'));
  assert.equal(query(VFIO_GFX_PLANE_TYPE_DMABUF).drmFormat, 0, 'no plane yet: answered 0, nothing filled in');
  assert.throws(() => driver.screenshot?.(vgpu), (e: unknown) => VfioError.is(e, 'ENODATA'));
  // INTx first: unmask FLIP_DONE, master on, then the guest programs a 64x48 plane in its aperture.
  proc.ioctl(fd, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfEventfds(0, 0, [efd])));
  r.write(GEN8_DE_PIPE_IER(0), GEN9_PIPE_PLANE1_FLIP_DONE);
  r.write(GEN8_DE_PIPE_IMR(0), ~GEN9_PIPE_PLANE1_FLIP_DONE);
  r.write(GEN8_MASTER_IRQ, GEN8_MASTER_IRQ_CONTROL);
  const surf = res.lowBase + 0x10000;
  const stride = 256;
  const frame = new Uint8Array(stride * 48);
  for (let y = 0; y < 48; y++) for (let x = 0; x < 64; x++) frame.set([x * 4, y * 5, 0x40, 0], y * stride + x * 4);
  proc.pwrite(fd, frame, pciEmuIndexToOffset(2) + surf);
  programPlane(r, 0, surf, 64, 48);
  assert.equal(fired(efd), 1, 'INTx on the flip');
  r.write(GEN8_DE_PIPE_IIR(0), GEN9_PIPE_PLANE1_FLIP_DONE);
  // Then MSI (INTx off first, as QEMU does): the next flip is one message.
  proc.ioctl(fd, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfNone(0, 0, 0, VFIO_IRQ_SET_ACTION_TRIGGER)));
  proc.ioctl(fd, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfEventfds(1, 0, [efd])));
  r.write(PLANE_SURF(0), surf);
  assert.equal(fired(efd), 1, 'MSI on the flip');
  const p = query(VFIO_GFX_PLANE_TYPE_DMABUF);
  assert.deepEqual(
    [p.drmFormat, p.width, p.height, p.stride, p.size, p.xHot >>> 0, p.regionIndex],
    [DRM_FORMAT_XRGB8888, 64, 48, 256, stride * 48, 0xffffffff, 1],
  );
  assert.equal(query(VFIO_GFX_PLANE_TYPE_DMABUF).regionIndex, 1, 'the same plane, the same id');
  assert.equal(query(VFIO_GFX_PLANE_TYPE_DMABUF, DRM_PLANE_TYPE_CURSOR).regionIndex, 0, 'no cursor: answered 0');
  assert.throws(() => query(VFIO_GFX_PLANE_TYPE_DMABUF, 7), (e: unknown) => VfioError.is(e, 'EINVAL'));
  const dmabuf = proc.ioctl(fd, VFIO_DEVICE_GET_GFX_DMABUF, u32s(1));
  assert.ok(proc.fds().includes(dmabuf), "dma_buf_fd: an fd of the calling process's table");
  assert.throws(() => proc.mmap(dmabuf, 0, 12288 + 4096, false), (e: unknown) => VfioError.is(e, 'EINVAL'), 'three pages, no more');
  const at = proc.mmap(dmabuf, 0, 12288, false);
  const map = mmap(at.fd, at.offset, 12288, false);
  assert.deepEqual(new Uint8Array(map, 0, frame.length), frame, 'the dmabuf holds the plane');
  // The dmabuf is the plane's graphics memory itself, not a copy: what the guest draws next shows through it.
  proc.pwrite(fd, Uint8Array.of(1, 2, 3, 4), pciEmuIndexToOffset(2) + surf + 8);
  assert.deepEqual([...new Uint8Array(map, 8, 4)], [1, 2, 3, 4]);
  munmap(map);
  proc.close(dmabuf);
  assert.throws(() => proc.ioctl(fd, VFIO_DEVICE_GET_GFX_DMABUF, u32s(9)), (e: unknown) => VfioError.is(e, 'EINVAL'));
  const img = decodePng(driver.screenshot?.(vgpu) ?? Buffer.alloc(0));
  assert.deepEqual([img.width, img.height], [64, 48]);
  assert.deepEqual(pixel(img, 10, 20), [0x40, 100, 40, 255]);
  // A surface outside the vGPU's memory is refused (EFAULT), as intel_gvt_ggtt_validate_range does.
  r.write(PLANE_SURF(0), 0x1000);
  assert.throws(() => query(VFIO_GFX_PLANE_TYPE_DMABUF), (e: unknown) => VfioError.is(e, 'EFAULT'));
  // Reset: the virtual display goes off.
  proc.ioctl(fd, VFIO_DEVICE_RESET);
  assert.equal(query(VFIO_GFX_PLANE_TYPE_DMABUF).regionIndex, 0);
  proc.closeAll();
  close(efd);
});
