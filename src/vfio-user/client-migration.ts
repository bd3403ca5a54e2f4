// The migration side of a vfio-user client (vfio-user.rst "VFIO_USER_DEVICE_FEATURE", "Migration"): the
// features a VMM uses to migrate a device, typed. Errors are the server's errno as VfioError.
import { VfioError } from '../uapi/errno.js';
import type { VfioUserClient } from './client.js';
import {
  VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT,
  VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
  VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP,
  VFIO_DEVICE_FEATURE_GET,
  VFIO_DEVICE_FEATURE_MIGRATION,
  VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
  VFIO_DEVICE_FEATURE_PROBE,
  VFIO_DEVICE_FEATURE_SET,
  VFIO_DEVICE_FEATURE_SIZE,
  VFIO_USER_DMA_LOGGING_REPORT_SIZE,
  dmaLoggingBitmapBytes,
  encodeDeviceFeature,
  encodeDmaLoggingControl,
  encodeDmaLoggingReport,
} from './protocol/index.js';

/** VFIO_DEVICE_FEATURE_MIG_DATA_SIZE: not in the spec's table, answered by devices that have it. */
const VFIO_DEVICE_FEATURE_MIG_DATA_SIZE = 9;

async function featureGet(c: VfioUserClient, feature: number, dataBytes: number, data?: Uint8Array): Promise<Buffer> {
  const flags = VFIO_DEVICE_FEATURE_GET | feature;
  const reply = await c.feature(encodeDeviceFeature(flags, data, VFIO_DEVICE_FEATURE_SIZE + dataBytes));
  return reply.subarray(VFIO_DEVICE_FEATURE_SIZE);
}

async function featureSet(c: VfioUserClient, feature: number, data?: Uint8Array): Promise<Buffer> {
  const reply = await c.feature(encodeDeviceFeature(VFIO_DEVICE_FEATURE_SET | feature, data));
  return reply.subarray(VFIO_DEVICE_FEATURE_SIZE);
}

/** VFIO_DEVICE_FEATURE_MIGRATION: the device's VFIO_MIGRATION_* flags; 0 when it does not migrate. */
export async function migrationFlags(c: VfioUserClient): Promise<number> {
  try {
    const data = await featureGet(c, VFIO_DEVICE_FEATURE_MIGRATION, 8);
    if (data.length < 8) throw new VfioError('EPROTO', `MIGRATION reply of ${data.length} bytes`);
    return Number(data.readBigUInt64LE(0) & 0xffff_ffffn);
  } catch (err) {
    if (VfioError.is(err, 'ENOTTY')) return 0;
    throw err;
  }
}

/** VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE GET. */
export async function migrationState(c: VfioUserClient): Promise<number> {
  const data = await featureGet(c, VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, 8);
  if (data.length < 4) throw new VfioError('EPROTO', `MIG_DEVICE_STATE reply of ${data.length} bytes`);
  return data.readUInt32LE(0);
}

/** VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE SET: the device takes the arcs to `state` (data moves with MIG_DATA_*). */
export async function setMigrationState(c: VfioUserClient, state: number): Promise<void> {
  const data = Buffer.alloc(8);
  data.writeUInt32LE(state, 0);
  data.writeInt32LE(-1, 4);
  await featureSet(c, VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, data);
}

/** VFIO_DEVICE_FEATURE_MIG_DATA_SIZE: the device's estimate of its STOP_COPY bytes, or null when it has none. */
export async function migrationDataSize(c: VfioUserClient): Promise<bigint | null> {
  try {
    const data = await featureGet(c, VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, 8);
    return data.length >= 8 ? data.readBigUInt64LE(0) : null;
  } catch (err) {
    if (err instanceof VfioError) return null;
    throw err;
  }
}

/** Whether the device does DMA logging (a PROBE of DMA_LOGGING_START with SET). */
export async function dmaLoggingSupported(c: VfioUserClient): Promise<boolean> {
  try {
    await c.feature(encodeDeviceFeature(VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START));
    return true;
  } catch (err) {
    if (VfioError.is(err, 'ENOTTY')) return false;
    throw err;
  }
}

/** DMA_LOGGING_START: logs the device's DMA writes to `ranges` (none: every mapping); the page size it chose. */
export async function dmaLoggingStart(c: VfioUserClient, pageSize: bigint, ranges: readonly { iova: bigint; length: bigint }[] = []): Promise<bigint> {
  const data = await featureSet(c, VFIO_DEVICE_FEATURE_DMA_LOGGING_START, encodeDmaLoggingControl({ pageSize, ranges }));
  if (data.length < 8) throw new VfioError('EPROTO', `DMA_LOGGING_START reply of ${data.length} bytes`);
  return data.readBigUInt64LE(0);
}

export async function dmaLoggingStop(c: VfioUserClient): Promise<void> {
  await featureSet(c, VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP);
}

/** DMA_LOGGING_REPORT: the dirty bitmap of [iova, iova + length) (bit n = page n), read and cleared. */
export async function dmaLoggingReport(c: VfioUserClient, iova: bigint, length: bigint, pageSize: bigint): Promise<Buffer> {
  const bytes = dmaLoggingBitmapBytes(length, pageSize);
  const data = await featureGet(c, VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, VFIO_USER_DMA_LOGGING_REPORT_SIZE + bytes, encodeDmaLoggingReport({ iova, length, pageSize }));
  if (data.length < VFIO_USER_DMA_LOGGING_REPORT_SIZE + bytes) throw new VfioError('EPROTO', `DMA_LOGGING_REPORT reply of ${data.length} bytes`);
  return data.subarray(VFIO_USER_DMA_LOGGING_REPORT_SIZE, VFIO_USER_DMA_LOGGING_REPORT_SIZE + bytes);
}
