// Channel program translation (drivers/s390/cio/vfio_ccw_cp.c as of today's kernel, format-1 and 2K IDAWs
// included since 6.3): the guest's CCW chains are copied from guest memory (vfio_dma_rw), format-0 CCWs converted,
// TICs followed into new chains, every data area described by an IDAL (the guest's, or one fabricated from a direct
// address in IDAW-sized steps), its pages pinned (vfio_pin_pages) and the IDAL rebuilt as format-2 IDAWs of host
// frames; the channel runs the copy (as 2K format-2 IDAWs when the guest used format-1); the SCSW's CCW address is
// translated back; everything is unpinned at completion (cp_free) or when the user unmaps it.
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
/** IDA_BLOCK_SIZE / IDA_2K_BLOCK_SIZE (asm/idals.h): what one format-2 (4K) or format-1 / 2K IDAW addresses. */
const IDA_BLOCK_SIZE = 4096;
const IDA_2K_BLOCK_SIZE = 2048;

/** What translation needs from the device: its DMA access to the user's IOAS. */
export interface CpDeviceAccess {
  dmaRw(iova: bigint, buf: Uint8Array, write: boolean): void;
  pinPages(iova: bigint, npage: number): void;
  unpinPages(iova: bigint, npage: number): void;
}

/** struct page_array: the guest addresses one CCW's IDAWs name; `pinned` when the CCW transfers data. */
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
const isIdal = (c: Ccw1): boolean => (c.flags & CCW_FLAG_IDA) !== 0;
const isChain = (c: Ccw1): boolean => (c.flags & (CCW_FLAG_CC | CCW_FLAG_DC)) !== 0;
const isRead = (c: Ccw1): boolean => (c.cmd & 0x03) === 0x02;
const isReadBackward = (c: Ccw1): boolean => (c.cmd & 0x0f) === 0x0c;
const isSense = (c: Ccw1): boolean => (c.cmd & 0x0f) === 0x04;
/** idal_is_2k(): format-1 IDAWs (no c64) and 2K format-2 IDAWs (i2k) each address 2K. */
const idalIs2k = (orb: CmdOrb): boolean => !orb.c64 || orb.i2k;

/** is_cpa_within_range(): `cpa` names one of the `len` CCWs from `head` (end points included). */
function cpaWithin(cpa: number, head: number, len: number): boolean {
  return head <= cpa && cpa <= head + (len - 1) * CCW_SIZE;
}

/** ccw_does_data_transfer(): whether the CCW moves data, so that its pages must be pinned. */
function ccwDoesDataTransfer(c: Ccw1): boolean {
  if (c.count === 0 || c.cmd === CCW_CMD_NOOP) return false;
  if ((c.flags & CCW_FLAG_SKIP) === 0) return true;
  return !(isRead(c) || isReadBackward(c) || isSense(c));
}

/** idal_nr_words() / idal_2k_nr_words(): blocks of `block` bytes the area [addr, addr + bytes) touches. */
function idalNrWords(addr: bigint, bytes: number, block: number): number {
  return Math.ceil((Number(addr % BigInt(block)) + bytes) / block);
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

  /**
   * cp_init(): copies the chains reachable from the ORB's CPA. EBUSY if one is set up already. A program without
   * the prefetch bit is prefetched anyway (the kernel only warns).
   */
  init(orb: CmdOrb): void {
    if (this.initialized) throw new VfioError('EBUSY', 'channel program already initialized');
    this.orb = { ...orb };
    this.chains = [];
    try {
      this.handleCcw(orb.cpa);
    } catch (err) {
      this.chains = [];
      this.storage.reset();
      this.orb = null;
      throw err;
    }
    this.initialized = true;
  }

  private theOrb(): CmdOrb {
    if (this.orb === null) throw new Error('cp: no orb');
    return this.orb;
  }

  /** ccwchain_handle_ccw(): one chain from `cda`, then the chains its TICs lead to (ccwchain_loop_tic). */
  private handleCcw(cda: number): void {
    const orb = this.theOrb();
    const raw = new Uint8Array(CCWCHAIN_LEN_MAX * CCW_SIZE);
    this.dev.dmaRw(BigInt(cda), raw, false);
    const guest: Ccw1[] = [];
    for (let i = 0; i < CCWCHAIN_LEN_MAX; i++) guest.push(orb.fmt ? decodeCcw1(raw, i * CCW_SIZE) : ccw0ToCcw1(raw, i * CCW_SIZE));
    const len = calcLength(cda, guest);
    const ccws = guest.slice(0, len);
    const host = this.storage.alloc(len * CCW_SIZE);
    const chain: CcwChain = { iova: cda, ccws, hostAddr: host.addr, pa: new Array<PageArray | null>(len).fill(null) };
    this.chains.push(chain);
    for (const tic of ccws) {
      if (!isTic(tic)) continue;
      // tic_target_chain_exists(): a TIC into a chain already copied needs no new one.
      if (this.chains.some((c) => cpaWithin(tic.cda, c.iova, c.ccws.length))) continue;
      this.handleCcw(tic.cda);
    }
  }

  /** cp_prefetch(): translates and pins every CCW's data area; on failure what was pinned is unpinned. */
  prefetch(): void {
    if (!this.initialized) throw new VfioError('EINVAL', 'channel program not initialized');
    try {
      for (const chain of this.chains) {
        chain.ccws.forEach((ccw, i) => {
          chain.ccws[i] = isTic(ccw) ? this.fetchTic(ccw) : this.fetchCcw(chain, i, ccw);
        });
        const buf = new Uint8Array(CCW_SIZE);
        chain.ccws.forEach((c, i) => {
          encodeCcw1(c, buf);
          this.storage.write(BigInt(chain.hostAddr + i * CCW_SIZE), buf);
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

  /**
   * ccw_count_idaws(): IDAWs the CCW's count needs. The ORB, not the CCW, decides their size: 2K for format-1
   * (the first IDAW read as 4 bytes) and for i2k, else 4K.
   */
  private countIdaws(ccw: Ccw1): number {
    const orb = this.theOrb();
    const bytes = ccw.count === 0 ? 1 : ccw.count;
    let addr = BigInt(ccw.cda);
    if (isIdal(ccw)) {
      const first = new Uint8Array(orb.c64 ? 8 : 4);
      this.dev.dmaRw(BigInt(ccw.cda), first, false);
      const dv = new DataView(first.buffer);
      addr = orb.c64 ? dv.getBigUint64(0) : BigInt(dv.getUint32(0));
    }
    return idalNrWords(addr, bytes, idalIs2k(orb) ? IDA_2K_BLOCK_SIZE : IDA_BLOCK_SIZE);
  }

  /**
   * get_guest_idal(): the guest's IDAL (idaw_nr 8-byte words copied, format-1 words read from the first half as
   * the kernel does), or one fabricated from the direct address: each next IDAW at the next IDAW-size boundary.
   */
  private guestIdal(ccw: Ccw1, idawNr: number): bigint[] {
    const orb = this.theOrb();
    const size = idalIs2k(orb) ? IDA_2K_BLOCK_SIZE : IDA_BLOCK_SIZE;
    if (isIdal(ccw)) {
      const raw = new Uint8Array(idawNr * 8);
      this.dev.dmaRw(BigInt(ccw.cda), raw, false);
      const dv = new DataView(raw.buffer);
      return Array.from({ length: idawNr }, (_v, i) => (orb.c64 ? dv.getBigUint64(i * 8) : BigInt(dv.getUint32(i * 4))));
    }
    const idaws = [BigInt(ccw.cda)];
    for (let i = 1; i < idawNr; i++) {
      const prev = idaws[i - 1] ?? 0n;
      // Format-1 words are 32 bits wide: the fabricated list wraps as the kernel's dma32_add does.
      const next = (prev + BigInt(size)) & ~BigInt(size - 1);
      idaws.push(orb.c64 ? next : next & 0xffff_ffffn);
    }
    return idaws;
  }

  /**
   * ccwchain_fetch_ccw(): the data area's IDAWs, their pages pinned when the CCW transfers data (page_array_pin:
   * all or none), and a host format-2 IDAL of the pinned frames, each keeping its IDAW's offset in the page.
   */
  private fetchCcw(chain: CcwChain, i: number, ccw: Ccw1): Ccw1 {
    const iovas = this.guestIdal(ccw, this.countIdaws(ccw));
    const pa: PageArray = { iovas, pinned: false };
    if (ccwDoesDataTransfer(ccw)) {
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
    // page_array_idal_create_words(); without a transfer the kernel leaves the guest's addresses in place.
    iovas.forEach((iova, k) => {
      const word = pa.pinned ? this.storage.frameOf(pageOf(iova)) + (iova % BigInt(PAGE_SIZE)) : iova;
      dv.setBigUint64(k * 8, word);
    });
    return { ...ccw, cda: idal.addr, flags: ccw.flags | CCW_FLAG_IDA };
  }

  /**
   * cp_get_orb(): the ORB the subchannel starts: host CPA, format-1 CCWs, format-2 IDAWs (2K ones when the guest
   * used format-1: i2k), the guest's storage key kept, `intparm`, and the subchannel's `lpm` if the ORB has none.
   */
  getOrb(intparm: number, lpm: number): CmdOrb {
    const orb = this.orb;
    const first = this.chains[0];
    if (!this.initialized || orb === null || first === undefined) throw new VfioError('EIO', 'channel program not initialized');
    return { ...orb, intparm, fmt: true, i2k: orb.c64 ? orb.i2k : true, c64: true, lpm: orb.lpm === 0 ? lpm : orb.lpm, cpa: first.hostAddr };
  }

  /** cp_update_scsw(): the host CCW address in `scsw` back to the guest's (one past a chain's end included). */
  updateScsw(scsw: Scsw): Scsw {
    if (!this.initialized) return scsw;
    for (const c of this.chains) {
      if (cpaWithin(scsw.cpa, c.hostAddr, c.ccws.length + 1)) return { ...scsw, cpa: (c.iova + (scsw.cpa - c.hostAddr)) >>> 0 };
    }
    return scsw;
  }

  /** cp_iova_pinned(): whether a pinned page lies in the pages [iova, iova + length) touches. */
  iovaPinned(iova: bigint, length: bigint): boolean {
    if (!this.initialized) return false;
    const first = pageOf(iova);
    const last = pageOf(iova + length - 1n);
    return this.chains.some((c) => c.pa.some((pa) => pa !== null && pa.pinned && pa.iovas.some((v) => pageOf(v) >= first && pageOf(v) <= last)));
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

/**
 * ccwchain_calc_length(): CCWs in the chain from `iova`: counting goes on while a CCW chains, or is a TIC back into
 * this chain (device orientation loops); EINVAL past CCWCHAIN_LEN_MAX. Every IDAW format is accepted since 6.3.
 */
function calcLength(iova: number, ccws: readonly Ccw1[]): number {
  let cnt = 0;
  for (const ccw of ccws) {
    cnt++;
    const ticWithin = isTic(ccw) && cpaWithin(ccw.cda, iova, cnt);
    if (!isChain(ccw) && !ticWithin) return cnt;
  }
  throw new VfioError('EINVAL', `channel program longer than ${CCWCHAIN_LEN_MAX} CCWs`);
}

function pageOf(iova: bigint): bigint {
  return iova - (iova % BigInt(PAGE_SIZE));
}
