// DMA logging over vfio-user (vfio-user.rst "VFIO_DEVICE_FEATURE_DMA_LOGGING_START" / "_REPORT"): the ranges
// come inline and the bitmap goes back in the reply, where the device file's FEATURE ioctl (the kernel's
// vfio_ioctl_device_feature_logging_start/report) follows user pointers. The translation puts the ranges or
// the bitmap into the connection's process for the duration of the ioctl; every check stays the device file's.
import { VfioError } from '../uapi/errno.js';
import { VFIO_DEVICE_FEATURE } from '../uapi/ioctl.js';
import {
  VFIO_DEVICE_FEATURE_DMA_LOGGING_CONTROL_SIZEOF,
  VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT_SIZEOF,
  encodeVfioDeviceFeatureDmaLoggingControl,
  encodeVfioDeviceFeatureDmaLoggingRanges,
  encodeVfioDeviceFeatureDmaLoggingReport,
} from '../uapi/feature-payloads.js';
import type { DeviceUser } from './device-user.js';
import {
  VFIO_DEVICE_FEATURE_SIZE,
  decodeDmaLoggingControl,
  decodeDmaLoggingReport,
  dmaLoggingBitmapBytes,
  encodeDmaLoggingControl,
  encodeDmaLoggingReport,
} from './protocol/index.js';

function featureIoctl(du: DeviceUser, flags: number, data: Uint8Array): Buffer {
  const arg = Buffer.alloc(VFIO_DEVICE_FEATURE_SIZE + data.length);
  arg.writeUInt32LE(arg.length, 0);
  arg.writeUInt32LE(flags, 4);
  arg.set(data, VFIO_DEVICE_FEATURE_SIZE);
  du.proc.ioctl(du.deviceFd, VFIO_DEVICE_FEATURE, arg);
  return arg.subarray(VFIO_DEVICE_FEATURE_SIZE);
}

/**
 * DMA_LOGGING_START (SET): the reply data is the request's, with the page size the device chose. The spec's
 * num_ranges 0 ("log every write") becomes the connection's DMA mappings; with none, the device's EINVAL.
 */
export function vfioUserDmaLoggingStart(du: DeviceUser, flags: number, data: Uint8Array): Buffer {
  const control = decodeDmaLoggingControl(data);
  const ranges = control.ranges.length > 0 ? control.ranges : du.mappedRanges().sort((a, b) => (a.iova < b.iova ? -1 : 1));
  const rangeBytes = Buffer.from(encodeVfioDeviceFeatureDmaLoggingRanges(ranges.map((r) => ({ iova: r.iova, length: r.length }))));
  const run = (vaddr: bigint): Buffer => {
    const head = encodeVfioDeviceFeatureDmaLoggingControl({ pageSize: control.pageSize, numRanges: ranges.length, ranges: vaddr });
    return featureIoctl(du, flags, head.subarray(0, VFIO_DEVICE_FEATURE_DMA_LOGGING_CONTROL_SIZEOF));
  };
  const out = rangeBytes.length > 0 ? du.withUserBuffer(rangeBytes, run) : run(0n);
  return encodeDmaLoggingControl({ pageSize: out.readBigUInt64LE(0), ranges: control.ranges });
}

/**
 * DMA_LOGGING_REPORT (GET): the reply data is the request's 24 bytes and the bitmap (u64 words, bit n = page n
 * of the range). E2BIG when the bitmap would not fit in `maxReply` bytes of reply data.
 */
export function vfioUserDmaLoggingReport(du: DeviceUser, flags: number, data: Uint8Array, maxReply: number): Buffer {
  const req = decodeDmaLoggingReport(data);
  const bytes = dmaLoggingBitmapBytes(req.length, req.pageSize);
  const replySize = encodeDmaLoggingReport(req).length + bytes;
  if (replySize > maxReply) throw new VfioError('E2BIG', `a bitmap of ${bytes} bytes does not fit a reply of ${maxReply}`);
  const bitmap = Buffer.alloc(Math.max(bytes, 8));
  du.withUserBuffer(bitmap, (vaddr) => {
    const arg = encodeVfioDeviceFeatureDmaLoggingReport({ iova: req.iova, length: req.length, pageSize: req.pageSize, bitmap: vaddr });
    featureIoctl(du, flags, arg.subarray(0, VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT_SIZEOF));
  });
  return encodeDmaLoggingReport(req, bitmap.subarray(0, bytes));
}
