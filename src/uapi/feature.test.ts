// Tests for VFIO_DEVICE_FEATURE framing, vfio_check_feature(), the feature payloads and vfio_precopy_info.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioError } from './errno.js';
import type { ErrnoName } from './errno.js';
import * as F from './feature.js';
import * as P from './feature-payloads.js';
import * as M from './migration.js';

const errno = (code: ErrnoName) => (e: unknown): boolean => VfioError.is(e, code);
const dv = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

test('feature ids and flag bits match vfio.h', () => {
  assert.deepEqual([F.VFIO_DEVICE_FEATURE_MASK, F.VFIO_DEVICE_FEATURE_GET, F.VFIO_DEVICE_FEATURE_SET, F.VFIO_DEVICE_FEATURE_PROBE], [0xffff, 0x10000, 0x20000, 0x40000]);
  assert.deepEqual(
    [F.VFIO_DEVICE_FEATURE_PCI_VF_TOKEN, F.VFIO_DEVICE_FEATURE_MIGRATION, F.VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, F.VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY,
      F.VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP, F.VFIO_DEVICE_FEATURE_LOW_POWER_EXIT, F.VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
      F.VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, F.VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, F.VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, F.VFIO_DEVICE_FEATURE_BUS_MASTER],
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
  assert.equal(F.vfioDeviceFeatureName(2), 'VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE');
  assert.equal(F.vfioDeviceFeatureName(99), 'FEATURE(99)');
});

test('vfio_device_feature: 8-byte header + data, round trip', () => {
  const payload = P.encodeVfioDeviceFeatureMigState({ deviceState: M.VFIO_DEVICE_STATE_STOP_COPY, dataFd: -1 });
  const f = F.vfioDeviceFeatureOf(F.VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, F.VFIO_DEVICE_FEATURE_SET, payload);
  const b = F.encodeVfioDeviceFeature(f);
  assert.equal(b.byteLength, 16);
  assert.deepEqual([dv(b).getUint32(0, true), dv(b).getUint32(4, true)], [16, 0x20002]);
  const d = F.decodeVfioDeviceFeature(b);
  assert.equal(F.vfioDeviceFeatureId(d.flags), 2);
  assert.deepEqual(P.decodeVfioDeviceFeatureMigState(d.data), { deviceState: 3, dataFd: -1 });
  // data is capped at argsz
  const extra = new Uint8Array(32);
  extra.set(b);
  assert.equal(F.decodeVfioDeviceFeature(extra).data.byteLength, 8);
});

test('vfio_device_feature: structural EINVALs of vfio_ioctl_device_feature', () => {
  const raw = (argsz: number, flags: number): Uint8Array => F.encodeVfioDeviceFeature({ argsz, flags, data: new Uint8Array(0) });
  const einval = errno('EINVAL');
  assert.throws(() => F.decodeVfioDeviceFeature(raw(7, F.VFIO_DEVICE_FEATURE_GET | 1)), einval);
  assert.throws(() => F.decodeVfioDeviceFeature(raw(8, 1 << 19)), einval);
  assert.throws(() => F.decodeVfioDeviceFeature(raw(8, F.VFIO_DEVICE_FEATURE_GET | F.VFIO_DEVICE_FEATURE_SET | 1)), einval);
  const probe = F.decodeVfioDeviceFeature(raw(8, F.VFIO_DEVICE_FEATURE_PROBE | F.VFIO_DEVICE_FEATURE_GET | F.VFIO_DEVICE_FEATURE_SET | 1));
  assert.equal(F.vfioDeviceFeatureId(probe.flags), 1);
});

test('vfioCheckFeature mirrors vfio_check_feature', () => {
  const { VFIO_DEVICE_FEATURE_GET: GET, VFIO_DEVICE_FEATURE_SET: SET, VFIO_DEVICE_FEATURE_PROBE: PROBE } = F;
  const einval = errno('EINVAL');
  assert.equal(F.vfioCheckFeature(GET, 8, GET, 8), 1);
  assert.equal(F.vfioCheckFeature(PROBE | GET, 0, GET, 8), 0);
  assert.equal(F.vfioCheckFeature(PROBE, 0, GET, 8), 0);
  assert.throws(() => F.vfioCheckFeature(PROBE | SET, 0, GET, 8), einval);
  assert.throws(() => F.vfioCheckFeature(SET, 8, GET, 8), einval);
  assert.throws(() => F.vfioCheckFeature(0, 8, GET | SET, 8), einval);
  assert.throws(() => F.vfioCheckFeature(GET, 7, GET, 8), einval);
});

test('payload layouts: migration 8, mig_state 8, dma_logging_control 24 + ranges 16, report 32, mig_data_size 8', () => {
  const mig = P.encodeVfioDeviceFeatureMigration({ flags: BigInt(M.VFIO_MIGRATION_STOP_COPY | M.VFIO_MIGRATION_P2P) });
  assert.equal(mig.byteLength, 8);
  assert.deepEqual(P.decodeVfioDeviceFeatureMigration(mig), { flags: 3n });

  const st = P.encodeVfioDeviceFeatureMigState({ deviceState: 4, dataFd: 17 });
  assert.deepEqual([dv(st).getUint32(0, true), dv(st).getInt32(4, true)], [4, 17]);

  const ctl = { pageSize: 4096n, numRanges: 2, ranges: 0x7000_1000n };
  const cb = P.encodeVfioDeviceFeatureDmaLoggingControl(ctl);
  assert.equal(cb.byteLength, 24);
  assert.deepEqual([dv(cb).getUint32(8, true), dv(cb).getBigUint64(16, true)], [2, 0x7000_1000n]);
  assert.deepEqual(P.decodeVfioDeviceFeatureDmaLoggingControl(cb), ctl);
  const ranges = [{ iova: 0n, length: 0x100000n }, { iova: 0x200000n, length: 0x1000n }];
  const rb = P.encodeVfioDeviceFeatureDmaLoggingRanges(ranges);
  assert.equal(rb.byteLength, 32);
  assert.deepEqual(P.decodeVfioDeviceFeatureDmaLoggingRanges(rb, 2), ranges);
  assert.throws(() => P.decodeVfioDeviceFeatureDmaLoggingRanges(rb, 3), errno('EINVAL'));
  assert.equal(P.VFIO_DMA_LOGGING_MAX_RANGES, 256);

  const rep = { iova: 0x1000n, length: 0x2000n, pageSize: 4096n, bitmap: 0xdead0000n };
  const repb = P.encodeVfioDeviceFeatureDmaLoggingReport(rep);
  assert.equal(dv(repb).getBigUint64(24, true), 0xdead0000n);
  assert.deepEqual(P.decodeVfioDeviceFeatureDmaLoggingReport(repb), rep);
  assert.throws(() => P.decodeVfioDeviceFeatureDmaLoggingReport(repb.subarray(0, 24)), errno('EINVAL'));

  assert.deepEqual(P.decodeVfioDeviceFeatureMigDataSize(P.encodeVfioDeviceFeatureMigDataSize({ stopCopyLength: 1n << 40n })), { stopCopyLength: 1n << 40n });
  assert.deepEqual(P.decodeVfioDeviceLowPowerEntryWithWakeup(P.encodeVfioDeviceLowPowerEntryWithWakeup({ wakeupEventfd: 9 })), { wakeupEventfd: 9 });
  assert.deepEqual(P.decodeVfioDeviceFeatureBusMaster(P.encodeVfioDeviceFeatureBusMaster({ op: P.VFIO_DEVICE_FEATURE_SET_MASTER })), { op: 1 });
  assert.throws(() => P.decodeVfioDeviceFeatureMigState(new Uint8Array(4)), errno('EINVAL'));
});

test('migration states, support flags and vfio_precopy_info (24 bytes)', () => {
  assert.deepEqual(
    [M.VFIO_DEVICE_STATE_ERROR, M.VFIO_DEVICE_STATE_STOP, M.VFIO_DEVICE_STATE_RUNNING, M.VFIO_DEVICE_STATE_STOP_COPY,
      M.VFIO_DEVICE_STATE_RESUMING, M.VFIO_DEVICE_STATE_RUNNING_P2P, M.VFIO_DEVICE_STATE_PRE_COPY, M.VFIO_DEVICE_STATE_PRE_COPY_P2P],
    [0, 1, 2, 3, 4, 5, 6, 7],
  );
  assert.deepEqual([M.VFIO_MIGRATION_STOP_COPY, M.VFIO_MIGRATION_P2P, M.VFIO_MIGRATION_PRE_COPY], [1, 2, 4]);
  assert.equal(M.vfioDeviceMigStateName(5), 'RUNNING_P2P');
  assert.equal(M.vfioDeviceMigStateName(8), 'STATE(8)');
  const x = { argsz: 24, flags: 0, initialBytes: 1234n, dirtyBytes: 5n };
  const b = M.encodeVfioPrecopyInfo(x);
  assert.deepEqual([dv(b).getBigUint64(8, true), dv(b).getBigUint64(16, true)], [1234n, 5n]);
  assert.deepEqual(M.decodeVfioPrecopyInfo(b), x);
  assert.throws(() => M.decodeVfioPrecopyInfo(M.encodeVfioPrecopyInfo({ ...x, argsz: 16 })), errno('EINVAL'));
});
