// Migrating a device between two vfio-user servers, as a VMM does it (QEMU's hw/vfio/migration.c over the
// protocol's migration commands, vfio-user.rst "Migration"): the target goes to RESUMING; the source runs in
// PRE_COPY while its initial data and then its changes are copied, with the device's DMA logging telling which
// guest pages it dirtied; then the source stops (STOP_COPY), the rest is copied, the target loads it (RESUMING ->
// STOP) and runs. A failure on the way puts the source back to RUNNING: it keeps working.
import * as native from '../native/index.js';
import { VfioError } from '../uapi/errno.js';
import {
  VFIO_DEVICE_STATE_PRE_COPY,
  VFIO_DEVICE_STATE_RESUMING,
  VFIO_DEVICE_STATE_RUNNING,
  VFIO_DEVICE_STATE_STOP,
  VFIO_DEVICE_STATE_STOP_COPY,
  VFIO_MIGRATION_PRE_COPY,
  VFIO_MIGRATION_STOP_COPY,
} from '../uapi/migration.js';
import type { VfioUserClient } from './client.js';
import {
  dmaLoggingReport,
  dmaLoggingStart,
  dmaLoggingStop,
  dmaLoggingSupported,
  migrationDataSize,
  migrationFlags,
  setMigrationState,
} from './client-migration.js';

/** Guest memory the devices DMA to: a file (memfd, /dev/shm) mapped at `iova` on a side. */
export interface MigrationMemory {
  readonly fd: number;
  readonly iova: bigint;
  readonly size: bigint;
}

export type MigrationPhase = 'pre-copy' | 'stop-copy' | 'resume';

export interface MigrationProgress {
  readonly phase: MigrationPhase;
  /** Device state bytes moved so far. */
  readonly bytes: number;
  /** The device's estimate of its STOP_COPY size, when it gives one. */
  readonly estimate: bigint | null;
  readonly iteration: number;
}

export interface MigrateOptions {
  /** Guest memory both devices map: the source's; the target's too unless `targetMemory` is given. */
  readonly memory?: MigrationMemory;
  /** The caller (a VMM) has mapped `memory` on the source itself: only the target gets it mapped. */
  readonly memoryMappedOnSource?: boolean;
  /** The target's own guest memory (same size): the source's is copied there, then its dirty pages. */
  readonly targetMemory?: MigrationMemory;
  /** PRE_COPY rounds at most (default 8). */
  readonly maxIterations?: number;
  /** Stop pre-copying once a round moves at most this many bytes of state and dirty memory (default 64 KiB). */
  readonly convergeBytes?: number;
  /** Bytes per MIG_DATA_READ (default: the server's limit, at most 1 MiB). */
  readonly chunkBytes?: number;
  /** Page size asked of the device's dirty logging (default 4 KiB). */
  readonly pageSize?: bigint;
  readonly onProgress?: (p: MigrationProgress) => void;
  /** The guest's time to run while the source is in PRE_COPY: awaited after each round, before its dirty pages are synced. */
  readonly betweenRounds?: (round: number) => Promise<void>;
}

export interface MigrationResult {
  readonly flags: number;
  readonly bytes: number;
  readonly preCopyBytes: number;
  readonly stopCopyBytes: number;
  readonly iterations: number;
  /** Guest pages the device dirtied during the migration (0 when it does no DMA logging). */
  readonly dirtyPages: number;
  /** Pages copied to the target's memory (only with `targetMemory`). */
  readonly pagesCopied: number;
  /** From the source's stop to the target's RUNNING. */
  readonly downtimeMs: number;
  readonly totalMs: number;
}

/** A migration refused or failed; `source` says what became of the source device. */
export class MigrationError extends Error {
  constructor(
    message: string,
    readonly source: 'running' | 'unknown',
    cause?: unknown,
  ) {
    super(message, { cause });
    this.name = 'MigrationError';
  }
}

/** The layout that must match for two devices to be "of the same kind": flags, regions and their sizes, IRQs. */
async function deviceShape(c: VfioUserClient): Promise<string> {
  const info = await c.getDeviceInfo();
  const regions: string[] = [];
  for (let i = 0; i < info.numRegions; i++) {
    const r = await c.getRegionInfo(i).catch(() => null);
    regions.push(r === null ? '-' : `${r.size}:${r.flags}`);
  }
  return `flags=${info.flags} irqs=${info.numIrqs} regions=${regions.join(',')}`;
}

function pageRuns(bitmap: Uint8Array): [number, number][] {
  const runs: [number, number][] = [];
  for (let bit = 0; bit < bitmap.length * 8; bit++) {
    if (((bitmap[bit >> 3] ?? 0) >> (bit & 7)) & 1) {
      const last = runs[runs.length - 1];
      if (last !== undefined && last[0] + last[1] === bit) last[1]++;
      else runs.push([bit, 1]);
    }
  }
  return runs;
}

/** Migrates the device `src` serves into the device `dst` serves. Both connections stay open. */
export async function migrateDevice(src: VfioUserClient, dst: VfioUserClient, opts: MigrateOptions = {}): Promise<MigrationResult> {
  const t0 = performance.now();
  const flags = await migrationFlags(src);
  if ((flags & VFIO_MIGRATION_STOP_COPY) === 0) throw new MigrationError('the source device does not migrate (no VFIO_MIGRATION_STOP_COPY)', 'running');
  const dstFlags = await migrationFlags(dst);
  if ((dstFlags & VFIO_MIGRATION_STOP_COPY) === 0) throw new MigrationError('the target device does not migrate (no VFIO_MIGRATION_STOP_COPY)', 'running');
  const [srcShape, dstShape] = await Promise.all([deviceShape(src), deviceShape(dst)]);
  if (srcShape !== dstShape) throw new MigrationError(`the target is not the same kind of device (source ${srcShape}; target ${dstShape})`, 'running');

  const maxXfer = Math.min(src.serverCaps?.maxDataXferSize ?? 1 << 20, dst.serverCaps?.maxDataXferSize ?? 1 << 20);
  const chunk = Math.max(1, Math.min(opts.chunkBytes ?? 1 << 20, maxXfer));
  const mem = opts.memory;
  const dstMem = opts.targetMemory ?? mem;
  if (opts.targetMemory !== undefined && (mem === undefined || opts.targetMemory.size !== mem.size)) {
    throw new MigrationError('target memory needs source memory of the same size', 'running');
  }
  const pageSizeAsked = opts.pageSize ?? 4096n;
  let pageSize = pageSizeAsked;
  let logging = false;
  let mapped = false;
  let dstMapped = false;
  let iterations = 0;
  let preCopyBytes = 0;
  let stopCopyBytes = 0;
  let dirtyPages = 0;
  let pagesCopied = 0;
  let estimate: bigint | null = null;
  let srcMoved = false;
  let phase: MigrationPhase = 'pre-copy';
  const progress = (): void => opts.onProgress?.({ phase, bytes: preCopyBytes + stopCopyBytes, estimate, iteration: iterations });

  /** Copies pages of guest memory from the source's file to the target's. */
  const copyPages = (firstPage: number, count: number): void => {
    if (mem === undefined || opts.targetMemory === undefined) return;
    const buf = new Uint8Array(count * Number(pageSize));
    const at = BigInt(firstPage) * pageSize;
    const n = native.pread(mem.fd, buf, at);
    native.pwrite(opts.targetMemory.fd, buf.subarray(0, n), at);
    pagesCopied += count;
  };
  /** Reads the device's dirty log and re-sends those pages; returns the bytes they hold. */
  const syncDirty = async (): Promise<number> => {
    if (!logging || mem === undefined) return 0;
    const bitmap = await dmaLoggingReport(src, mem.iova, mem.size, pageSize);
    let pages = 0;
    for (const [first, count] of pageRuns(bitmap)) {
      copyPages(first, count);
      pages += count;
    }
    dirtyPages += pages;
    return pages * Number(pageSize);
  };
  /** Moves what the source has to the target now; returns the bytes moved. */
  const pump = async (untilEnd: boolean): Promise<number> => {
    let moved = 0;
    for (;;) {
      let data: Buffer;
      try {
        data = await src.migDataRead(chunk);
      } catch (err) {
        // PRE_COPY with nothing new yet: the kernel's variant drivers say ENOMSG.
        if (!untilEnd && VfioError.is(err, 'ENOMSG')) return moved;
        throw err;
      }
      if (data.length > 0) {
        if (phase === 'pre-copy') preCopyBytes += data.length;
        else stopCopyBytes += data.length;
        try {
          await dst.migDataWrite(data);
        } catch (err) {
          const at = preCopyBytes + stopCopyBytes - data.length;
          throw new MigrationError(`the target refused the device state at byte ${at}: ${(err as Error).message}`, 'running', err);
        }
        moved += data.length;
        progress();
      }
      if (data.length < chunk) return moved;
    }
  };

  try {
    if (mem !== undefined && dstMem !== undefined) {
      if (opts.memoryMappedOnSource !== true) {
        await src.dmaMap({ iova: mem.iova, size: mem.size, fd: mem.fd, prot: { read: true, write: true } });
        mapped = true;
      }
      await dst.dmaMap({ iova: dstMem.iova, size: dstMem.size, fd: dstMem.fd, prot: { read: true, write: true } });
      dstMapped = true;
      if (await dmaLoggingSupported(src)) {
        pageSize = await dmaLoggingStart(src, pageSizeAsked, [{ iova: mem.iova, length: mem.size }]);
        logging = true;
      }
      // Everything once; the dirty log then names what changed since.
      if (opts.targetMemory !== undefined) copyPages(0, Number((mem.size + pageSize - 1n) / pageSize));
    }
    estimate = await migrationDataSize(src);
    await setMigrationState(dst, VFIO_DEVICE_STATE_RESUMING);
    srcMoved = true;
    if (flags & VFIO_MIGRATION_PRE_COPY && dstFlags & VFIO_MIGRATION_PRE_COPY) {
      await setMigrationState(src, VFIO_DEVICE_STATE_PRE_COPY);
      const max = opts.maxIterations ?? 8;
      const converge = opts.convergeBytes ?? 64 * 1024;
      while (iterations < max) {
        iterations++;
        let moved = await pump(false);
        if (opts.betweenRounds !== undefined) await opts.betweenRounds(iterations);
        moved += await syncDirty();
        progress();
        if (moved <= converge) break;
      }
    }
    phase = 'stop-copy';
    const stopAt = performance.now();
    await setMigrationState(src, VFIO_DEVICE_STATE_STOP_COPY);
    await pump(true);
    await syncDirty();
    phase = 'resume';
    progress();
    try {
      await setMigrationState(dst, VFIO_DEVICE_STATE_STOP);
    } catch (err) {
      throw new MigrationError(`the target refused the device state: ${(err as Error).message}`, 'running', err);
    }
    await setMigrationState(dst, VFIO_DEVICE_STATE_RUNNING);
    const done = performance.now();
    srcMoved = false;
    await setMigrationState(src, VFIO_DEVICE_STATE_STOP);
    if (logging) await dmaLoggingStop(src).catch(() => {});
    return {
      flags,
      bytes: preCopyBytes + stopCopyBytes,
      preCopyBytes,
      stopCopyBytes,
      iterations,
      dirtyPages,
      pagesCopied,
      downtimeMs: done - stopAt,
      totalMs: done - t0,
    };
  } catch (err) {
    // Undo: the source runs again, the target forgets what it got; neither keeps the migrator's mappings.
    let source: 'running' | 'unknown' = 'running';
    if (srcMoved) await setMigrationState(src, VFIO_DEVICE_STATE_RUNNING).catch(() => (source = 'unknown'));
    if (logging) await dmaLoggingStop(src).catch(() => {});
    await setMigrationState(dst, VFIO_DEVICE_STATE_STOP).catch(() => dst.reset().catch(() => {}));
    if (mapped && mem !== undefined) await src.dmaUnmap({ iova: mem.iova, size: mem.size }).catch(() => {});
    if (dstMapped && dstMem !== undefined) await dst.dmaUnmap({ iova: dstMem.iova, size: dstMem.size }).catch(() => {});
    if (err instanceof MigrationError) throw new MigrationError(err.message, source, err.cause);
    throw new MigrationError(`migration failed: ${(err as Error).message}`, source, err);
  }
}
