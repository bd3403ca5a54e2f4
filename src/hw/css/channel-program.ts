// The channel executing a command-mode channel program (Principles of Operation ch. 15-16: CCW formats 0 and 1,
// data chaining, command chaining, TIC, skip, SLI, IDALs with format-1 (31-bit, 2K) and format-2 (64-bit, 4K or
// 2K) IDAWs). It reads CCWs and data through the subchannel's ChannelMemory and hands commands to the device.
import { VfioError } from '../../uapi/errno.js';
import {
  CCW_CMD_NOOP,
  CCW_CMD_TIC,
  CCW_FLAG_CC,
  CCW_FLAG_DC,
  CCW_FLAG_IDA,
  CCW_FLAG_SKIP,
  CCW_FLAG_SLI,
  CCW_SIZE,
  DEV_STAT_UNIT_CHECK,
  DEV_STAT_UNIT_EXCEP,
  SCHN_STAT_CHN_CTRL_CHK,
  SCHN_STAT_INCORR_LEN,
  SCHN_STAT_PROG_CHECK,
  SCHN_STAT_PROT_CHECK,
  ccw0ToCcw1,
  decodeCcw1,
} from '../../uapi/s390-cio.js';
import type { Ccw1, CmdOrb } from '../../uapi/s390-cio.js';
import { CCW_DEVICE_WAIT } from './ccw-device.js';
import type { CcwDeviceModel } from './ccw-device.js';
import type { ChannelMemory } from './channel-memory.js';

/** A runaway program (a TIC loop) ends with a channel-control check after this many CCWs. */
export const CHANNEL_CCW_LIMIT = 65536;

/** Where a running program is: the next CCW to fetch; resumable after a device wait. */
export interface ChannelProgramState {
  readonly orb: CmdOrb;
  next: number;
  executed: number;
}

/** How the program ended: the SCSW's CCW address (8 past the last CCW used), residual count and status. */
export interface ChannelProgramEnd {
  readonly cpa: number;
  readonly count: number;
  readonly dstat: number;
  readonly cstat: number;
}

/** A guest-visible fault while executing: program check or protection check. */
class ChannelCheck extends Error {
  constructor(
    readonly cstat: number,
    readonly ccwAddr: number,
  ) {
    super(`channel check 0x${cstat.toString(16)} at CCW 0x${ccwAddr.toString(16)}`);
  }
}

function isInput(cmd: number): boolean {
  // read (xx10), sense (0100), read backward (1100)
  return (cmd & 3) === 2 || (cmd & 0xf) === 4 || (cmd & 0xf) === 0xc;
}

function memFault(err: unknown, ccwAddr: number): ChannelCheck {
  if (VfioError.is(err, 'EPERM')) return new ChannelCheck(SCHN_STAT_PROT_CHECK, ccwAddr);
  if (err instanceof VfioError || err instanceof RangeError) return new ChannelCheck(SCHN_STAT_PROG_CHECK, ccwAddr);
  throw err;
}

function fetchCcw(st: ChannelProgramState, mem: ChannelMemory, addr: number): Ccw1 {
  if (addr % 8 !== 0 || addr < 0 || addr > 0x7fffffff) throw new ChannelCheck(SCHN_STAT_PROG_CHECK, addr);
  const raw = new Uint8Array(CCW_SIZE);
  try {
    mem.read(BigInt(addr), raw);
  } catch (err) {
    throw memFault(err, addr);
  }
  return st.orb.fmt ? decodeCcw1(raw) : ccw0ToCcw1(raw);
}

/** One data area: storage address and length. */
interface Segment {
  readonly addr: bigint;
  readonly len: number;
}

/** The storage areas one CCW's count covers: direct, or through its IDAL. */
function ccwSegments(orb: CmdOrb, mem: ChannelMemory, ccw: Ccw1, ccwAddr: number): Segment[] {
  if (ccw.count === 0) return [];
  if ((ccw.flags & CCW_FLAG_IDA) === 0) {
    if (ccw.cda > 0x7fffffff) throw new ChannelCheck(SCHN_STAT_PROG_CHECK, ccwAddr);
    return [{ addr: BigInt(ccw.cda), len: ccw.count }];
  }
  const idawSize = orb.c64 ? 8 : 4;
  const block = orb.c64 && !orb.i2k ? 4096 : 2048;
  const segs: Segment[] = [];
  let left = ccw.count;
  let at = ccw.cda;
  const raw = new Uint8Array(idawSize);
  for (let i = 0; left > 0; i++, at += idawSize) {
    try {
      mem.read(BigInt(at), raw);
    } catch (err) {
      throw memFault(err, ccwAddr);
    }
    const dv = new DataView(raw.buffer);
    const addr = orb.c64 ? dv.getBigUint64(0) : BigInt(dv.getUint32(0));
    if (!orb.c64 && addr > 0x7fffffffn) throw new ChannelCheck(SCHN_STAT_PROG_CHECK, ccwAddr);
    // Only the first IDAW may start inside a block.
    if (i > 0 && addr % BigInt(block) !== 0n) throw new ChannelCheck(SCHN_STAT_PROG_CHECK, ccwAddr);
    const len = Math.min(left, block - Number(addr % BigInt(block)));
    segs.push({ addr, len });
    left -= len;
  }
  return segs;
}

/** Runs from `st.next` until the program ends or the device must wait (then `st` is where to resume). */
export function runChannelProgram(st: ChannelProgramState, mem: ChannelMemory, dev: CcwDeviceModel): ChannelProgramEnd | typeof CCW_DEVICE_WAIT {
  let last = st.next;
  try {
    for (;;) {
      if (st.executed++ > CHANNEL_CCW_LIMIT) return { cpa: last + 8, count: 0, dstat: 0, cstat: SCHN_STAT_CHN_CTRL_CHK };
      let addr = st.next;
      let ccw = fetchCcw(st, mem, addr);
      if (ccw.cmd === CCW_CMD_TIC || (!st.orb.fmt && (ccw.cmd & 0xf) === CCW_CMD_TIC)) {
        const target = fetchCcw(st, mem, ccw.cda);
        // A TIC to a TIC is a program check.
        if (target.cmd === CCW_CMD_TIC) throw new ChannelCheck(SCHN_STAT_PROG_CHECK, addr);
        st.next = ccw.cda;
        continue;
      }
      if ((ccw.cmd & 0xf) === 0) throw new ChannelCheck(SCHN_STAT_PROG_CHECK, addr);
      const cmd = ccw.cmd;
      // The data-chained group: the first CCW's command, every CCW's data areas.
      const group: { ccw: Ccw1; addr: number; segs: Segment[] }[] = [];
      for (;;) {
        if (ccw.count === 0 && (ccw.flags & CCW_FLAG_DC) !== 0) throw new ChannelCheck(SCHN_STAT_PROG_CHECK, addr);
        group.push({ ccw, addr, segs: ccwSegments(st.orb, mem, ccw, addr) });
        if ((ccw.flags & CCW_FLAG_DC) === 0) break;
        addr += 8;
        ccw = fetchCcw(st, mem, addr);
        if (ccw.cmd === CCW_CMD_TIC) {
          addr = ccw.cda;
          ccw = fetchCcw(st, mem, addr);
        }
      }
      const tail = group[group.length - 1];
      if (tail === undefined) throw new Error('empty CCW group');
      last = tail.addr;
      const total = group.reduce((n, g) => n + g.ccw.count, 0);
      let moved = total;
      let dstat: number;
      if (isInput(cmd)) {
        const r = dev.input(cmd, total);
        if (r === CCW_DEVICE_WAIT) return CCW_DEVICE_WAIT;
        dstat = r.dstat;
        const data = r.data ?? new Uint8Array(0);
        moved = Math.min(total, data.length);
        let off = 0;
        for (const g of group) {
          for (const s of g.segs) {
            if (off >= moved) break;
            const n = Math.min(s.len, moved - off);
            // Skip: the data is not stored, the count still goes down.
            if ((g.ccw.flags & CCW_FLAG_SKIP) === 0) {
              try {
                mem.write(s.addr, data.subarray(off, off + n));
              } catch (err) {
                throw memFault(err, g.addr);
              }
            }
            off += n;
          }
        }
      } else {
        const data = new Uint8Array(cmd === CCW_CMD_NOOP ? 0 : total);
        let off = 0;
        for (const g of group) {
          for (const s of g.segs) {
            if (data.length === 0) break;
            try {
              mem.read(s.addr, data.subarray(off, off + s.len));
            } catch (err) {
              throw memFault(err, g.addr);
            }
            off += s.len;
          }
        }
        const r = dev.output(cmd, data);
        if (r === CCW_DEVICE_WAIT) return CCW_DEVICE_WAIT;
        dstat = r.dstat;
        moved = cmd === CCW_CMD_NOOP ? total : Math.min(total, r.accepted ?? total);
      }
      const residual = total - moved;
      const count = Math.min(tail.ccw.count, residual);
      const sli = (tail.ccw.flags & CCW_FLAG_SLI) !== 0;
      const cstat = residual !== 0 && !sli && (dstat & DEV_STAT_UNIT_CHECK) === 0 ? SCHN_STAT_INCORR_LEN : 0;
      const chained = (tail.ccw.flags & CCW_FLAG_CC) !== 0;
      if (!chained || cstat !== 0 || (dstat & (DEV_STAT_UNIT_CHECK | DEV_STAT_UNIT_EXCEP)) !== 0) {
        return { cpa: tail.addr + 8, count, dstat, cstat };
      }
      st.next = tail.addr + 8;
    }
  } catch (err) {
    if (err instanceof ChannelCheck) return { cpa: err.ccwAddr + 8, count: 0, dstat: 0, cstat: err.cstat };
    throw err;
  }
}
