// cdev + iommufd (device_cdev.c, iommufd main.c): IOAS ioctls through raw structs, BIND_IOMMUFD errno, the mutual
// exclusion of cdev bind and group file, ATTACH/DETACH_IOMMUFD_PT, DMA through the IOAS, unbind on close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  IOMMU_DESTROY,
  IOMMU_IOAS_ALLOC,
  IOMMU_IOAS_MAP,
  IOMMU_IOAS_UNMAP,
  IOMMU_OPTION,
  VFIO_DEVICE_ATTACH_IOMMUFD_PT,
  VFIO_DEVICE_BIND_IOMMUFD,
  VFIO_DEVICE_DETACH_IOMMUFD_PT,
  VFIO_GET_API_VERSION,
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_GROUP_SET_CONTAINER,
} from '../uapi/ioctl.js';
import { IOMMU_IOAS_MAP_FIXED_IOVA, IOMMU_IOAS_MAP_READABLE, IOMMU_IOAS_MAP_WRITEABLE, encodeIommuIoasMap } from '../uapi/iommufd.js';
import { vfioDmaRw } from './dma-access.js';
import { cstr, errno, groupPath, makeKit, u32s, view } from './uapi.test-kit.js';

function ioasMap(ioasId: number, iova: bigint, length = 0x2000n, size = 40): Uint8Array {
  return encodeIommuIoasMap({ size, flags: IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE, ioasId, userVa: 0x10000000n, length, iova });
}

test('/dev/iommu: IOAS_ALLOC, MAP, UNMAP, DESTROY with the size framing errno', async () => {
  const k = makeKit();
  const fd = k.proc.open('/dev/iommu');
  const alloc = u32s(12, 0, 0);
  k.proc.ioctl(fd, IOMMU_IOAS_ALLOC, alloc);
  const ioas = view(alloc).getUint32(8, true);
  assert.equal(ioas, 1);
  const cases: [string, number, Uint8Array | undefined, string][] = [
    ['size < min', IOMMU_IOAS_ALLOC, u32s(8, 0, 0), 'EINVAL'],
    ['no buffer', IOMMU_IOAS_ALLOC, undefined, 'EFAULT'],
    ['size past the buffer', IOMMU_IOAS_ALLOC, u32s(16, 0, 0), 'EFAULT'],
    ['non-zero tail', IOMMU_IOAS_ALLOC, u32s(16, 0, 0, 1), 'E2BIG'],
    ['alloc flags', IOMMU_IOAS_ALLOC, u32s(12, 1, 0), 'EOPNOTSUPP'],
    ['no such ioas', IOMMU_IOAS_MAP, ioasMap(9, 0n), 'ENOENT'],
    ['unaligned', IOMMU_IOAS_MAP, ioasMap(ioas, 0x800n), 'EINVAL'],
    ['not implemented', IOMMU_OPTION, u32s(24, 0, 0, 0, 0, 0), 'ENOTTY'],
    ['VFIO compat', VFIO_GET_API_VERSION, undefined, 'ENOTTY'],
  ];
  for (const [what, cmd, arg, code] of cases) assert.throws(() => k.proc.ioctl(fd, cmd, arg), errno(code as 'EINVAL'), what);
  const m = ioasMap(ioas, 0x400000n);
  k.proc.ioctl(fd, IOMMU_IOAS_MAP, m);
  assert.throws(() => k.proc.ioctl(fd, IOMMU_IOAS_MAP, ioasMap(ioas, 0x401000n)), errno('EEXIST'));
  const un = new Uint8Array(24);
  view(un).setUint32(0, 24, true);
  view(un).setUint32(4, ioas, true);
  view(un).setBigUint64(8, 0x400000n, true);
  view(un).setBigUint64(16, 0x2000n, true);
  k.proc.ioctl(fd, IOMMU_IOAS_UNMAP, un);
  assert.equal(view(un).getBigUint64(16, true), 0x2000n);
  k.proc.ioctl(fd, IOMMU_DESTROY, u32s(8, ioas));
  assert.throws(() => k.proc.ioctl(fd, IOMMU_DESTROY, u32s(8, ioas)), errno('ENOENT'));
  await k.done();
});

test('BIND_IOMMUFD: argsz/flags/negative fd EINVAL, EBADF, EBUSY while the group is open, EINVAL twice; then DMA via the IOAS', async () => {
  const k = makeKit();
  const ictx = k.proc.open('/dev/iommu');
  const alloc = u32s(12, 0, 0);
  k.proc.ioctl(ictx, IOMMU_IOAS_ALLOC, alloc);
  const ioas = view(alloc).getUint32(8, true);
  k.proc.ioctl(ictx, IOMMU_IOAS_MAP, ioasMap(ioas, 0x600000n));
  const cdev = k.proc.open(k.dev.cdevPath ?? '');
  const cases: [string, Uint8Array, string][] = [
    ['argsz', u32s(12, 0, ictx, 0), 'EINVAL'],
    ['flags', u32s(16, 2, ictx, 0), 'EINVAL'],
    ['negative fd', u32s(16, 0, -1, 0), 'EINVAL'],
    ['short', u32s(16, 0), 'EFAULT'],
    ['closed fd', u32s(16, 0, 77, 0), 'EBADF'],
    ['not an iommufd', u32s(16, 0, cdev, 0), 'EBADFD'],
    ['a VF token to a device without match_token_uuid', u32s(24, 1, ictx, 0, 0x1000, 0), 'EINVAL'],
  ];
  for (const [what, arg, code] of cases) assert.throws(() => k.proc.ioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, arg), errno(code as 'EINVAL'), what);
  const g = k.proc.open(groupPath(k.dev));
  assert.throws(() => k.proc.ioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, u32s(16, 0, ictx, 0)), errno('EBUSY'));
  k.proc.close(g);
  const bind = u32s(16, 0, ictx, 0);
  assert.equal(k.proc.ioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, bind), 0);
  const devid = view(bind).getUint32(12, true);
  assert.ok(devid > ioas);
  assert.deepEqual(k.log, ['init:vfio0', 'openDevice:vfio0']);
  assert.throws(() => k.proc.ioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, u32s(16, 0, ictx, 0)), errno('EINVAL'), 'bound twice');
  assert.throws(() => k.proc.open(groupPath(k.dev)), errno('EBUSY'), 'the group is blocked while bound');
  assert.throws(() => k.proc.open(k.dev.cdevPath ?? '') && k.proc.ioctl(k.proc.fds().at(-1) ?? 0, VFIO_DEVICE_BIND_IOMMUFD, u32s(16, 0, ictx, 0)), errno('EINVAL'), 'a second cdev open cannot bind');
  k.proc.close(k.proc.fds().at(-1) ?? 0);
  assert.throws(() => vfioDmaRw(k.dev, 0x600000n, new Uint8Array(1), true), errno('ENOENT'), 'not attached yet');
  assert.throws(() => k.proc.ioctl(cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, u32s(12, 0, 99)), errno('ENOENT'));
  assert.throws(() => k.proc.ioctl(cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, u32s(16, 1, ioas, 0)), errno('EOPNOTSUPP'), 'PASID');
  assert.throws(() => k.proc.ioctl(cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, u32s(16, 2, ioas, 0)), errno('EINVAL'), 'unknown flag');
  k.proc.ioctl(cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, u32s(12, 0, ioas));
  vfioDmaRw(k.dev, 0x600004n, new Uint8Array([9]), true);
  const b = new Uint8Array(1);
  k.proc.mm.read(0x10000004n, b);
  assert.equal(b[0], 9);
  assert.throws(() => k.proc.ioctl(ictx, IOMMU_DESTROY, u32s(8, ioas)), errno('EBUSY'));
  k.proc.ioctl(cdev, VFIO_DEVICE_DETACH_IOMMUFD_PT, u32s(8, 0));
  k.proc.close(ictx);
  k.proc.close(cdev);
  assert.deepEqual(k.log.slice(2), ['closeDevice:vfio0']);
  const g2 = k.proc.open(groupPath(k.dev));
  assert.ok(g2 > 0, 'the group opens again after unbind');
  await k.done();
});

test('a group set to an iommufd (compat): devices bind to it and attach to its compat IOAS', async () => {
  const k = makeKit();
  const ictx = k.proc.open('/dev/iommu');
  const g = k.proc.open(groupPath(k.dev));
  k.proc.ioctl(g, VFIO_GROUP_SET_CONTAINER, u32s(ictx));
  k.proc.ioctl(ictx, IOMMU_IOAS_MAP, ioasMap(1, 0x800000n));
  const d = k.proc.ioctl(g, VFIO_GROUP_GET_DEVICE_FD, cstr('dev0'));
  vfioDmaRw(k.dev, 0x800000n, new Uint8Array([5]), true);
  k.proc.close(d);
  assert.equal(k.dev.dmaAccess, null);
  await k.done();
});
