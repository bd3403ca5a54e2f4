// Tests for the cdev iommufd bind/attach/detach structs and the iommufd IOAS structs (size framing, E2BIG/EOPNOTSUPP).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioError } from './errno.js';
import type { ErrnoName } from './errno.js';
import * as U from './iommufd.js';

const errno = (code: ErrnoName) => (e: unknown): boolean => VfioError.is(e, code);
const dv = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

test('vfio_device_bind_iommufd: 24 bytes, minsz 16, token pointer only with FLAG_TOKEN', () => {
  const x = { argsz: 16, flags: 0, iommufd: 5, outDevid: 0, tokenUuidPtr: 0n };
  const b = U.encodeVfioDeviceBindIommufd(x);
  assert.equal(b.byteLength, 24);
  assert.deepEqual(U.decodeVfioDeviceBindIommufd(b.subarray(0, 16)), x);
  const tok = { argsz: 24, flags: U.VFIO_DEVICE_BIND_FLAG_TOKEN, iommufd: 5, outDevid: 3, tokenUuidPtr: 0x7fff1000n };
  const tb = U.encodeVfioDeviceBindIommufd(tok);
  assert.equal(dv(tb).getBigUint64(16, true), 0x7fff1000n);
  assert.deepEqual(U.decodeVfioDeviceBindIommufd(tb), tok);
  const einval = errno('EINVAL');
  assert.throws(() => U.decodeVfioDeviceBindIommufd(U.encodeVfioDeviceBindIommufd({ ...x, iommufd: -1 })), einval);
  assert.throws(() => U.decodeVfioDeviceBindIommufd(U.encodeVfioDeviceBindIommufd({ ...x, flags: 2 })), einval);
  assert.throws(() => U.decodeVfioDeviceBindIommufd(U.encodeVfioDeviceBindIommufd({ ...tok, argsz: 16 })), einval);
  assert.throws(() => U.decodeVfioDeviceBindIommufd(U.encodeVfioDeviceBindIommufd({ ...x, argsz: 12 })), einval);
});

test('attach (16, minsz 12) and detach (12, minsz 8) iommufd_pt, PASID needs the pasid field', () => {
  const a = { argsz: 12, flags: 0, ptId: 7, pasid: 0 };
  assert.deepEqual(U.decodeVfioDeviceAttachIommufdPt(U.encodeVfioDeviceAttachIommufdPt(a).subarray(0, 12)), a);
  const ap = { argsz: 16, flags: U.VFIO_DEVICE_ATTACH_PASID, ptId: 7, pasid: 3 };
  assert.deepEqual(U.decodeVfioDeviceAttachIommufdPt(U.encodeVfioDeviceAttachIommufdPt(ap)), ap);
  assert.throws(() => U.decodeVfioDeviceAttachIommufdPt(U.encodeVfioDeviceAttachIommufdPt({ ...ap, argsz: 12 })), errno('EINVAL'));
  assert.throws(() => U.decodeVfioDeviceAttachIommufdPt(U.encodeVfioDeviceAttachIommufdPt({ ...a, flags: 2 })), errno('EINVAL'));
  const d = { argsz: 8, flags: 0, pasid: 0 };
  assert.deepEqual(U.decodeVfioDeviceDetachIommufdPt(U.encodeVfioDeviceDetachIommufdPt(d).subarray(0, 8)), d);
  const dp = { argsz: 12, flags: U.VFIO_DEVICE_DETACH_PASID, pasid: 9 };
  assert.deepEqual(U.decodeVfioDeviceDetachIommufdPt(U.encodeVfioDeviceDetachIommufdPt(dp)), dp);
  assert.throws(() => U.decodeVfioDeviceDetachIommufdPt(U.encodeVfioDeviceDetachIommufdPt({ ...dp, argsz: 8 })), errno('EINVAL'));
});

test('iommu_destroy 8, iommu_ioas_alloc 12, iommu_ioas_map 40, iommu_ioas_unmap 24', () => {
  const de = { size: 8, id: 4 };
  assert.deepEqual(U.decodeIommuDestroy(U.encodeIommuDestroy(de)), de);
  const al = { size: 12, flags: 0, outIoasId: 2 };
  assert.deepEqual(U.decodeIommuIoasAlloc(U.encodeIommuIoasAlloc(al)), al);
  assert.throws(() => U.decodeIommuIoasAlloc(U.encodeIommuIoasAlloc({ ...al, flags: 1 })), errno('EOPNOTSUPP'));
  const m = { size: 40, flags: U.IOMMU_IOAS_MAP_FIXED_IOVA | U.IOMMU_IOAS_MAP_READABLE | U.IOMMU_IOAS_MAP_WRITEABLE, ioasId: 2, userVa: 0x7f00_0000_0000n, length: 0x10000n, iova: 0x1000000n };
  const mb = U.encodeIommuIoasMap(m);
  assert.deepEqual([dv(mb).getBigUint64(16, true), dv(mb).getBigUint64(24, true), dv(mb).getBigUint64(32, true)], [m.userVa, m.length, m.iova]);
  assert.deepEqual(U.decodeIommuIoasMap(mb), m);
  assert.throws(() => U.decodeIommuIoasMap(U.encodeIommuIoasMap({ ...m, flags: 8 })), errno('EOPNOTSUPP'));
  const reserved = U.encodeIommuIoasMap(m);
  dv(reserved).setUint32(12, 1, true);
  assert.throws(() => U.decodeIommuIoasMap(reserved), errno('EOPNOTSUPP'));
  const un = { size: 24, ioasId: 2, iova: 0n, length: 0xffffffffffffffffn };
  assert.deepEqual(U.decodeIommuIoasUnmap(U.encodeIommuIoasUnmap(un)), un);
});

test('iommufd size framing: short size EINVAL, non-zero tail E2BIG, zero tail accepted', () => {
  assert.throws(() => U.decodeIommuIoasUnmap(U.encodeIommuIoasUnmap({ size: 16, ioasId: 1, iova: 0n, length: 0n })), errno('EINVAL'));
  const longer = new Uint8Array(32);
  longer.set(U.encodeIommuIoasUnmap({ size: 32, ioasId: 1, iova: 0x1000n, length: 0x1000n }));
  assert.equal(U.decodeIommuIoasUnmap(longer).iova, 0x1000n);
  longer[30] = 1;
  assert.throws(() => U.decodeIommuIoasUnmap(longer), errno('E2BIG'));
  assert.throws(() => U.decodeIommuDestroy(new Uint8Array(4)), errno('EINVAL'));
});
