// The host storage a translated channel program lives in (vfio_ccw_cp.c allocates ccwchains and IDALs with
// kcalloc(GFP_DMA) below 2G, and IDAWs hold the physical addresses of pinned guest pages). Chains and IDALs get
// 31-bit addresses here; each pinned guest page gets a 64-bit "frame" whose bytes are the guest's, reached with
// vfio_dma_rw. It is the ChannelMemory the driver gives its subchannel.
import { VfioError } from '../../uapi/errno.js';
import type { ChannelMemory } from '../../hw/css/channel-memory.js';

/** Where chains and IDALs are placed (below 2G, as GFP_DMA), and where page frames start (above 4G). */
const STORAGE_BASE = 0x0100_0000;
export const FRAME_BASE = 0x1_0000_0000n;
export const PAGE_SIZE = 4096;

interface Chunk {
  readonly addr: number;
  readonly bytes: Uint8Array;
}

/** How the storage reaches guest memory (the device's vfio_dma_rw). */
export type GuestRw = (iova: bigint, buf: Uint8Array, write: boolean) => void;

export class CpStorage implements ChannelMemory {
  private chunks: Chunk[] = [];
  private nextAddr = STORAGE_BASE;
  /** Frame address -> guest page iova. */
  private readonly frames = new Map<bigint, bigint>();
  private nextFrame = FRAME_BASE;

  constructor(private readonly guestRw: GuestRw) {}

  /** kcalloc(GFP_DMA): `len` zeroed bytes at an 8-aligned 31-bit address. */
  alloc(len: number): Chunk {
    const chunk = { addr: this.nextAddr, bytes: new Uint8Array(len) };
    this.nextAddr += (len + 7) & ~7;
    if (this.nextAddr > 0x7fffffff) throw new VfioError('ENOMEM', 'cp storage exhausted');
    this.chunks.push(chunk);
    return chunk;
  }

  /** The frame standing for the pinned guest page at `iovaPage` (page_to_phys of the pinned page). */
  frameOf(iovaPage: bigint): bigint {
    const f = this.nextFrame;
    this.nextFrame += BigInt(PAGE_SIZE);
    this.frames.set(f, iovaPage);
    return f;
  }

  /** Everything freed (cp_free). */
  reset(): void {
    this.chunks = [];
    this.nextAddr = STORAGE_BASE;
    this.frames.clear();
    this.nextFrame = FRAME_BASE;
  }

  private access(addr: bigint, buf: Uint8Array, write: boolean): void {
    if (addr >= FRAME_BASE) {
      let off = 0;
      while (off < buf.length) {
        const at = addr + BigInt(off);
        const frame = at - (at % BigInt(PAGE_SIZE));
        const page = this.frames.get(frame);
        if (page === undefined) throw new VfioError('EFAULT', `no pinned page at 0x${frame.toString(16)}`);
        const n = Math.min(buf.length - off, PAGE_SIZE - Number(at - frame));
        this.guestRw(page + (at - frame), buf.subarray(off, off + n), write);
        off += n;
      }
      return;
    }
    const a = Number(addr);
    const c = this.chunks.find((x) => x.addr <= a && a + buf.length <= x.addr + x.bytes.length);
    if (c === undefined) throw new VfioError('EFAULT', `no cp storage at 0x${a.toString(16)}`);
    if (write) c.bytes.set(buf, a - c.addr);
    else buf.set(c.bytes.subarray(a - c.addr, a - c.addr + buf.length));
  }

  read(addr: bigint, out: Uint8Array): void {
    this.access(addr, out, false);
  }

  write(addr: bigint, data: Uint8Array): void {
    this.access(addr, data, true);
  }
}
