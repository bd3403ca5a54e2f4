// The command side of mlx5-vfio-pci (drivers/vfio/pci/mlx5/cmd.c): whether a VF may migrate (mlx5vf_cmd_set_migratable,
// read from the PF's caps by the VF's vhca_id), closing it on the last close, and the page tracker behind the
// core's dirty-logging ops (mlx5vf_start_page_tracker with its limits, mlx5vf_tracker_read_and_clear).
import { Mlx5Pf } from '../../hw/mlx5/pf.js';
import { pciIovVfId } from '../../hw/pci/iov.js';
import { VfioError } from '../../uapi/errno.js';
import { VFIO_MIGRATION_P2P, VFIO_MIGRATION_PRE_COPY, VFIO_MIGRATION_STOP_COPY } from '../../uapi/migration.js';
import type { DirtyBitmapSink, DmaLoggingRange } from '../../vfio/vfio-ops.js';
import { pdevOf } from '../vfio-pci-core/core-device.js';
import type { Mlx5VfPciCoreDevice } from './device.js';
import { fwOf } from './device.js';

/**
 * mlx5vf_cmd_set_migratable(): only a VF whose PF is a ConnectX with the migration caps (migration,
 * migration_multi_load and migration_tracking_state) migrates: STOP_COPY | P2P | PRE_COPY, chunk mode when the
 * firmware saves in chunks. Returns whether the page tracker exists too (adv_virtualization: the log ops).
 * Anything missing leaves the device a plain vfio-pci-core device; it is not an error.
 */
export function mlx5vfCmdSetMigratable(mvdev: Mlx5VfPciCoreDevice): { migratable: boolean; logOps: boolean } {
  const no = { migratable: false, logOps: false };
  const pdev = pdevOf(mvdev);
  if (!pdev.isVirtfn) return no;
  const pf = pdev.physfn?.hw;
  if (!(pf instanceof Mlx5Pf)) return no;
  const vfId = pciIovVfId(pdev);
  if (vfId < 0) return no;
  let caps;
  try {
    caps = pf.fw.queryHcaCap(vfId + 1);
  } catch (err) {
    if (err instanceof VfioError) return no;
    throw err;
  }
  if (!caps.migration || !(caps.migrationMultiLoad && caps.migrationTrackingState)) return no;
  mvdev.fw = pf.fw;
  mvdev.vhcaId = caps.vhcaId;
  mvdev.migrateCap = true;
  mvdev.migrationFlags = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY;
  mvdev.chunkMode = caps.migrationInChunks;
  return { migratable: true, logOps: caps.advVirtualization };
}

/** mlx5vf_cmd_remove_migratable(): the release side; nothing of the PF is held past it. */
export function mlx5vfCmdRemoveMigratable(mvdev: Mlx5VfPciCoreDevice): void {
  mvdev.fw = null;
  mvdev.migrateCap = false;
}

/** _mlx5vf_free_page_tracker_resources(). */
export function mlx5vfFreePageTracker(mvdev: Mlx5VfPciCoreDevice): void {
  if (!mvdev.logActive) return;
  fwOf(mvdev).destroyPageTrack(mvdev.trackerId);
  mvdev.logActive = false;
}

/**
 * combine_ranges(): more ranges than the tracker takes are merged, the pair with the smallest gap first, until
 * `max` are left (one: a single range from the first start to the last end). `ranges` is sorted by start.
 */
export function mlx5vfCombineRanges(ranges: readonly DmaLoggingRange[], max: number): { start: bigint; last: bigint }[] {
  const nodes = [...ranges].sort((a, b) => (a.iova < b.iova ? -1 : a.iova > b.iova ? 1 : 0)).map((r) => ({ start: r.iova, last: r.iova + r.length - 1n }));
  if (max === 1 && nodes.length > 0) {
    const first = nodes[0];
    const lastNode = nodes[nodes.length - 1];
    if (first !== undefined && lastNode !== undefined) return [{ start: first.start, last: lastNode.last }];
  }
  while (nodes.length > max) {
    let at = 1;
    let min: bigint | null = null;
    for (let i = 1; i < nodes.length; i++) {
      const gap = (nodes[i]?.start ?? 0n) - (nodes[i - 1]?.last ?? 0n);
      if (min === null || gap < min) {
        min = gap;
        at = i;
      }
    }
    const prev = nodes[at - 1];
    const cur = nodes[at];
    if (prev === undefined || cur === undefined) break;
    prev.last = cur.last;
    nodes.splice(at, 1);
  }
  return nodes;
}

const ilog2 = (x: bigint): number => x.toString(2).length - 1;

/**
 * mlx5vf_start_page_tracker() (log_start): EINVAL while one is active; the page size is clamped into the tracker's
 * [min, max] (not refused); too many ranges are combined; EOPNOTSUPP when log2 of the ranges' total length is
 * outside the tracker's address-space limits. Returns the page size used.
 */
export function mlx5vfStartPageTracker(mvdev: Mlx5VfPciCoreDevice, ranges: readonly DmaLoggingRange[], pageSize: bigint): bigint {
  const fw = fwOf(mvdev);
  if (mvdev.logActive) throw new VfioError('EINVAL', 'dirty tracking is already active');
  const caps = fw.caps.tracker;
  let logPage = ilog2(pageSize);
  if (logPage < caps.logMinPageSize) logPage = caps.logMinPageSize;
  else if (logPage > caps.logMaxPageSize) logPage = caps.logMaxPageSize;
  const nodes = ranges.length > caps.maxNumRange ? mlx5vfCombineRanges(ranges, caps.maxNumRange) : mlx5vfCombineRanges(ranges, ranges.length);
  // The kernel programs each range with length last - start, and sizes the address space from their sum.
  const total = nodes.reduce((n, r) => n + (r.last - r.start), 0n);
  const logSpace = total > 0n ? ilog2(total) : 0;
  if (logSpace < caps.logMinAddrSpace || logSpace > caps.logMaxAddrSpace) {
    throw new VfioError('EOPNOTSUPP', `tracked address space 2^${logSpace} outside 2^${caps.logMinAddrSpace}..2^${caps.logMaxAddrSpace}`);
  }
  mvdev.trackerId = fw.createPageTrack(mvdev.vhcaId, nodes.map((r) => ({ start: r.start, length: r.last - r.start + 1n })), logPage);
  mvdev.trackedPageSize = 1n << BigInt(logPage);
  mvdev.logActive = true;
  return mvdev.trackedPageSize;
}

/** mlx5vf_stop_page_tracker() (log_stop). */
export function mlx5vfStopPageTracker(mvdev: Mlx5VfPciCoreDevice): void {
  mlx5vfFreePageTracker(mvdev);
}

/** mlx5vf_tracker_read_and_clear() (log_read_and_clear): EINVAL without an active tracker. */
export function mlx5vfTrackerReadAndClear(mvdev: Mlx5VfPciCoreDevice, iova: bigint, length: bigint, sink: DirtyBitmapSink): void {
  if (!mvdev.logActive) throw new VfioError('EINVAL', 'dirty tracking is not active');
  for (const page of fwOf(mvdev).modifyPageTrackReport(mvdev.trackerId, iova, length)) sink.setDirty(page, mvdev.trackedPageSize);
}
