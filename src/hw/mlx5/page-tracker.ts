// The firmware's page tracker (the PAGE_TRACK general object the kernel's mlx5vf_create_tracker creates): IOVA
// ranges and a page size; every page the VF writes by DMA inside a range is marked, and a report hands the marked
// pages of an IOVA window back and clears them. Limits are the device's caps (pg_track_*).
import { VfioError } from '../../uapi/errno.js';

/** The advanced-virtualization caps that bound a tracker. */
export interface Mlx5TrackerCaps {
  /** pg_track_max_num_range. */
  readonly maxNumRange: number;
  /** pg_track_log_min_page_size / pg_track_log_max_page_size. */
  readonly logMinPageSize: number;
  readonly logMaxPageSize: number;
  /** pg_track_log_min_addr_space / pg_track_log_max_addr_space: log2 of the total length of the ranges. */
  readonly logMinAddrSpace: number;
  readonly logMaxAddrSpace: number;
}

export interface Mlx5TrackRange {
  readonly start: bigint;
  readonly length: bigint;
}

export class Mlx5PageTracker {
  private readonly dirty = new Set<bigint>();
  private readonly pageShift: bigint;
  state = 0;

  /** CREATE_GENERAL_OBJECT(PAGE_TRACK): EINVAL for ranges or a page size past the caps (bad parameter). */
  constructor(
    readonly id: number,
    readonly ranges: readonly Mlx5TrackRange[],
    readonly logPageSize: number,
    caps: Mlx5TrackerCaps,
  ) {
    if (ranges.length === 0 || ranges.length > caps.maxNumRange) throw new VfioError('EINVAL', `${ranges.length} tracker ranges (max ${caps.maxNumRange})`);
    if (logPageSize < caps.logMinPageSize || logPageSize > caps.logMaxPageSize) throw new VfioError('EINVAL', `tracker log page size ${logPageSize}`);
    this.pageShift = BigInt(logPageSize);
  }

  get pageSize(): bigint {
    return 1n << this.pageShift;
  }

  /** The VF wrote [addr, addr + length): marks the tracked pages it touched. */
  recordWrite(addr: bigint, length: number): void {
    if (length <= 0) return;
    const last = addr + BigInt(length) - 1n;
    for (const r of this.ranges) {
      const s = addr > r.start ? addr : r.start;
      const rl = r.start + r.length;
      const e = last < rl ? last : rl;
      for (let p = s >> this.pageShift; s <= e && p <= e >> this.pageShift; p++) this.dirty.add(p << this.pageShift);
    }
  }

  /** MODIFY(REPORTING) over [iova, iova + length): the dirty page addresses there, cleared as they are reported. */
  report(iova: bigint, length: bigint): bigint[] {
    const out: bigint[] = [];
    const end = iova + length;
    for (const page of this.dirty) {
      if (page + this.pageSize > iova && page < end) out.push(page);
    }
    for (const p of out) this.dirty.delete(p);
    return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
}
