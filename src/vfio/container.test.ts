// The container file (container.c + vfio_iommu_type1_ioctl): API version, extensions, SET_IOMMU rules, type1 ioctls
// through raw structs with the kernel's errno, GET_INFO's argsz rule, DIRTY_PAGES, container life time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  VFIO_CHECK_EXTENSION,
  VFIO_DMA_CC_IOMMU,
  VFIO_GET_API_VERSION,
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_GROUP_SET_CONTAINER,
  VFIO_GROUP_UNSET_CONTAINER,
  VFIO_IOMMU_DIRTY_PAGES,
  VFIO_IOMMU_ENABLE,
  VFIO_IOMMU_GET_INFO,
  VFIO_IOMMU_MAP_DMA,
  VFIO_IOMMU_UNMAP_DMA,
  VFIO_NOIOMMU_IOMMU,
  VFIO_SET_IOMMU,
  VFIO_TYPE1_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  VFIO_UNMAP_ALL,
  VFIO_UPDATE_VADDR,
} from '../uapi/ioctl.js';
import {
  VFIO_DMA_MAP_FLAG_READ,
  VFIO_DMA_MAP_FLAG_WRITE,
  VFIO_DMA_UNMAP_FLAG_ALL,
  VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
  VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
  VFIO_IOMMU_DIRTY_PAGES_FLAG_START,
  VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP,
  VFIO_IOMMU_INFO_CAPS,
  VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION,
  encodeVfioIommuType1DmaMap,
  encodeVfioIommuType1DmaUnmap,
} from '../uapi/iommu-type1.js';
import { parseVfioInfoCaps } from '../uapi/caps.js';
import { cstr, errno, groupPath, makeKit, u32s, view } from './uapi.test-kit.js';
import { vfioDmaRw } from './dma-access.js';

const RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
const VA = 0x10000000n;

function mapArg(iova: bigint, size: bigint, flags = RW, vaddr = VA, argsz = 32): Uint8Array {
  return encodeVfioIommuType1DmaMap({ argsz, flags, vaddr, iova, size });
}

function containerWithGroup(k: ReturnType<typeof makeKit>): { c: number; g: number } {
  const g = k.proc.open(groupPath(k.dev));
  const c = k.proc.open('/dev/vfio/vfio');
  k.proc.ioctl(g, VFIO_GROUP_SET_CONTAINER, u32s(c));
  return { c, g };
}

test('API version and extensions before SET_IOMMU: type1 types and UNMAP_ALL only', async () => {
  const k = makeKit();
  const c = k.proc.open('/dev/vfio/vfio');
  assert.equal(c, 3, 'first fd is 3');
  assert.equal(k.proc.ioctl(c, VFIO_GET_API_VERSION), 0);
  const table: [number, number][] = [
    [VFIO_TYPE1_IOMMU, 1],
    [VFIO_TYPE1v2_IOMMU, 1],
    [VFIO_UNMAP_ALL, 1],
    [VFIO_UPDATE_VADDR, 0],
    [VFIO_DMA_CC_IOMMU, 0],
    [VFIO_NOIOMMU_IOMMU, 0],
    [12345, 0],
  ];
  for (const [ext, want] of table) assert.equal(k.proc.ioctl(c, VFIO_CHECK_EXTENSION, ext), want, `extension ${ext}`);
  assert.equal(k.proc.ioctl(c, VFIO_CHECK_EXTENSION, new Uint8Array(4)), 0, 'a pointer is no extension');
  await k.done();
});

test('SET_IOMMU: EINVAL without a group, ENODEV for an unknown type, EINVAL for a non-openable one, EBUSY-free second set is EINVAL', async () => {
  const k = makeKit();
  const c0 = k.proc.open('/dev/vfio/vfio');
  assert.throws(() => k.proc.ioctl(c0, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), errno('EINVAL'));
  assert.throws(() => k.proc.ioctl(c0, VFIO_IOMMU_GET_INFO, new Uint8Array(24)), errno('EINVAL'), 'IOMMU ioctls before SET_IOMMU');
  const { c } = containerWithGroup(k);
  assert.throws(() => k.proc.ioctl(c, VFIO_SET_IOMMU, 77), errno('ENODEV'));
  assert.throws(() => k.proc.ioctl(c, VFIO_SET_IOMMU, VFIO_UNMAP_ALL), errno('EINVAL'));
  assert.equal(k.proc.ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
  assert.throws(() => k.proc.ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), errno('EINVAL'));
  // Now the type1 answers: emulated groups rule out UPDATE_VADDR; DMA_CC holds with no IOMMU domain.
  assert.equal(k.proc.ioctl(c, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR), 0);
  assert.equal(k.proc.ioctl(c, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU), 1);
  assert.throws(() => k.proc.ioctl(c, VFIO_IOMMU_ENABLE), errno('ENOTTY'), 'SPAPR ioctls are not type1');
  await k.done();
});

test('MAP_DMA/UNMAP_DMA through raw structs: argsz, flags, short buffers, EEXIST, unmapped size written back', async () => {
  const k = makeKit();
  const { c } = containerWithGroup(k);
  k.proc.ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
  const cases: [string, Uint8Array | undefined, string][] = [
    ['argsz < minsz', mapArg(0n, 0x1000n, RW, VA, 31), 'EINVAL'],
    ['unknown flag', mapArg(0n, 0x1000n, RW | 0x8), 'EINVAL'],
    ['short buffer', mapArg(0n, 0x1000n).subarray(0, 28), 'EFAULT'],
    ['no buffer', undefined, 'EFAULT'],
    ['zero size', mapArg(0n, 0n), 'EINVAL'],
    ['unaligned iova', mapArg(0x800n, 0x1000n), 'EINVAL'],
    ['wrapping iova', mapArg(0xfffffffffffff000n, 0x2000n), 'EOVERFLOW'],
  ];
  for (const [what, arg, code] of cases) {
    assert.throws(() => k.proc.ioctl(c, VFIO_IOMMU_MAP_DMA, arg), errno(code as 'EINVAL'), what);
  }
  assert.equal(k.proc.ioctl(c, VFIO_IOMMU_MAP_DMA, mapArg(0x100000n, 0x4000n)), 0);
  assert.throws(() => k.proc.ioctl(c, VFIO_IOMMU_MAP_DMA, mapArg(0x102000n, 0x1000n)), errno('EEXIST'));
  const bisect = encodeVfioIommuType1DmaUnmap({ argsz: 24, flags: 0, iova: 0x101000n, size: 0x1000n });
  assert.throws(() => k.proc.ioctl(c, VFIO_IOMMU_UNMAP_DMA, bisect), errno('EINVAL'));
  const bad = encodeVfioIommuType1DmaUnmap({ argsz: 24, flags: VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, iova: 0n, size: 0n });
  assert.throws(() => k.proc.ioctl(c, VFIO_IOMMU_UNMAP_DMA, bad), errno('EINVAL'));
  const all = encodeVfioIommuType1DmaUnmap({ argsz: 24, flags: VFIO_DMA_UNMAP_FLAG_ALL, iova: 0n, size: 0n });
  assert.equal(k.proc.ioctl(c, VFIO_IOMMU_UNMAP_DMA, all), 0);
  assert.equal(view(all).getBigUint64(16, true), 0x4000n, 'size holds the bytes unmapped');
  await k.done();
});

test('GET_INFO: the argsz rule reports the size needed, then the cap chain follows the struct', async () => {
  const k = makeKit();
  const { c } = containerWithGroup(k);
  k.proc.ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
  assert.throws(() => k.proc.ioctl(c, VFIO_IOMMU_GET_INFO, u32s(8, 0, 0, 0)), errno('EINVAL'), 'argsz < 16');
  assert.throws(() => k.proc.ioctl(c, VFIO_IOMMU_GET_INFO, u32s(24, 0)), errno('EFAULT'), 'buffer shorter than minsz');
  const small = u32s(24, 0, 0, 0, 0, 0);
  assert.equal(k.proc.ioctl(c, VFIO_IOMMU_GET_INFO, small), 0);
  const need = view(small).getUint32(0, true);
  assert.ok(need > 24);
  assert.ok(view(small).getUint32(4, true) & VFIO_IOMMU_INFO_CAPS);
  assert.equal(view(small).getUint32(16, true), 0, 'cap_offset 0 when the chain does not fit');
  const full = new Uint8Array(need);
  view(full).setUint32(0, need, true);
  k.proc.ioctl(c, VFIO_IOMMU_GET_INFO, full);
  const capOffset = view(full).getUint32(16, true);
  assert.equal(capOffset, 24);
  const caps = parseVfioInfoCaps(full, capOffset, 24);
  assert.equal(caps[0]?.id, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION);
  assert.ok(caps.length >= 2);
  const lying = u32s(4096, 0, 0, 0, 0, 0);
  assert.throws(() => k.proc.ioctl(c, VFIO_IOMMU_GET_INFO, lying), errno('EFAULT'), 'argsz beyond the buffer');
  await k.done();
});

test('DIRTY_PAGES: one flag only, EACCES on a v1 container, a bitmap written to user memory', async () => {
  const k = makeKit();
  const { c, g } = containerWithGroup(k);
  k.proc.ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU);
  assert.throws(() => k.proc.ioctl(c, VFIO_IOMMU_DIRTY_PAGES, u32s(8, VFIO_IOMMU_DIRTY_PAGES_FLAG_START)), errno('EACCES'));
  k.proc.ioctl(g, VFIO_GROUP_UNSET_CONTAINER);
  k.proc.ioctl(g, VFIO_GROUP_SET_CONTAINER, u32s(c));
  k.proc.ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
  assert.throws(() => k.proc.ioctl(c, VFIO_IOMMU_DIRTY_PAGES, u32s(8, 0)), errno('EINVAL'), 'no flag');
  assert.throws(() => k.proc.ioctl(c, VFIO_IOMMU_DIRTY_PAGES, u32s(8, 3)), errno('EINVAL'), 'two flags');
  assert.throws(() => k.proc.ioctl(c, VFIO_IOMMU_DIRTY_PAGES, u32s(4, 1)), errno('EINVAL'), 'argsz');
  k.proc.ioctl(c, VFIO_IOMMU_MAP_DMA, mapArg(0x100000n, 0x4000n));
  k.proc.ioctl(c, VFIO_IOMMU_DIRTY_PAGES, u32s(8, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
  // A device write through the container marks page 2.
  const { device } = { device: k.proc.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, cstr('dev0')) };
  vfioDmaRw(k.dev, 0x102000n, new Uint8Array([1, 2, 3]), true);
  const get = new Uint8Array(48);
  const dv = view(get);
  dv.setUint32(0, 48, true);
  dv.setUint32(4, VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP, true);
  dv.setBigUint64(8, 0x100000n, true);
  dv.setBigUint64(16, 0x4000n, true);
  dv.setBigUint64(24, 0x1000n, true);
  dv.setBigUint64(32, 8n, true);
  dv.setBigUint64(40, VA + 0x8000n, true);
  assert.equal(k.proc.ioctl(c, VFIO_IOMMU_DIRTY_PAGES, get), 0);
  const bits = new Uint8Array(8);
  k.proc.mm.read(VA + 0x8000n, bits);
  assert.equal(bits[0], 0b0100);
  dv.setBigUint64(40, 0x7000000000n, true);
  assert.throws(() => k.proc.ioctl(c, VFIO_IOMMU_DIRTY_PAGES, get), errno('EFAULT'), 'bitmap outside user memory');
  dv.setBigUint64(40, VA + 0x8000n, true);
  dv.setUint32(0, 40, true);
  assert.throws(() => k.proc.ioctl(c, VFIO_IOMMU_DIRTY_PAGES, get), errno('EINVAL'), 'GET_BITMAP argsz without the range');
  // UNMAP with GET_DIRTY_BITMAP: argsz must cover the bitmap struct.
  const un = encodeVfioIommuType1DmaUnmap({ argsz: 24, flags: VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, iova: 0x100000n, size: 0x4000n });
  assert.throws(() => k.proc.ioctl(c, VFIO_IOMMU_UNMAP_DMA, un), errno('EINVAL'));
  k.proc.ioctl(c, VFIO_IOMMU_DIRTY_PAGES, u32s(8, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP));
  k.proc.close(device);
  await k.done();
});

test('a container outlives its fd while a group holds it; the last group out drops the IOMMU', async () => {
  const k = makeKit();
  const { c, g } = containerWithGroup(k);
  k.proc.ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
  k.proc.ioctl(c, VFIO_IOMMU_MAP_DMA, mapArg(0n, 0x1000n));
  k.proc.close(c);
  assert.throws(() => k.proc.ioctl(c, VFIO_GET_API_VERSION), errno('EBADF'));
  // The group still opens devices through the container it holds.
  const device = k.proc.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, cstr('dev0'));
  assert.ok(device > g);
  assert.throws(() => k.proc.ioctl(g, VFIO_GROUP_UNSET_CONTAINER), errno('EBUSY'));
  k.proc.close(device);
  assert.equal(k.proc.ioctl(g, VFIO_GROUP_UNSET_CONTAINER), 0);
  assert.throws(() => k.proc.ioctl(g, VFIO_GROUP_UNSET_CONTAINER), errno('EINVAL'));
  await k.done();
});
