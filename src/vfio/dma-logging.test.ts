// DMA logging features (vfio_ioctl_device_feature_logging_*): ENOTTY without log ops, range checks with the kernel's
// errno, the driver's page size written back, the report bitmap set in user memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VFIO_DEVICE_FEATURE } from '../uapi/ioctl.js';
import {
  VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT,
  VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
  VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP,
  VFIO_DEVICE_FEATURE_GET,
  VFIO_DEVICE_FEATURE_SET,
} from '../uapi/feature.js';
import type { DmaLoggingRange } from './vfio-ops.js';
import { errno, makeKit, openViaGroup, view } from './uapi.test-kit.js';

const VA = 0x10000000n;

function control(pageSize: bigint, numRanges: number, ranges = VA): Uint8Array {
  const b = new Uint8Array(32);
  view(b).setUint32(0, 32, true);
  view(b).setUint32(4, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START, true);
  view(b).setBigUint64(8, pageSize, true);
  view(b).setUint32(16, numRanges, true);
  view(b).setBigUint64(24, ranges, true);
  return b;
}

test('LOGGING_START/STOP/REPORT: ranges from user memory, errno table, page size back, bitmap bits', async () => {
  const started: DmaLoggingRange[][] = [];
  let stopped = 0;
  const k = makeKit({
    ops: {
      logStart: (_d, ranges) => {
        started.push([...ranges]);
        return 0x2000n;
      },
      logStop: () => void stopped++,
      logReadAndClear: (_d, iova, _len, sink) => {
        sink.setDirty(iova + 0x1000n, 0x1000n);
        sink.setDirty(iova + 0x5000n, 0x2000n);
      },
    },
  });
  const plain = k.addDevice('plain');
  const { device } = openViaGroup(k.proc, k.dev);
  const writeRanges = (...r: [bigint, bigint][]): void => {
    const b = new Uint8Array(r.length * 16);
    r.forEach(([iova, len], i) => {
      view(b).setBigUint64(i * 16, iova, true);
      view(b).setBigUint64(i * 16 + 8, len, true);
    });
    k.proc.mm.write(VA, b);
  };
  writeRanges([0x1000n, 0x1000n], [0x1800n, 0x1000n]);
  const cases: [string, Uint8Array, string][] = [
    ['no ranges', control(0x1000n, 0), 'EINVAL'],
    ['too many', control(0x1000n, 257), 'E2BIG'],
    ['unaligned', control(0x2000n, 1), 'EINVAL'],
    ['overlap', control(0x800n, 2), 'EINVAL'],
    ['ranges not in user memory', control(0x1000n, 1, 0x7000000000n), 'EFAULT'],
  ];
  for (const [what, arg, code] of cases) assert.throws(() => k.proc.ioctl(device, VFIO_DEVICE_FEATURE, arg), errno(code as 'EINVAL'), what);
  writeRanges([0xfffffffffffff000n, 0x2000n]);
  assert.throws(() => k.proc.ioctl(device, VFIO_DEVICE_FEATURE, control(0x1000n, 1)), errno('EOVERFLOW'));
  writeRanges([0n, 0x10000n], [0x20000n, 0x1000n]);
  const ok = control(0x1000n, 2);
  k.proc.ioctl(device, VFIO_DEVICE_FEATURE, ok);
  assert.equal(view(ok).getBigUint64(8, true), 0x2000n, 'the page size the driver chose');
  assert.deepEqual(started, [[{ iova: 0n, length: 0x10000n }, { iova: 0x20000n, length: 0x1000n }]]);

  const report = new Uint8Array(40);
  const rv = view(report);
  rv.setUint32(0, 40, true);
  rv.setUint32(4, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, true);
  rv.setBigUint64(8, 0n, true);
  rv.setBigUint64(16, 0x10000n, true);
  rv.setBigUint64(24, 0x1000n, true);
  rv.setBigUint64(32, VA + 0x1000n, true);
  k.proc.mm.write(VA + 0x1000n, new Uint8Array(8));
  k.proc.ioctl(device, VFIO_DEVICE_FEATURE, report);
  const bits = new Uint8Array(8);
  k.proc.mm.read(VA + 0x1000n, bits);
  assert.equal(bits[0], 0b0110_0010);
  rv.setBigUint64(24, 0x1800n, true);
  assert.throws(() => k.proc.ioctl(device, VFIO_DEVICE_FEATURE, report), errno('EINVAL'), 'page size not a power of two');
  rv.setBigUint64(24, 0x800n, true);
  assert.throws(() => k.proc.ioctl(device, VFIO_DEVICE_FEATURE, report), errno('EINVAL'), 'page size < 4K');
  rv.setBigUint64(24, 0x1000n, true);
  rv.setBigUint64(8, 0xffffffffffff0000n, true);
  rv.setBigUint64(16, 0x20000n, true);
  assert.throws(() => k.proc.ioctl(device, VFIO_DEVICE_FEATURE, report), errno('EOVERFLOW'));
  const stop = new Uint8Array(8);
  view(stop).setUint32(0, 8, true);
  view(stop).setUint32(4, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, true);
  k.proc.ioctl(device, VFIO_DEVICE_FEATURE, stop);
  assert.equal(stopped, 1);
  const p = openViaGroup(k.proc, plain);
  for (const arg of [control(0x1000n, 1), stop, report]) assert.throws(() => k.proc.ioctl(p.device, VFIO_DEVICE_FEATURE, arg), errno('ENOTTY'));
  await k.done();
});
