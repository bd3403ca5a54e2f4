// VFIO_DEVICE_FEATURE payload structs: migration, mig_state, dma_logging_control/range/report, mig_data_size, low power, bus master (include/uapi/linux/vfio.h).
import { VfioError } from './errno.js';
import { needBytes, outBuffer, viewOf } from './codec.js';

/** struct vfio_device_feature_migration: flags u64 @0 (VFIO_MIGRATION_*), 8 bytes. */
export interface VfioDeviceFeatureMigration {
  flags: bigint;
}
export const VFIO_DEVICE_FEATURE_MIGRATION_SIZEOF = 8;

export function decodeVfioDeviceFeatureMigration(buf: Uint8Array): VfioDeviceFeatureMigration {
  needBytes(buf, VFIO_DEVICE_FEATURE_MIGRATION_SIZEOF, 'vfio_device_feature_migration');
  return { flags: viewOf(buf).getBigUint64(0, true) };
}

export function encodeVfioDeviceFeatureMigration(x: VfioDeviceFeatureMigration, into?: Uint8Array): Uint8Array {
  const out = outBuffer(VFIO_DEVICE_FEATURE_MIGRATION_SIZEOF, into, 'vfio_device_feature_migration');
  viewOf(out).setBigUint64(0, x.flags, true);
  return out;
}

/** struct vfio_device_feature_mig_state: device_state u32 @0, data_fd s32 @4 (8 bytes). */
export interface VfioDeviceFeatureMigState {
  deviceState: number;
  /** -1 unless the arc opened a data transfer session. */
  dataFd: number;
}
export const VFIO_DEVICE_FEATURE_MIG_STATE_SIZEOF = 8;
/** offsetofend(struct vfio_device_feature_mig_state, data_fd). */
export const VFIO_DEVICE_FEATURE_MIG_STATE_MINSZ = 8;

export function decodeVfioDeviceFeatureMigState(buf: Uint8Array): VfioDeviceFeatureMigState {
  needBytes(buf, VFIO_DEVICE_FEATURE_MIG_STATE_MINSZ, 'vfio_device_feature_mig_state');
  const dv = viewOf(buf);
  return { deviceState: dv.getUint32(0, true), dataFd: dv.getInt32(4, true) };
}

export function encodeVfioDeviceFeatureMigState(x: VfioDeviceFeatureMigState, into?: Uint8Array): Uint8Array {
  const out = outBuffer(VFIO_DEVICE_FEATURE_MIG_STATE_SIZEOF, into, 'vfio_device_feature_mig_state');
  const dv = viewOf(out);
  dv.setUint32(0, x.deviceState, true);
  dv.setInt32(4, x.dataFd, true);
  return out;
}

/** struct vfio_device_feature_dma_logging_control: page_size u64 @0, num_ranges @8, __reserved @12, ranges u64 @16 (a user pointer). */
export interface VfioDeviceFeatureDmaLoggingControl {
  pageSize: bigint;
  numRanges: number;
  ranges: bigint;
}
export const VFIO_DEVICE_FEATURE_DMA_LOGGING_CONTROL_SIZEOF = 24;
/** offsetofend(struct vfio_device_feature_dma_logging_control, ranges). */
export const VFIO_DEVICE_FEATURE_DMA_LOGGING_CONTROL_MINSZ = 24;

export function decodeVfioDeviceFeatureDmaLoggingControl(buf: Uint8Array): VfioDeviceFeatureDmaLoggingControl {
  needBytes(buf, VFIO_DEVICE_FEATURE_DMA_LOGGING_CONTROL_MINSZ, 'vfio_device_feature_dma_logging_control');
  const dv = viewOf(buf);
  return { pageSize: dv.getBigUint64(0, true), numRanges: dv.getUint32(8, true), ranges: dv.getBigUint64(16, true) };
}

export function encodeVfioDeviceFeatureDmaLoggingControl(
  x: VfioDeviceFeatureDmaLoggingControl,
  into?: Uint8Array,
): Uint8Array {
  const out = outBuffer(VFIO_DEVICE_FEATURE_DMA_LOGGING_CONTROL_SIZEOF, into, 'vfio_device_feature_dma_logging_control');
  const dv = viewOf(out);
  dv.setBigUint64(0, x.pageSize, true);
  dv.setUint32(8, x.numRanges, true);
  dv.setUint32(12, 0, true);
  dv.setBigUint64(16, x.ranges, true);
  return out;
}

/** struct vfio_device_feature_dma_logging_range: iova u64 @0, length u64 @8 (16 bytes). */
export interface VfioDeviceFeatureDmaLoggingRange {
  iova: bigint;
  length: bigint;
}
export const VFIO_DEVICE_FEATURE_DMA_LOGGING_RANGE_SIZEOF = 16;
/** LOG_MAX_RANGES in vfio_main.c: as many ranges as fit in one 4 KiB page; more is E2BIG. */
export const VFIO_DMA_LOGGING_MAX_RANGES = 4096 / VFIO_DEVICE_FEATURE_DMA_LOGGING_RANGE_SIZEOF;

/** Reads `count` ranges packed at the start of `buf` (the array `ranges` points at); EINVAL if short. */
export function decodeVfioDeviceFeatureDmaLoggingRanges(buf: Uint8Array, count: number): VfioDeviceFeatureDmaLoggingRange[] {
  if (buf.byteLength < count * VFIO_DEVICE_FEATURE_DMA_LOGGING_RANGE_SIZEOF) {
    throw new VfioError('EINVAL', `dma_logging_range: ${count} ranges do not fit in ${buf.byteLength} bytes`);
  }
  const dv = viewOf(buf);
  const out: VfioDeviceFeatureDmaLoggingRange[] = [];
  for (let i = 0; i < count; i++) out.push({ iova: dv.getBigUint64(i * 16, true), length: dv.getBigUint64(i * 16 + 8, true) });
  return out;
}

export function encodeVfioDeviceFeatureDmaLoggingRanges(
  ranges: readonly VfioDeviceFeatureDmaLoggingRange[],
  into?: Uint8Array,
): Uint8Array {
  const out = outBuffer(ranges.length * VFIO_DEVICE_FEATURE_DMA_LOGGING_RANGE_SIZEOF, into, 'dma_logging_range[]');
  const dv = viewOf(out);
  ranges.forEach((r, i) => {
    dv.setBigUint64(i * 16, r.iova, true);
    dv.setBigUint64(i * 16 + 8, r.length, true);
  });
  return out;
}

/** struct vfio_device_feature_dma_logging_report: iova @0, length @8, page_size @16, bitmap @24 (all u64; 32 bytes). */
export interface VfioDeviceFeatureDmaLoggingReport {
  iova: bigint;
  length: bigint;
  pageSize: bigint;
  bitmap: bigint;
}
export const VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT_SIZEOF = 32;
/** offsetofend(struct vfio_device_feature_dma_logging_report, bitmap). */
export const VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT_MINSZ = 32;

export function decodeVfioDeviceFeatureDmaLoggingReport(buf: Uint8Array): VfioDeviceFeatureDmaLoggingReport {
  needBytes(buf, VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT_MINSZ, 'vfio_device_feature_dma_logging_report');
  const dv = viewOf(buf);
  return {
    iova: dv.getBigUint64(0, true),
    length: dv.getBigUint64(8, true),
    pageSize: dv.getBigUint64(16, true),
    bitmap: dv.getBigUint64(24, true),
  };
}

export function encodeVfioDeviceFeatureDmaLoggingReport(
  x: VfioDeviceFeatureDmaLoggingReport,
  into?: Uint8Array,
): Uint8Array {
  const out = outBuffer(VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT_SIZEOF, into, 'vfio_device_feature_dma_logging_report');
  const dv = viewOf(out);
  dv.setBigUint64(0, x.iova, true);
  dv.setBigUint64(8, x.length, true);
  dv.setBigUint64(16, x.pageSize, true);
  dv.setBigUint64(24, x.bitmap, true);
  return out;
}

/** struct vfio_device_feature_mig_data_size: stop_copy_length u64 @0 (8 bytes). */
export interface VfioDeviceFeatureMigDataSize {
  stopCopyLength: bigint;
}
export const VFIO_DEVICE_FEATURE_MIG_DATA_SIZE_SIZEOF = 8;

export function decodeVfioDeviceFeatureMigDataSize(buf: Uint8Array): VfioDeviceFeatureMigDataSize {
  needBytes(buf, VFIO_DEVICE_FEATURE_MIG_DATA_SIZE_SIZEOF, 'vfio_device_feature_mig_data_size');
  return { stopCopyLength: viewOf(buf).getBigUint64(0, true) };
}

export function encodeVfioDeviceFeatureMigDataSize(x: VfioDeviceFeatureMigDataSize, into?: Uint8Array): Uint8Array {
  const out = outBuffer(VFIO_DEVICE_FEATURE_MIG_DATA_SIZE_SIZEOF, into, 'vfio_device_feature_mig_data_size');
  viewOf(out).setBigUint64(0, x.stopCopyLength, true);
  return out;
}

/** struct vfio_device_low_power_entry_with_wakeup: wakeup_eventfd s32 @0, reserved @4 (8 bytes). */
export interface VfioDeviceLowPowerEntryWithWakeup {
  wakeupEventfd: number;
}
export const VFIO_DEVICE_LOW_POWER_ENTRY_WITH_WAKEUP_SIZEOF = 8;

export function decodeVfioDeviceLowPowerEntryWithWakeup(buf: Uint8Array): VfioDeviceLowPowerEntryWithWakeup {
  needBytes(buf, VFIO_DEVICE_LOW_POWER_ENTRY_WITH_WAKEUP_SIZEOF, 'vfio_device_low_power_entry_with_wakeup');
  return { wakeupEventfd: viewOf(buf).getInt32(0, true) };
}

export function encodeVfioDeviceLowPowerEntryWithWakeup(x: VfioDeviceLowPowerEntryWithWakeup, into?: Uint8Array): Uint8Array {
  const out = outBuffer(VFIO_DEVICE_LOW_POWER_ENTRY_WITH_WAKEUP_SIZEOF, into, 'vfio_device_low_power_entry_with_wakeup');
  const dv = viewOf(out);
  dv.setInt32(0, x.wakeupEventfd, true);
  dv.setUint32(4, 0, true);
  return out;
}

/** struct vfio_device_feature_bus_master: op u32 @0 (4 bytes). */
export const VFIO_DEVICE_FEATURE_CLEAR_MASTER = 0;
export const VFIO_DEVICE_FEATURE_SET_MASTER = 1;
export const VFIO_DEVICE_FEATURE_BUS_MASTER_SIZEOF = 4;

export function decodeVfioDeviceFeatureBusMaster(buf: Uint8Array): { op: number } {
  needBytes(buf, VFIO_DEVICE_FEATURE_BUS_MASTER_SIZEOF, 'vfio_device_feature_bus_master');
  return { op: viewOf(buf).getUint32(0, true) };
}

export function encodeVfioDeviceFeatureBusMaster(x: { op: number }, into?: Uint8Array): Uint8Array {
  const out = outBuffer(VFIO_DEVICE_FEATURE_BUS_MASTER_SIZEOF, into, 'vfio_device_feature_bus_master');
  viewOf(out).setUint32(0, x.op, true);
  return out;
}
