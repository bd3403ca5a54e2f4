// A test device that does DMA on its own and logs it: each tick() writes its counter into the next page of a
// guest buffer (BAR0: 0x00 buffer IOVA u64, 0x08 pages u32, 0x0c counter u32), unless quiesced. It migrates
// with PRE_COPY and P2P and has vfio_log_ops that report the pages it wrote, for the migration tests.
import { VfioError } from '../uapi/errno.js';
import { VFIO_MIGRATION_P2P, VFIO_MIGRATION_PRE_COPY, VFIO_MIGRATION_STOP_COPY } from '../uapi/migration.js';
import { VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE } from '../uapi/region-info.js';
import { vfioDmaRw } from '../vfio/dma-access.js';
import type { DmaLoggingRange, VfioDeviceOps } from '../vfio/vfio-ops.js';
import { pciEmuInit, pciEmuMigrationInit, pciEmuSetRegion } from '../emu/index.js';
import { VfioUserTestDev, testDevOps } from './server.test-kit.js';

const PAGE = 4096n;

/** The ticker's state beside the test device's: what its BAR0 holds, and its dirty log. */
export class TickerDev extends VfioUserTestDev {
  quiesced = false;
  logging: { ranges: readonly DmaLoggingRange[]; pageSize: bigint } | null = null;
  readonly dirty = new Set<bigint>();

  get bufIova(): bigint {
    return Buffer.from(this.bar0.buffer, this.bar0.byteOffset).readBigUInt64LE(0);
  }

  get pages(): number {
    return Buffer.from(this.bar0.buffer, this.bar0.byteOffset).readUInt32LE(8);
  }

  get counter(): number {
    return Buffer.from(this.bar0.buffer, this.bar0.byteOffset).readUInt32LE(12);
  }

  /** One unit of work: counter + 1 written (as u32) at the start of page counter % pages. False when quiesced. */
  tick(): boolean {
    if (this.quiesced || this.pages === 0) return false;
    const next = this.counter + 1;
    const iova = this.bufIova + BigInt(next % this.pages) * PAGE;
    const word = Buffer.alloc(4);
    word.writeUInt32LE(next, 0);
    vfioDmaRw(this, iova, word, true);
    Buffer.from(this.bar0.buffer, this.bar0.byteOffset).writeUInt32LE(next, 12);
    const page = (iova / PAGE) * PAGE;
    if (this.logging?.ranges.some((r) => page >= r.iova && page < r.iova + r.length)) this.dirty.add(page);
    return true;
  }
}

/** Ticker ops; `kind` goes in the migration stream header (a different kind refuses the stream). */
export function tickerOps(kind = 'ticker'): VfioDeviceOps<VfioUserTestDev> {
  const t = (dev: VfioUserTestDev): TickerDev => {
    if (!(dev instanceof TickerDev)) throw new VfioError('EINVAL', 'not a ticker');
    return dev;
  };
  return Object.freeze({
    ...testDevOps,
    name: kind,
    init(dev: VfioUserTestDev) {
      const d = t(dev);
      pciEmuInit(d, { ids: { vendor: 0x1b36, device: 0x0099, classCode: 0xff00 }, bars: [{ index: 0, kind: 'mem32', size: 4096 }] });
      pciEmuSetRegion(d, 0, {
        size: 4096,
        flags: VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
        read: (off, buf) => buf.set(d.bar0.subarray(off, off + buf.length)),
        write: (off, buf) => d.bar0.set(buf, off),
      });
      pciEmuMigrationInit(d, {
        device: kind,
        version: 1,
        flags: VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY,
        save: () => ({ regs: Buffer.from(d.bar0.subarray(0, 16)).toString('hex') }),
        load: (s: unknown) => {
          if (typeof s !== 'object' || s === null || !('regs' in s) || typeof s.regs !== 'string') throw new VfioError('EINVAL', 'bad state');
          d.bar0.set(Buffer.from(s.regs, 'hex').subarray(0, 16), 0);
        },
        quiesce: () => (d.quiesced = true),
        unquiesce: () => (d.quiesced = false),
      });
    },
    release() {},
    logStart(dev: VfioUserTestDev, ranges: readonly DmaLoggingRange[], pageSize: bigint) {
      const d = t(dev);
      if (d.logging !== null) throw new VfioError('EBUSY', 'already logging');
      // The device tracks 4 KiB pages whatever is asked, as a device page tracker with one page size would.
      d.logging = { ranges, pageSize: PAGE };
      d.dirty.clear();
      return PAGE;
    },
    logStop(dev: VfioUserTestDev) {
      const d = t(dev);
      d.logging = null;
      d.dirty.clear();
    },
    logReadAndClear(dev: VfioUserTestDev, iova: bigint, length: bigint, sink) {
      const d = t(dev);
      for (const page of [...d.dirty]) {
        if (page >= iova && page < iova + length) {
          sink.setDirty(page, PAGE);
          d.dirty.delete(page);
        }
      }
    },
  } satisfies VfioDeviceOps<VfioUserTestDev>);
}
