// Channel program translation (drivers/s390/cio/vfio_ccw_cp.c as of 6.1): the guest's CCW chains are copied from
// guest memory (vfio_dma_rw), format-0 CCWs converted, TICs followed into new chains, every data area pinned
// (vfio_pin_pages) and described by a format-2 IDAL of host frames; the channel runs the copy; the SCSW's CCW
// address is translated back; everything is unpinned at completion (cp_free) or when the user unmaps it.
import { VfioError } from '../../uapi/errno.js';
import {
  CCW_CMD_NOOP,
  CCW_CMD_TIC,
  CCW_FLAG_CC,
  CCW_FLAG_DC,
  CCW_FLAG_IDA,
  CCW_FLAG_SKIP,
  CCW_SIZE,
  ccw0ToCcw1,
  decodeCcw1,
  encodeCcw1,
} from '../../uapi/s390-cio.js';
import type { Ccw1, CmdOrb, Scsw } from '../../uapi/s390-cio.js';
import { CpStorage, PAGE_SIZE } from './cp-storage.js';

/** CCWCHAIN_LEN_MAX: the most CCWs one chain may hold (and the 2K copied per chain). */
export const CCWCHAIN_LEN_MAX = 256;

/** What translation needs from the device: its DMA access to the user's IOAS. */
export interface CpDeviceAccess {
  dmaRw(iova: bigint, buf: Uint8Array, write: boolean): void;
  pinPages(iova: bigint, npage: number): void;
  unpinPages(iova: bigint, npage: number): void;
}

/** struct page_array: the guest pages behind one CCW (pinned when the CCW transfers data). */
interface PageArray {
  readonly iovas: bigint[];
  pinned: boolean;
}

/** struct ccwchain: a run of CCWs copied from `iova`, with their host copy at `hostAddr`. */
interface CcwChain {
  readonly iova: number;
  readonly ccws: Ccw1[];
  readonly hostAddr: number;
  readonly pa: (PageArray | null)[];
}

const isTic = (c: Ccw1): boolean => c.cmd === CCW_CMD_TIC;
const isChain = (c: Ccw1): boolean => (c.flags & (CCW_FLAG_CC | CCW_FLAG_DC)) !== 0;
const isRead = (c: Ccw1): boolean => (c.cmd & 0x03) === 0x02;
const isReadBackward = (c: Ccw1): boolean => (c.cmd & 0x0f) === 0x0c;
const isSense = (c: Ccw1): boolean => (c.cmd & 0x0f) === 0x04;

/** is_cpa_within_range(). */
function cpaWithin(cpa: number, head: number, len: number): boolean {
  return head <= cpa && cpa <= head + (len - 1) * CCW_SIZE;
}

/** ccw_does_data_transfer(). */
function ccwDoesDataTransfer(c: Ccw1): boolean {
  if (c.count === 0 || c.cmd === CCW_CMD_NOOP) return false;
  if ((c.flags & CCW_FLAG_SKIP) === 0) return true;
  return !(isRead(c) || isReadBackward(c) || isSense(c));
}

/** idal_nr_words(): 4K pages the area [iova, iova + bytes) touches. */
function idalNrWords(iova: bigint, bytes: number): number {
  return Math.ceil((Number(iova % BigInt(PAGE_SIZE)) + bytes) / PAGE_SIZE);
}

/** struct channel_program. */
export class ChannelProgram {
  initialized = false;
  orb: CmdOrb | null = null;
  private chains: CcwChain[] = [];
  readonly storage: CpStorage;

  constructor(private readonly dev: CpDeviceAccess) {
    this.storage = new CpStorage((iova, buf, write) => dev.dmaRw(iova, buf, write));
  }

  /** cp_init(): copies the chains reachable from the ORB's CPA. EBUSY if one is set up already. */
  init(orb: CmdOrb): void {
    if (this.initialized) throw new VfioError('EBUSY', 'channel program already initialized');
    this.orb = { ...orb };
    this.chains = [];
    try {
      this.handleCcw(orb.cpa);
    } catch (err) {
      this.chains = [];
      this.storage.reset();
      throw err;
    }
    this.initialized = true;
    // Safe to force: with IDALs and c64 off, calcLength already refused the program.
    this.orb.c64 = true;
  }

  /** ccwchain_handle_ccw(): one chain from `cda`, then the chains its TICs lead to. */
  private handleCcw(cda: number): void {
    const orb = this.orb;
    if (orb === null) throw new Error('cp: no orb');
    const raw = new Uint8Array(CCWCHAIN_LEN_MAX * CCW_SIZE);
    this.dev.dmaRw(BigInt(cda), raw, false);
    const guest: Ccw1[] = [];
    for (let i = 0; i < CCWCHAIN_LEN_MAX; i++) guest.push(orb.fmt ? decodeCcw1(raw, i * CCW_SIZE) : ccw0ToCcw1(raw, i * CCW_SIZE));
    const len = this.calcLength(cda, guest);
    const ccws = guest.slice(0, len);
    const host = this.storage.alloc(len * CCW_SIZE);
    const chain: CcwChain = { iova: cda, ccws, hostAddr: host.addr, pa: new Array<PageArray | null>(len).fill(null) };
    this.chains.push(chain);
    // ccwchain_loop_tic().
    for (const tic of ccws) {
      if (!isTic(tic)) continue;
      if (this.chains.some((c) => cpaWithin(tic.cda, c.iova, c.ccws.length))) continue;
      this.handleCcw(tic.cda);
    }
  }

  /** ccwchain_calc_length(): EOPNOTSUPP for IDALs other than format-2 4K, EINVAL past CCWCHAIN_LEN_MAX. */
  private calcLength(iova: number, ccws: readonly Ccw1[]): number {
    const orb = this.orb;
    if (orb === null) throw new Error('cp: no orb');
    let cnt = 0;
    for (const ccw of ccws) {
      cnt++;
      // Format-1 IDAWs and 2K format-2 IDAWs are not supported; direct addressing still is.
      if ((!orb.c64 || orb.i2k) && (ccw.flags & CCW_FLAG_IDA) !== 0) throw new VfioError('EOPNOTSUPP', 'only format-2 4K IDAWs');
      // Keep counting while chaining, or through a TIC back into this chain (device orientation loops).
      const ticWithin = isTic(ccw) && cpaWithin(ccw.cda, iova, cnt);
      if (!isChain(ccw) && !ticWithin) return cnt;
    }
    throw new VfioError('EINVAL', `channel program longer than ${CCWCHAIN_LEN_MAX} CCWs`);
  }

  /** cp_prefetch(): translates and pins every CCW's data area; on failure what was pinned is unpinned. */
  prefetch(): void {
    if (!this.initialized) throw new VfioError('EINVAL', 'channel program not initialized');
    try {
      for (const chain of this.chains) {
        chain.ccws.forEach((ccw, i) => {
          chain.ccws[i] = isTic(ccw) ? this.fetchTic(ccw) : this.fetchCcw(chain, i, ccw);
        });
        chain.ccws.forEach((c, i) => {
          const host = this.storage;
          const buf = new Uint8Array(CCW_SIZE);
          encodeCcw1(c, buf);
          host.write(BigInt(chain.hostAddr + i * CCW_SIZE), buf);
        });
      }
    } catch (err) {
      this.unpinAll();
      throw err;
    }
  }

  /** ccwchain_fetch_tic(): the target becomes the host copy's address; EFAULT when no chain holds it. */
  private fetchTic(ccw: Ccw1): Ccw1 {
    const target = this.chains.find((c) => cpaWithin(ccw.cda, c.iova, c.ccws.length));
    if (target === undefined) throw new VfioError('EFAULT', `TIC to 0x${ccw.cda.toString(16)} outside the program`);
    return { ...ccw, cda: target.hostAddr + (ccw.cda - target.iova) };
  }

  /** ccwchain_fetch_ccw(): the data area's pages (from the guest IDAL, or contiguous), pinned, as a host IDAL. */
  private fetchCcw(chain: CcwChain, i: number, ccw: Ccw1): Ccw1 {
    const bytes = ccw.count === 0 ? 1 : ccw.count;
    let iovas: bigint[];
    if ((ccw.flags & CCW_FLAG_IDA) !== 0) {
      const first = new Uint8Array(8);
      this.dev.dmaRw(BigInt(ccw.cda), first, false);
      const n = idalNrWords(new DataView(first.buffer).getBigUint64(0), bytes);
      const idal = new Uint8Array(n * 8);
      this.dev.dmaRw(BigInt(ccw.cda), idal, false);
      const dv = new DataView(idal.buffer);
      iovas = Array.from({ length: n }, (_v, k) => dv.getBigUint64(k * 8));
    } else {
      const start = BigInt(ccw.cda);
      const n = idalNrWords(start, bytes);
      const page0 = start - (start % BigInt(PAGE_SIZE));
      iovas = Array.from({ length: n }, (_v, k) => (k === 0 ? start : page0 + BigInt(k * PAGE_SIZE)));
    }
    const pa: PageArray = { iovas, pinned: false };
    if (ccwDoesDataTransfer(ccw)) {
      // page_array_pin(): page by page, undone on failure.
      let k = 0;
      try {
        for (; k < iovas.length; k++) this.dev.pinPages(pageOf(iovas[k] ?? 0n), 1);
      } catch (err) {
        for (let j = 0; j < k; j++) this.dev.unpinPages(pageOf(iovas[j] ?? 0n), 1);
        throw err;
      }
      pa.pinned = true;
    }
    chain.pa[i] = pa;
    const idal = this.storage.alloc(iovas.length * 8);
    const dv = new DataView(idal.bytes.buffer, idal.bytes.byteOffset);
    iovas.forEach((iova, k) => {
      const offset = k === 0 ? iova % BigInt(PAGE_SIZE) : 0n;
      const frame = pa.pinned ? this.storage.frameOf(pageOf(iova)) : 0n;
      dv.setBigUint64(k * 8, frame + offset);
    });
    return { ...ccw, cda: idal.addr, flags: ccw.flags | CCW_FLAG_IDA };
  }

  /** cp_get_orb(): the ORB the subchannel starts: host CPA, format 1, 64-bit IDAWs, `intparm`, `lpm` if none. */
  getOrb(intparm: number, lpm: number): CmdOrb {
    const orb = this.orb;
    const first = this.chains[0];
    if (!this.initialized || orb === null || first === undefined) throw new VfioError('EINVAL', 'channel program not initialized');
    return { ...orb, intparm, fmt: true, key: 0, lpm: orb.lpm === 0 ? lpm : orb.lpm, cpa: first.hostAddr };
  }

  /** cp_update_scsw(): the host CCW address in `scsw` back to the guest's (one past a chain's end included). */
  updateScsw(scsw: Scsw): Scsw {
    if (!this.initialized) return scsw;
    for (const c of this.chains) {
      if (cpaWithin(scsw.cpa, c.hostAddr, c.ccws.length + 1)) return { ...scsw, cpa: (c.iova + (scsw.cpa - c.hostAddr)) >>> 0 };
    }
    return scsw;
  }

  /** cp_iova_pinned(): whether a pinned page lies in [iova, iova + length). */
  iovaPinned(iova: bigint, length: bigint): boolean {
    if (!this.initialized) return false;
    return this.chains.some((c) => c.pa.some((pa) => pa !== null && pa.pinned && pa.iovas.some((v) => pageOf(v) >= pageOf(iova) && pageOf(v) < iova + length)));
  }

  private unpinAll(): void {
    for (const c of this.chains) {
      for (const pa of c.pa) {
        if (pa === null || !pa.pinned) continue;
        for (const v of pa.iovas) this.dev.unpinPages(pageOf(v), 1);
        pa.pinned = false;
      }
    }
  }

  /** cp_free(): unpins everything and forgets the program. Safe when nothing is set up. */
  free(): void {
    if (!this.initialized && this.chains.length === 0) return;
    this.unpinAll();
    this.chains = [];
    this.storage.reset();
    this.initialized = false;
    this.orb = null;
  }
}

function pageOf(iova: bigint): bigint {
  return iova - (iova % BigInt(PAGE_SIZE));
}
