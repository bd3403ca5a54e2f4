// Round-trip, layout and errno tests for the device-fd structs: group status, device/region/irq info, irq_set, hot reset, gfx plane, ioeventfd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioError } from './errno.js';
import type { ErrnoName } from './errno.js';
import * as G from './group.js';
import * as D from './device-info.js';
import * as RI from './region-info.js';
import * as II from './irq-info.js';
import * as S from './irq-set.js';
import * as H from './reset-info.js';
import * as GP from './gfx-plane.js';
import * as IO from './ioeventfd.js';

const errno = (code: ErrnoName) => (e: unknown): boolean => VfioError.is(e, code);
const dv = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);
/** A buffer of `n` bytes with argsz = `argsz` (default n) and flags = `flags`. */
function hdr(n: number, argsz = n, flags = 0): Uint8Array {
  const b = new Uint8Array(n);
  dv(b).setUint32(0, argsz, true);
  dv(b).setUint32(4, flags, true);
  return b;
}

test('vfio_group_status: 8 bytes, flags', () => {
  assert.equal(G.VFIO_GROUP_STATUS_SIZEOF, 8);
  assert.deepEqual([G.VFIO_GROUP_FLAGS_VIABLE, G.VFIO_GROUP_FLAGS_CONTAINER_SET], [1, 2]);
  const x = { argsz: 8, flags: 3 };
  assert.deepEqual(G.decodeVfioGroupStatus(G.encodeVfioGroupStatus(x)), x);
  assert.throws(() => G.decodeVfioGroupStatus(hdr(8, 7)), errno('EINVAL'));
  assert.throws(() => G.decodeVfioGroupStatus(new Uint8Array(4)), errno('EINVAL'));
});

test('vfio_device_info: 24 bytes, num_regions @8, num_irqs @12, cap_offset @16; 16-byte callers', () => {
  assert.equal(D.VFIO_DEVICE_INFO_SIZEOF, 24);
  assert.equal(D.VFIO_DEVICE_INFO_MINSZ, 16);
  const flagBits = [D.VFIO_DEVICE_FLAGS_RESET, D.VFIO_DEVICE_FLAGS_PCI, D.VFIO_DEVICE_FLAGS_PLATFORM, D.VFIO_DEVICE_FLAGS_AMBA,
    D.VFIO_DEVICE_FLAGS_CCW, D.VFIO_DEVICE_FLAGS_AP, D.VFIO_DEVICE_FLAGS_FSL_MC, D.VFIO_DEVICE_FLAGS_CAPS, D.VFIO_DEVICE_FLAGS_CDX];
  assert.deepEqual(flagBits, [1, 2, 4, 8, 16, 32, 64, 128, 256]);
  const x = { argsz: 24, flags: D.VFIO_DEVICE_FLAGS_PCI | D.VFIO_DEVICE_FLAGS_RESET, numRegions: 9, numIrqs: 5, capOffset: 0 };
  const b = D.encodeVfioDeviceInfo(x);
  assert.equal(b.byteLength, 24);
  assert.deepEqual([dv(b).getUint32(8, true), dv(b).getUint32(12, true)], [9, 5]);
  assert.deepEqual(D.decodeVfioDeviceInfo(b), x);
  // A 16-byte (pre-cap_offset) request decodes with capOffset 0.
  assert.deepEqual(D.decodeVfioDeviceInfo(b.subarray(0, 16)), x);
  assert.throws(() => D.decodeVfioDeviceInfo(hdr(16, 15)), errno('EINVAL'));
  assert.throws(() => D.decodeVfioDeviceInfo(new Uint8Array(12)), errno('EINVAL'));
});

test('vfio_device_info with caps: argsz rule and 16-byte callers get 16 bytes', () => {
  const cap = D.vfioDeviceInfoCapPciAtomicComp(D.VFIO_PCI_ATOMIC_COMP32 | D.VFIO_PCI_ATOMIC_COMP64);
  const x = { argsz: 16, flags: D.VFIO_DEVICE_FLAGS_PCI, numRegions: 9, numIrqs: 5, capOffset: 0 };
  const short = D.encodeVfioDeviceInfoWithCaps(x, [cap]);
  assert.equal(short.byteLength, 16);
  assert.equal(dv(short).getUint32(0, true), 40); // 24 + 16-byte cap
  assert.equal(dv(short).getUint32(4, true), D.VFIO_DEVICE_FLAGS_PCI | D.VFIO_DEVICE_FLAGS_CAPS);
  const full = D.encodeVfioDeviceInfoWithCaps({ ...x, argsz: 40 }, [cap]);
  assert.equal(full.byteLength, 40);
  assert.equal(D.decodeVfioDeviceInfo(full).capOffset, 24);
  assert.equal(dv(full).getUint16(24, true), D.VFIO_DEVICE_INFO_CAP_PCI_ATOMIC_COMP);
  assert.equal(dv(full).getUint32(32, true), 3);
});

test('vfio_region_info: 32 bytes, size @16, offset @24; indexes', () => {
  assert.equal(RI.VFIO_REGION_INFO_SIZEOF, 32);
  assert.deepEqual([RI.VFIO_REGION_INFO_FLAG_READ, RI.VFIO_REGION_INFO_FLAG_WRITE, RI.VFIO_REGION_INFO_FLAG_MMAP, RI.VFIO_REGION_INFO_FLAG_CAPS], [1, 2, 4, 8]);
  assert.deepEqual(
    [RI.VFIO_PCI_BAR0_REGION_INDEX, RI.VFIO_PCI_BAR5_REGION_INDEX, RI.VFIO_PCI_ROM_REGION_INDEX, RI.VFIO_PCI_CONFIG_REGION_INDEX, RI.VFIO_PCI_VGA_REGION_INDEX, RI.VFIO_PCI_NUM_REGIONS],
    [0, 5, 6, 7, 8, 9],
  );
  const x = { argsz: 32, flags: 7, index: 7, capOffset: 0, size: 256n, offset: RI.vfioPciIndexToOffset(7) };
  const b = RI.encodeVfioRegionInfo(x);
  assert.equal(dv(b).getUint32(8, true), 7);
  assert.equal(dv(b).getBigUint64(16, true), 256n);
  assert.equal(dv(b).getBigUint64(24, true), 0x70000000000n);
  assert.deepEqual(RI.decodeVfioRegionInfo(b), x);
  assert.equal(RI.vfioPciOffsetToIndex(0x70000000123n), 7);
  assert.equal(0x70000000123n & RI.VFIO_PCI_OFFSET_MASK, 0x123n);
  assert.throws(() => RI.decodeVfioRegionInfo(hdr(32, 16)), errno('EINVAL'));
  assert.throws(() => RI.decodeVfioRegionInfo(hdr(16)), errno('EINVAL'));
});

test('vfio_irq_info: 16 bytes, flags and PCI/CCW/AP indexes', () => {
  assert.equal(II.VFIO_IRQ_INFO_SIZEOF, 16);
  assert.deepEqual([II.VFIO_IRQ_INFO_EVENTFD, II.VFIO_IRQ_INFO_MASKABLE, II.VFIO_IRQ_INFO_AUTOMASKED, II.VFIO_IRQ_INFO_NORESIZE], [1, 2, 4, 8]);
  assert.deepEqual(
    [II.VFIO_PCI_INTX_IRQ_INDEX, II.VFIO_PCI_MSI_IRQ_INDEX, II.VFIO_PCI_MSIX_IRQ_INDEX, II.VFIO_PCI_ERR_IRQ_INDEX, II.VFIO_PCI_REQ_IRQ_INDEX, II.VFIO_PCI_NUM_IRQS],
    [0, 1, 2, 3, 4, 5],
  );
  assert.deepEqual([II.VFIO_CCW_IO_IRQ_INDEX, II.VFIO_CCW_CRW_IRQ_INDEX, II.VFIO_CCW_REQ_IRQ_INDEX, II.VFIO_CCW_NUM_IRQS], [0, 1, 2, 3]);
  assert.deepEqual([II.VFIO_AP_REQ_IRQ_INDEX, II.VFIO_AP_CFG_CHG_IRQ_INDEX, II.VFIO_AP_NUM_IRQS], [0, 1, 2]);
  const x = { argsz: 16, flags: 7, index: 0, count: 1 };
  const b = II.encodeVfioIrqInfo(x);
  assert.equal(dv(b).getUint32(12, true), 1);
  assert.deepEqual(II.decodeVfioIrqInfo(b), x);
  assert.throws(() => II.decodeVfioIrqInfo(hdr(16, 12)), errno('EINVAL'));
});

test('vfio_irq_set: 20-byte header + data; eventfds, bools, none round trip', () => {
  assert.equal(S.VFIO_IRQ_SET_SIZEOF, 20);
  assert.deepEqual([S.VFIO_IRQ_SET_DATA_NONE, S.VFIO_IRQ_SET_DATA_BOOL, S.VFIO_IRQ_SET_DATA_EVENTFD], [1, 2, 4]);
  assert.deepEqual([S.VFIO_IRQ_SET_ACTION_MASK, S.VFIO_IRQ_SET_ACTION_UNMASK, S.VFIO_IRQ_SET_ACTION_TRIGGER], [8, 16, 32]);
  const ev = S.vfioIrqSetOfEventfds(2, 1, [10, -1, 12, 13]);
  const b = S.encodeVfioIrqSet(ev);
  assert.equal(b.byteLength, 36);
  assert.deepEqual([dv(b).getUint32(0, true), dv(b).getUint32(4, true), dv(b).getUint32(8, true), dv(b).getUint32(12, true), dv(b).getUint32(16, true)], [36, 0x24, 2, 1, 4]);
  assert.equal(dv(b).getInt32(24, true), -1);
  const d = S.decodeVfioIrqSet(b);
  assert.deepEqual({ ...d, data: Array.from(d.data) }, { ...ev, data: Array.from(ev.data) });
  assert.deepEqual(S.vfioIrqSetEventfds(d), [10, -1, 12, 13]);
  assert.equal(S.vfioSetIrqsValidateAndPrepare(d, 5, 5), 16);
  const bools = S.decodeVfioIrqSet(S.encodeVfioIrqSet(S.vfioIrqSetOfBools(0, 1, [true, false, true], S.VFIO_IRQ_SET_ACTION_MASK)));
  assert.deepEqual(S.vfioIrqSetBools(bools), [true, false, true]);
  assert.equal(S.vfioSetIrqsValidateAndPrepare(bools, 4, 5), 3);
  const none = S.decodeVfioIrqSet(S.encodeVfioIrqSet(S.vfioIrqSetOfNone(0, 0, 0, S.VFIO_IRQ_SET_ACTION_TRIGGER)));
  assert.equal(none.data.byteLength, 0);
  assert.equal(S.vfioSetIrqsValidateAndPrepare(none, 1, 5), 0);
});

test('vfio_irq_set: the kernel\'s EINVAL cases', () => {
  const einval = errno('EINVAL');
  assert.throws(() => S.decodeVfioIrqSet(hdr(20, 19, S.VFIO_IRQ_SET_DATA_NONE)), einval); // argsz < minsz
  assert.throws(() => S.decodeVfioIrqSet(hdr(20, 20, S.VFIO_IRQ_SET_DATA_NONE | 0x40)), einval); // unknown flag
  assert.throws(() => S.decodeVfioIrqSet(hdr(20, 20, S.VFIO_IRQ_SET_ACTION_TRIGGER)), einval); // no data type
  assert.throws(() => S.decodeVfioIrqSet(hdr(20, 20, S.VFIO_IRQ_SET_DATA_NONE | S.VFIO_IRQ_SET_DATA_BOOL)), einval); // two types
  const ev = S.vfioIrqSetOfEventfds(1, 0, [3, 4]);
  assert.throws(() => S.vfioSetIrqsValidateAndPrepare(ev, 2, 1), einval); // index >= max_irq_type
  assert.throws(() => S.vfioSetIrqsValidateAndPrepare(ev, 1, 5), einval); // start + count > num_irqs
  assert.throws(() => S.vfioSetIrqsValidateAndPrepare({ ...ev, start: 2 }, 2, 5), einval); // start >= num_irqs
  assert.throws(() => S.vfioSetIrqsValidateAndPrepare({ ...ev, argsz: 24 }, 2, 5), einval); // data short in argsz
  assert.throws(() => S.vfioSetIrqsValidateAndPrepare({ ...ev, start: 1, count: 0xfffffffe }, 0xffffffff, 5), einval); // overflow
  assert.throws(() => S.vfioIrqSetEventfds({ ...ev, data: new Uint8Array(4) }), einval);
  assert.throws(() => S.vfioIrqSetBools({ ...ev, count: 9, data: new Uint8Array(4) }), einval);
  // vfio-user sends SET_IRQS eventfds as SCM_RIGHTS with no data bytes: the header still decodes.
  const hdrOnly = S.decodeVfioIrqSet(S.encodeVfioIrqSet({ ...ev, argsz: 20, data: new Uint8Array(0) }));
  assert.equal(hdrOnly.count, 2);
  assert.equal(hdrOnly.data.byteLength, 0);
});

test('vfio_pci_hot_reset_info: 12-byte header, 8-byte dependent devices', () => {
  assert.equal(H.VFIO_PCI_HOT_RESET_INFO_SIZEOF, 12);
  assert.equal(H.VFIO_PCI_DEPENDENT_DEVICE_SIZEOF, 8);
  assert.equal(H.vfioPciHotResetInfoSize(3), 36);
  const x = {
    argsz: 28,
    flags: H.VFIO_PCI_HOT_RESET_FLAG_DEV_ID,
    count: 2,
    devices: [
      { groupId: 7, segment: 0, bus: 3, devfn: 0x08 },
      { groupId: H.VFIO_PCI_DEVID_NOT_OWNED, segment: 1, bus: 0xff, devfn: 0x11 },
    ],
  };
  const b = H.encodeVfioPciHotResetInfo(x);
  assert.equal(b.byteLength, 28);
  assert.deepEqual([dv(b).getUint32(12, true), dv(b).getUint16(16, true), b[18], b[19]], [7, 0, 3, 8]);
  assert.equal(dv(b).getInt32(20, true), -1);
  assert.deepEqual(H.decodeVfioPciHotResetInfo(b), x);
  // A request (header only) with count 0 decodes with no devices; a short argsz is EINVAL.
  assert.deepEqual(H.decodeVfioPciHotResetInfo(hdr(12)).devices, []);
  assert.throws(() => H.decodeVfioPciHotResetInfo(hdr(12, 8)), errno('EINVAL'));
});

test('vfio_pci_hot_reset: group fds, flags must be 0', () => {
  const x = { argsz: 20, flags: 0, count: 2, groupFds: [5, 6] };
  const b = H.encodeVfioPciHotReset(x);
  assert.equal(b.byteLength, 20);
  assert.deepEqual(H.decodeVfioPciHotReset(b), x);
  assert.throws(() => H.decodeVfioPciHotReset(hdr(12, 12, 1)), errno('EINVAL'));
  assert.throws(() => H.decodeVfioPciHotReset(b.subarray(0, 16)), errno('EINVAL'));
});

test('vfio_device_gfx_plane_info: 64 bytes, union @56, minsz 60', () => {
  assert.equal(GP.VFIO_DEVICE_GFX_PLANE_INFO_SIZEOF, 64);
  assert.deepEqual([GP.VFIO_GFX_PLANE_TYPE_PROBE, GP.VFIO_GFX_PLANE_TYPE_DMABUF, GP.VFIO_GFX_PLANE_TYPE_REGION], [1, 2, 4]);
  const x = { argsz: 64, flags: 4, drmPlaneType: 1, drmFormat: 0x34325258, drmFormatMod: 0x0100000000000001n, width: 1024, height: 768,
    stride: 4096, size: 3145728, xPos: 1, yPos: 2, xHot: 0xffffffff, yHot: 0xffffffff, regionIndex: 9 };
  const b = GP.encodeVfioDeviceGfxPlaneInfo(x);
  assert.equal(dv(b).getBigUint64(16, true), 0x0100000000000001n);
  assert.deepEqual([dv(b).getUint32(24, true), dv(b).getUint32(36, true), dv(b).getUint32(56, true)], [1024, 3145728, 9]);
  assert.deepEqual(GP.decodeVfioDeviceGfxPlaneInfo(b), x);
  assert.deepEqual(GP.decodeVfioDeviceGfxPlaneInfo(b.subarray(0, 60)), x);
  assert.throws(() => GP.decodeVfioDeviceGfxPlaneInfo(hdr(64, 56)), errno('EINVAL'));
});

test('vfio_device_ioeventfd: 32 bytes, fd @24, size flags', () => {
  assert.equal(IO.VFIO_DEVICE_IOEVENTFD_SIZEOF, 32);
  const x = { argsz: 32, flags: IO.VFIO_DEVICE_IOEVENTFD_32, offset: 0x10000000004n, data: 0xdeadbeefn, fd: 42 };
  const b = IO.encodeVfioDeviceIoeventfd(x);
  assert.equal(dv(b).getInt32(24, true), 42);
  assert.deepEqual(IO.decodeVfioDeviceIoeventfd(b), x);
  assert.equal(IO.vfioIoeventfdWidth(IO.VFIO_DEVICE_IOEVENTFD_64), 8);
  assert.equal(IO.vfioIoeventfdWidth(IO.VFIO_DEVICE_IOEVENTFD_16), 2);
  const bad = (flags: number, fd = 1): Uint8Array => IO.encodeVfioDeviceIoeventfd({ ...x, flags, fd });
  assert.throws(() => IO.decodeVfioDeviceIoeventfd(bad(0)), errno('EINVAL'));
  assert.throws(() => IO.decodeVfioDeviceIoeventfd(bad(3)), errno('EINVAL'));
  assert.throws(() => IO.decodeVfioDeviceIoeventfd(bad(0x10)), errno('EINVAL'));
  assert.throws(() => IO.decodeVfioDeviceIoeventfd(bad(1, -2)), errno('EINVAL'));
  assert.equal(IO.decodeVfioDeviceIoeventfd(bad(1, -1)).fd, -1);
});
