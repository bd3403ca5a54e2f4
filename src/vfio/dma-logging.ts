// Device DMA dirty logging features (drivers/vfio/vfio_main.c vfio_ioctl_device_feature_logging_start/stop/report,
// drivers/vfio/iova_bitmap.c): range checks, then the driver's vfio_log_ops; the report bitmap is user memory.
import { VfioError } from '../uapi/errno.js';
import { VFIO_DEVICE_FEATURE_GET, VFIO_DEVICE_FEATURE_SET, vfioCheckFeature } from '../uapi/feature.js';
import {
  VFIO_DEVICE_FEATURE_DMA_LOGGING_CONTROL_MINSZ,
  VFIO_DEVICE_FEATURE_DMA_LOGGING_CONTROL_SIZEOF,
  VFIO_DEVICE_FEATURE_DMA_LOGGING_RANGE_SIZEOF,
  VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT_MINSZ,
  VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT_SIZEOF,
  VFIO_DMA_LOGGING_MAX_RANGES,
  decodeVfioDeviceFeatureDmaLoggingControl,
  decodeVfioDeviceFeatureDmaLoggingRanges,
  decodeVfioDeviceFeatureDmaLoggingReport,
} from '../uapi/feature-payloads.js';
import { U64_MAX } from './dma-space.js';
import type { VfioDevice } from './vfio-device.js';
import { opsOf } from './vfio-device.js';
import type { DmaLoggingRange } from './vfio-ops.js';
import type { VfioFdTable } from './vfio-file.js';
import { userBuffer, userView } from './vfio-file.js';

const SZ_4K = 4096n;

/** IS_ALIGNED(x, a) on u64s: a mask test, so a page size of 0 aligns only 0 (as the kernel's macro does). */
function isAligned(x: bigint, a: bigint): boolean {
  return (x & ((a - 1n) & U64_MAX)) === 0n;
}

/**
 * vfio_ioctl_device_feature_logging_start(): ENOTTY without log ops; num_ranges 0 is EINVAL, more than
 * LOG_MAX_RANGES E2BIG; each range (read from user memory: EFAULT) must be page_size aligned (EINVAL), must not
 * pass ULONG_MAX (EOVERFLOW) and must not overlap another (EINVAL). The page size the driver chose is written back.
 */
export function vfioIoctlLoggingStart(device: VfioDevice, table: VfioFdTable, flags: number, data: Uint8Array, argsz: number): number {
  const ops = opsOf(device);
  const logStart = ops.logStart;
  if (logStart === undefined) throw new VfioError('ENOTTY', 'device has no DMA logging');
  if (vfioCheckFeature(flags, argsz, VFIO_DEVICE_FEATURE_SET, VFIO_DEVICE_FEATURE_DMA_LOGGING_CONTROL_SIZEOF) !== 1) return 0;
  const control = decodeVfioDeviceFeatureDmaLoggingControl(
    userBuffer(data, VFIO_DEVICE_FEATURE_DMA_LOGGING_CONTROL_MINSZ, 'vfio_device_feature_dma_logging_control'),
  );
  const n = control.numRanges;
  if (n === 0) throw new VfioError('EINVAL', 'no ranges');
  if (n > VFIO_DMA_LOGGING_MAX_RANGES) throw new VfioError('E2BIG', `${n} ranges > ${VFIO_DMA_LOGGING_MAX_RANGES}`);
  const ranges: DmaLoggingRange[] = [];
  const nodes: { start: bigint; last: bigint }[] = [];
  const one = new Uint8Array(VFIO_DEVICE_FEATURE_DMA_LOGGING_RANGE_SIZEOF);
  for (let i = 0; i < n; i++) {
    table.mm.read(control.ranges + BigInt(i * VFIO_DEVICE_FEATURE_DMA_LOGGING_RANGE_SIZEOF), one);
    const [r] = decodeVfioDeviceFeatureDmaLoggingRanges(one, 1);
    if (r === undefined) throw new Error('range decode');
    if (!isAligned(r.iova, control.pageSize) || !isAligned(r.length, control.pageSize)) {
      throw new VfioError('EINVAL', `range ${i} not aligned to the page size`);
    }
    if (r.iova + r.length > U64_MAX) throw new VfioError('EOVERFLOW', `range ${i} passes ULONG_MAX`);
    const node = { start: r.iova, last: (r.iova + r.length - 1n) & U64_MAX };
    if (nodes.some((o) => o.start <= node.last && node.start <= o.last)) throw new VfioError('EINVAL', `range ${i} overlaps another`);
    nodes.push(node);
    ranges.push({ iova: r.iova, length: r.length });
  }
  const pageSize = logStart(device, ranges, control.pageSize);
  userView(data).setBigUint64(0, pageSize, true);
  return 0;
}

/** vfio_ioctl_device_feature_logging_stop(). */
export function vfioIoctlLoggingStop(device: VfioDevice, flags: number, argsz: number): number {
  const logStop = opsOf(device).logStop;
  if (logStop === undefined) throw new VfioError('ENOTTY', 'device has no DMA logging');
  if (vfioCheckFeature(flags, argsz, VFIO_DEVICE_FEATURE_SET, 0) !== 1) return 0;
  logStop(device);
  return 0;
}

/**
 * vfio_ioctl_device_feature_logging_report(): page_size must be a power of two of at least 4 KiB (EINVAL) and
 * iova + length must not pass ULONG_MAX (EOVERFLOW). The driver reports and clears the dirty pages of the range;
 * their bits are set in the user's bitmap (u64 words, bit 0 = iova), which must be backed memory (EFAULT).
 */
export function vfioIoctlLoggingReport(device: VfioDevice, table: VfioFdTable, flags: number, data: Uint8Array, argsz: number): number {
  const readAndClear = opsOf(device).logReadAndClear;
  if (readAndClear === undefined) throw new VfioError('ENOTTY', 'device has no DMA logging');
  if (vfioCheckFeature(flags, argsz, VFIO_DEVICE_FEATURE_GET, VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT_SIZEOF) !== 1) return 0;
  const report = decodeVfioDeviceFeatureDmaLoggingReport(
    userBuffer(data, VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT_MINSZ, 'vfio_device_feature_dma_logging_report'),
  );
  const { iova, length, pageSize } = report;
  if (pageSize < SZ_4K || (pageSize & (pageSize - 1n)) !== 0n) throw new VfioError('EINVAL', `bad page size ${pageSize}`);
  if (iova + length > U64_MAX) throw new VfioError('EOVERFLOW', 'iova + length passes ULONG_MAX');
  if (length === 0n) return 0;
  const nbits = (length - 1n) / pageSize + 1n;
  const bytes = ((nbits + 63n) / 64n) * 8n;
  if (!table.mm.isBacked(report.bitmap, bytes)) throw new VfioError('EFAULT', 'report bitmap is not user memory');
  const bitmap = new Uint8Array(Number(bytes));
  table.mm.read(report.bitmap, bitmap);
  const last = iova + length - 1n;
  readAndClear(device, iova, length, {
    setDirty(dirtyIova: bigint, dirtyLength: bigint): void {
      if (dirtyLength <= 0n) return;
      const s = dirtyIova > iova ? dirtyIova : iova;
      const e = dirtyIova + dirtyLength - 1n < last ? dirtyIova + dirtyLength - 1n : last;
      for (let bit = (s - iova) / pageSize; s <= e && bit <= (e - iova) / pageSize; bit++) {
        const b = Number(bit);
        bitmap[b >> 3] = (bitmap[b >> 3] ?? 0) | (1 << (b & 7));
      }
    },
  });
  table.mm.write(report.bitmap, bitmap);
  return 0;
}
