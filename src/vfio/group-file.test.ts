// The group file (group.c): exclusive open, GET_STATUS, SET/UNSET_CONTAINER errno, GET_DEVICE_FD names and the
// type1 binding (dmaAccess + dmaUnmap listener) made on first open and undone on last close, dead groups.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_GROUP_GET_STATUS,
  VFIO_GROUP_SET_CONTAINER,
  VFIO_GROUP_UNSET_CONTAINER,
  VFIO_IOMMU_MAP_DMA,
  VFIO_IOMMU_UNMAP_DMA,
  VFIO_SET_IOMMU,
  VFIO_TYPE1v2_IOMMU,
} from '../uapi/ioctl.js';
import { VFIO_GROUP_FLAGS_CONTAINER_SET, VFIO_GROUP_FLAGS_VIABLE } from '../uapi/group.js';
import { VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE, encodeVfioIommuType1DmaMap, encodeVfioIommuType1DmaUnmap } from '../uapi/iommu-type1.js';
import { unregisterGroupDev } from './registration.js';
import { vfioDmaRw, vfioPinPages } from './dma-access.js';
import { cstr, errno, groupPath, makeKit, openViaGroup, u32s, view } from './uapi.test-kit.js';

test('open: ENOENT for unknown paths, the group file is exclusive (EBUSY) until closed', async () => {
  const k = makeKit();
  assert.throws(() => k.proc.open('/dev/vfio/999'), errno('ENOENT'));
  assert.throws(() => k.proc.open('/dev/null'), errno('ENOENT'));
  const g = k.proc.open(groupPath(k.dev));
  assert.throws(() => k.proc.open(groupPath(k.dev)), errno('EBUSY'));
  k.proc.close(g);
  assert.throws(() => k.proc.close(g), errno('EBADF'));
  const again = k.proc.open(groupPath(k.dev));
  assert.equal(again, g, 'the lowest free fd is reused');
  await k.done();
});

test('GET_STATUS: VIABLE, then CONTAINER_SET|VIABLE; argsz and short buffers', async () => {
  const k = makeKit();
  const g = k.proc.open(groupPath(k.dev));
  const st = u32s(8, 0xff);
  assert.equal(k.proc.ioctl(g, VFIO_GROUP_GET_STATUS, st), 0);
  assert.equal(view(st).getUint32(4, true), VFIO_GROUP_FLAGS_VIABLE);
  assert.throws(() => k.proc.ioctl(g, VFIO_GROUP_GET_STATUS, u32s(7, 0)), errno('EINVAL'));
  assert.throws(() => k.proc.ioctl(g, VFIO_GROUP_GET_STATUS, u32s(8)), errno('EFAULT'));
  const c = k.proc.open('/dev/vfio/vfio');
  k.proc.ioctl(g, VFIO_GROUP_SET_CONTAINER, u32s(c));
  k.proc.ioctl(g, VFIO_GROUP_GET_STATUS, st);
  assert.equal(view(st).getUint32(4, true), VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
  assert.throws(() => k.proc.ioctl(g, 0x3b99), errno('ENOTTY'), 'unknown group ioctl');
  await k.done();
});

test('SET_CONTAINER: EFAULT, EBADF, EINVAL when set, a group fd is no container; UNSET: EINVAL when none', async () => {
  const k = makeKit();
  const g = k.proc.open(groupPath(k.dev));
  const c = k.proc.open('/dev/vfio/vfio');
  assert.throws(() => k.proc.ioctl(g, VFIO_GROUP_SET_CONTAINER), errno('EFAULT'));
  assert.throws(() => k.proc.ioctl(g, VFIO_GROUP_SET_CONTAINER, u32s(42)), errno('EBADF'));
  assert.throws(() => k.proc.ioctl(g, VFIO_GROUP_SET_CONTAINER, u32s(g)), errno('EBADFD'));
  assert.throws(() => k.proc.ioctl(g, VFIO_GROUP_UNSET_CONTAINER), errno('EINVAL'));
  k.proc.ioctl(g, VFIO_GROUP_SET_CONTAINER, u32s(c));
  assert.throws(() => k.proc.ioctl(g, VFIO_GROUP_SET_CONTAINER, u32s(c)), errno('EINVAL'));
  assert.equal(k.proc.ioctl(g, VFIO_GROUP_UNSET_CONTAINER), 0);
  await k.done();
});

test('GET_DEVICE_FD: ENODEV for unknown names, EINVAL without container or IOMMU, EFAULT/EINVAL for unterminated names', async () => {
  const k = makeKit();
  const g = k.proc.open(groupPath(k.dev));
  assert.throws(() => k.proc.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, cstr('nope')), errno('ENODEV'));
  assert.throws(() => k.proc.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, cstr('dev0')), errno('EINVAL'), 'no container');
  const c = k.proc.open('/dev/vfio/vfio');
  k.proc.ioctl(g, VFIO_GROUP_SET_CONTAINER, u32s(c));
  assert.throws(() => k.proc.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, cstr('dev0')), errno('EINVAL'), 'no IOMMU');
  k.proc.ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
  assert.throws(() => k.proc.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, new TextEncoder().encode('dev0')), errno('EFAULT'));
  assert.throws(() => k.proc.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, new Uint8Array(4096).fill(65)), errno('EINVAL'));
  assert.equal(k.dev.registration.value, 1, 'failed opens took no registration reference');
  const d1 = k.proc.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, cstr('dev0'));
  const d2 = k.proc.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, cstr('dev0'));
  assert.deepEqual([d1, d2], [c + 1, c + 2]);
  assert.equal(k.dev.openCount, 2);
  assert.equal(k.dev.registration.value, 3);
  assert.deepEqual(k.log, ['init:vfio0', 'openDevice:vfio0']);
  await k.done();
  assert.deepEqual(k.log.slice(2), ['closeDevice:vfio0', 'release:vfio0']);
});

test('the container binding: dmaAccess through type1 and dmaUnmap on unmap while open, both gone after the last close', async () => {
  const unmaps: string[] = [];
  const k = makeKit({
    ops: {
      dmaUnmap: (d, iova, length) => {
        unmaps.push(`${iova.toString(16)}+${length.toString(16)}`);
        d.state['pinned'] = 0;
        // The device must unpin what it pinned there (the type1 rule).
        d.dmaAccess?.unpinPages(iova, Number(length / 4096n));
      },
    },
  });
  const { container, device } = openViaGroup(k.proc, k.dev);
  const RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
  k.proc.ioctl(container, VFIO_IOMMU_MAP_DMA, encodeVfioIommuType1DmaMap({ argsz: 32, flags: RW, vaddr: 0x10000000n, iova: 0x200000n, size: 0x2000n }));
  vfioDmaRw(k.dev, 0x200010n, new Uint8Array([7, 8]), true);
  const back = new Uint8Array(2);
  k.proc.mm.read(0x10000010n, back);
  assert.deepEqual([...back], [7, 8], 'device DMA lands in the process memory');
  vfioPinPages(k.dev, 0x200000n, 1, 1);
  k.proc.ioctl(container, VFIO_IOMMU_UNMAP_DMA, encodeVfioIommuType1DmaUnmap({ argsz: 24, flags: 0, iova: 0x200000n, size: 0x2000n }));
  assert.deepEqual(unmaps, ['200000+2000']);
  k.proc.close(device);
  assert.equal(k.dev.dmaAccess, null);
  await k.done();
});

test('a group whose devices unregistered: GET_STATUS and SET_CONTAINER ENODEV, GET_DEVICE_FD ENODEV, container detached', async () => {
  const k = makeKit();
  const g = k.proc.open(groupPath(k.dev));
  const c = k.proc.open('/dev/vfio/vfio');
  k.proc.ioctl(g, VFIO_GROUP_SET_CONTAINER, u32s(c));
  k.proc.ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
  const extra = k.addDevice('other');
  await unregisterGroupDev(k.dev);
  assert.throws(() => k.proc.ioctl(g, VFIO_GROUP_GET_STATUS, u32s(8, 0)), errno('ENODEV'));
  assert.throws(() => k.proc.ioctl(g, VFIO_GROUP_SET_CONTAINER, u32s(c)), errno('ENODEV'));
  assert.throws(() => k.proc.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, cstr('dev0')), errno('ENODEV'));
  assert.throws(() => k.proc.ioctl(g, VFIO_GROUP_UNSET_CONTAINER), errno('EINVAL'), 'the container was revoked');
  assert.throws(() => k.proc.ioctl(c, VFIO_IOMMU_MAP_DMA, new Uint8Array(32)), errno('EINVAL'), 'the container lost its IOMMU');
  assert.ok(extra.group !== k.dev.group, 'emulated devices have groups of their own');
  await k.done();
});
