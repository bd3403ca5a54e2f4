// GET_INFO, GET_REGION_INFO (with its cap chain and the too-small-argsz retry) and GET_IRQ_INFO, byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioError } from '../uapi/errno.js';
import {
  VFIO_DEVICE_GET_INFO,
  VFIO_DEVICE_GET_IRQ_INFO,
  VFIO_DEVICE_GET_REGION_INFO,
  VFIO_DEVICE_FEATURE,
} from '../uapi/ioctl.js';
import { VFIO_DEVICE_FLAGS_CAPS, VFIO_DEVICE_FLAGS_PCI, VFIO_DEVICE_FLAGS_RESET } from '../uapi/device-info.js';
import {
  VFIO_REGION_INFO_FLAG_CAPS,
  VFIO_REGION_INFO_FLAG_MMAP,
  VFIO_REGION_INFO_FLAG_READ,
  VFIO_REGION_INFO_FLAG_WRITE,
  decodeVfioRegionInfo,
} from '../uapi/region-info.js';
import { parseVfioInfoCaps } from '../uapi/caps.js';
import {
  VFIO_REGION_INFO_CAP_SPARSE_MMAP,
  VFIO_REGION_INFO_CAP_TYPE,
  decodeVfioRegionCapSparseMmap,
  decodeVfioRegionCapType,
} from '../uapi/region-caps.js';
import { fileIoctl, openTestDev } from './test-device.test-kit.js';

const isErr = (code: string) => (e: unknown) => VfioError.is(e) && e.code === code;

function u32s(buf: Uint8Array): number[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return Array.from({ length: buf.length / 4 }, (_, i) => dv.getUint32(i * 4, true));
}

function regionInfoArg(index: number, argsz = 32): Uint8Array {
  const b = new Uint8Array(argsz);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, argsz, true);
  dv.setUint32(8, index, true);
  return b;
}

test('GET_INFO: PCI|RESET, 10 regions (9 + one device-specific), 5 irqs; 16-byte callers get 16 bytes', async (t) => {
  const { df, done } = openTestDev();
  t.after(done);
  const arg = new Uint8Array(24);
  new DataView(arg.buffer).setUint32(0, 24, true);
  new DataView(arg.buffer).setUint32(4, 0xffff, true);
  assert.equal(fileIoctl(df, VFIO_DEVICE_GET_INFO, arg), 0);
  assert.deepEqual(u32s(arg), [24, VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET, 10, 5, 0, 0]);
  assert.equal(u32s(arg)[1]! & VFIO_DEVICE_FLAGS_CAPS, 0, 'no caps, no CAPS flag');
  const old = new Uint8Array(16);
  new DataView(old.buffer).setUint32(0, 16, true);
  fileIoctl(df, VFIO_DEVICE_GET_INFO, old);
  assert.deepEqual(u32s(old), [16, VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET, 10, 5]);
  const short = new Uint8Array(16);
  new DataView(short.buffer).setUint32(0, 15, true);
  assert.throws(() => fileIoctl(df, VFIO_DEVICE_GET_INFO, short), isErr('EINVAL'));
  assert.throws(() => fileIoctl(df, VFIO_DEVICE_FEATURE + 100, short), isErr('ENOTTY'));
});

test('GET_REGION_INFO: BAR, empty BAR, CONFIG, VGA/past-the-end EINVAL', async (t) => {
  const { df, done } = openTestDev();
  t.after(done);
  const bar0 = regionInfoArg(0);
  fileIoctl(df, VFIO_DEVICE_GET_REGION_INFO, bar0);
  assert.deepEqual(decodeVfioRegionInfo(bar0), {
    argsz: 32,
    flags: VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
    index: 0,
    capOffset: 0,
    size: 16n,
    offset: 0n,
  });
  const bar1 = regionInfoArg(1);
  fileIoctl(df, VFIO_DEVICE_GET_REGION_INFO, bar1);
  assert.deepEqual(decodeVfioRegionInfo(bar1), { argsz: 32, flags: 0, index: 1, capOffset: 0, size: 0n, offset: 1n << 40n });
  const cfg = regionInfoArg(7);
  fileIoctl(df, VFIO_DEVICE_GET_REGION_INFO, cfg);
  assert.equal(decodeVfioRegionInfo(cfg).size, 256n);
  assert.equal(decodeVfioRegionInfo(cfg).offset, 7n << 40n);
  assert.throws(() => fileIoctl(df, VFIO_DEVICE_GET_REGION_INFO, regionInfoArg(8)), isErr('EINVAL'), 'no VGA');
  assert.throws(() => fileIoctl(df, VFIO_DEVICE_GET_REGION_INFO, regionInfoArg(10)), isErr('EINVAL'), 'past the end');
  assert.throws(() => fileIoctl(df, VFIO_DEVICE_GET_REGION_INFO, regionInfoArg(0, 31).subarray(0, 31)), isErr('EINVAL'));
});

test('GET_REGION_INFO with caps: a too-small argsz gets CAPS, cap_offset 0 and the size needed; the retry gets the chain', async (t) => {
  const { df, done } = openTestDev();
  t.after(done);
  const first = regionInfoArg(2);
  fileIoctl(df, VFIO_DEVICE_GET_REGION_INFO, first);
  const a = decodeVfioRegionInfo(first);
  assert.equal(a.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_CAPS);
  assert.equal(a.capOffset, 0);
  assert.equal(a.argsz, 32 + 8 + 8 + 16, 'header + sparse cap with one area');
  const retry = regionInfoArg(2, a.argsz);
  fileIoctl(df, VFIO_DEVICE_GET_REGION_INFO, retry);
  const b = decodeVfioRegionInfo(retry);
  assert.equal(b.capOffset, 32);
  const caps = parseVfioInfoCaps(retry, b.capOffset, 32);
  assert.equal(caps.length, 1);
  assert.equal(caps[0]?.id, VFIO_REGION_INFO_CAP_SPARSE_MMAP);
  assert.deepEqual(decodeVfioRegionCapSparseMmap(caps[0]?.data ?? new Uint8Array()), [{ offset: 4096n, size: 8192n }]);

  const typed = regionInfoArg(9, 64);
  fileIoctl(df, VFIO_DEVICE_GET_REGION_INFO, typed);
  const t9 = decodeVfioRegionInfo(typed);
  assert.equal(t9.argsz, 64, 'a large enough argsz is left as it was');
  assert.equal(t9.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_CAPS);
  const cap = parseVfioInfoCaps(typed, t9.capOffset, 32)[0];
  assert.equal(cap?.id, VFIO_REGION_INFO_CAP_TYPE);
  assert.deepEqual(decodeVfioRegionCapType(cap?.data ?? new Uint8Array()), { type: 1, subtype: 1 });
});

test('GET_IRQ_INFO: INTx maskable+automasked, MSI 4 vectors NORESIZE, MSI-X 0, ERR and REQ 1; index 5 EINVAL', async (t) => {
  const { df, done } = openTestDev();
  t.after(done);
  const got: number[][] = [];
  for (let index = 0; index < 5; index++) {
    const arg = new Uint8Array(16);
    new DataView(arg.buffer).setUint32(0, 16, true);
    new DataView(arg.buffer).setUint32(8, index, true);
    fileIoctl(df, VFIO_DEVICE_GET_IRQ_INFO, arg);
    got.push(u32s(arg));
  }
  assert.deepEqual(got, [
    [16, 0x7, 0, 1],
    [16, 0x9, 1, 4],
    [16, 0x9, 2, 0],
    [16, 0x9, 3, 1],
    [16, 0x9, 4, 1],
  ]);
  const bad = new Uint8Array(16);
  new DataView(bad.buffer).setUint32(0, 16, true);
  new DataView(bad.buffer).setUint32(8, 5, true);
  assert.throws(() => fileIoctl(df, VFIO_DEVICE_GET_IRQ_INFO, bad), isErr('EINVAL'));
});
