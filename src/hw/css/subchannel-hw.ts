// An I/O subchannel as the machine implements it (Principles of Operation ch. 14-16): the SCHIB (PMCW and SCSW),
// the start, halt and clear functions, status pending and TEST SUBCHANNEL's IRB, path masks, the device behind
// it. The start function runs later (on a later turn of the event loop) so a program is in flight between
// START SUBCHANNEL and its interruption; halt and clear take effect at once. One updateIrq(): an interruption is
// pending while status is pending on an enabled subchannel.
import { VfioError } from '../../uapi/errno.js';
import {
  DEV_STAT_CHN_END,
  DEV_STAT_DEV_END,
  SCSW_ACTL_DEVACT,
  SCSW_ACTL_SCHACT,
  SCSW_ACTL_START_PEND,
  SCSW_FCTL_CLEAR_FUNC,
  SCSW_FCTL_HALT_FUNC,
  SCSW_FCTL_START_FUNC,
  SCSW_STCTL_ALERT_STATUS,
  SCSW_STCTL_PRIM_STATUS,
  SCSW_STCTL_SEC_STATUS,
  SCSW_STCTL_STATUS_PEND,
  emptyScsw,
} from '../../uapi/s390-cio.js';
import type { CmdOrb, Irb, Pmcw, Schib, Scsw } from '../../uapi/s390-cio.js';
import { CCW_DEVICE_WAIT } from './ccw-device.js';
import type { CcwDeviceModel } from './ccw-device.js';
import type { ChannelMemory } from './channel-memory.js';
import { runChannelProgram } from './channel-program.js';
import type { ChannelProgramState } from './channel-program.js';

/** Condition codes of the I/O instructions. */
export type Cc = 0 | 1 | 2 | 3;
export const SUBCHANNEL_HW_STATE_VERSION = 1;

export interface SubchannelHwOptions {
  readonly devno: number;
  /** Up to 8 channel paths; path i has mask bit 0x80 >> i. */
  readonly chpids: readonly number[];
  readonly device: CcwDeviceModel;
}

/** The fields MODIFY SUBCHANNEL may change. */
export interface PmcwChanges {
  readonly intparm?: number;
  readonly isc?: number;
  readonly ena?: boolean;
  readonly lpm?: number;
}

export class SubchannelHw {
  readonly pmcw: Pmcw;
  scsw: Scsw = emptyScsw();
  readonly device: CcwDeviceModel;
  /** Where programs and data live: set by whoever drives the subchannel (null: every access faults). */
  memory: ChannelMemory | null = null;
  /** Called when an interruption becomes pending (the I/O interruption line of this subchannel). */
  irqSink: (() => void) | null = null;
  private program: ChannelProgramState | null = null;
  private job: NodeJS.Immediate | null = null;
  private lpum = 0;
  private irqLevel = false;

  constructor(opts: SubchannelHwOptions) {
    const pim = opts.chpids.slice(0, 8).reduce((m, _c, i) => m | (0x80 >> i), 0);
    this.pmcw = {
      intparm: 0, qf: false, isc: 0, ena: false, dnv: true, dev: opts.devno & 0xffff, lpm: pim, pnom: 0, lpum: 0,
      pim, pom: 0xff, pam: pim, chpid: [...opts.chpids.slice(0, 8), 0, 0, 0, 0, 0, 0, 0, 0].slice(0, 8), st: 0,
    };
    this.device = opts.device;
    this.device.bindReady(() => this.schedule());
  }

  get statusPending(): boolean {
    return (this.scsw.stctl & SCSW_STCTL_STATUS_PEND) !== 0;
  }

  /** Whether a start, halt or clear function is in progress. */
  get functionPending(): boolean {
    return this.scsw.actl !== 0;
  }

  /** The path mask bit of `chpid`, 0 if the subchannel has no path through it. */
  pathMask(chpid: number): number {
    const i = this.pmcw.chpid.findIndex((c, j) => c === chpid && (this.pmcw.pim & (0x80 >> j)) !== 0);
    return i < 0 ? 0 : 0x80 >> i;
  }

  /** STORE SUBCHANNEL. */
  stsch(): Schib {
    return { pmcw: { ...this.pmcw, chpid: [...this.pmcw.chpid] }, scsw: { ...this.scsw } };
  }

  /** MODIFY SUBCHANNEL: cc 1 with status pending, cc 2 with a function in progress, cc 3 without a device. */
  msch(changes: PmcwChanges): Cc {
    if (!this.pmcw.dnv) return 3;
    if (this.statusPending) return 1;
    if (this.functionPending) return 2;
    if (changes.intparm !== undefined) this.pmcw.intparm = changes.intparm >>> 0;
    if (changes.isc !== undefined) this.pmcw.isc = changes.isc & 7;
    if (changes.lpm !== undefined) this.pmcw.lpm = changes.lpm & 0xff;
    if (changes.ena !== undefined) this.pmcw.ena = changes.ena;
    this.updateIrq();
    return 0;
  }

  /** START SUBCHANNEL with a command-mode ORB: cc 1 status pending, cc 2 busy, cc 3 not operational or no path. */
  ssch(orb: CmdOrb): Cc {
    if (!this.pmcw.dnv || !this.pmcw.ena) return 3;
    if (this.statusPending) return 1;
    if (this.functionPending) return 2;
    const paths = (orb.lpm !== 0 ? orb.lpm : this.pmcw.lpm) & this.pmcw.pam & this.pmcw.pom & this.pmcw.pim;
    if (paths === 0) {
      this.pmcw.pnom = orb.lpm !== 0 ? orb.lpm : this.pmcw.lpm;
      return 3;
    }
    this.lpum = 0x80 >> Math.clz32(paths << 24);
    this.scsw = { ...emptyScsw(), key: orb.key, fmt: orb.fmt, pfch: orb.pfch, isic: orb.isic, alcc: orb.alcc, fctl: SCSW_FCTL_START_FUNC, actl: SCSW_ACTL_START_PEND, cpa: orb.cpa };
    this.pmcw.intparm = orb.intparm >>> 0;
    this.program = { orb, next: orb.cpa, executed: 0 };
    this.schedule();
    return 0;
  }

  /**
   * CANCEL SUBCHANNEL (XSCH): a start function still pending (not yet begun at the device) is withdrawn with no
   * interruption (cc 0); cc 1 with status pending, cc 2 when there is nothing to cancel or the device is already
   * active, cc 3 not operational.
   */
  xsch(): Cc {
    if (!this.pmcw.dnv || !this.pmcw.ena) return 3;
    if (this.statusPending) return 1;
    if (this.program === null || this.scsw.actl !== SCSW_ACTL_START_PEND) return 2;
    this.stopProgram();
    this.scsw = { ...emptyScsw(), cpa: this.scsw.cpa };
    this.updateIrq();
    return 0;
  }

  /** HALT SUBCHANNEL: ends a start function at once (the device is told to stop); status pending follows. */
  hsch(): Cc {
    if (!this.pmcw.dnv || !this.pmcw.ena) return 3;
    if (this.statusPending) return 1;
    if ((this.scsw.fctl & (SCSW_FCTL_HALT_FUNC | SCSW_FCTL_CLEAR_FUNC)) !== 0) return 2;
    const started = this.program !== null;
    const cpa = this.program?.next ?? this.scsw.cpa;
    this.stopProgram();
    this.scsw = {
      ...this.scsw,
      fctl: this.scsw.fctl | SCSW_FCTL_HALT_FUNC,
      actl: 0,
      stctl: started ? SCSW_STCTL_PRIM_STATUS | SCSW_STCTL_SEC_STATUS | SCSW_STCTL_STATUS_PEND : SCSW_STCTL_STATUS_PEND,
      cpa: started ? cpa + 8 : cpa,
      dstat: started ? DEV_STAT_CHN_END | DEV_STAT_DEV_END : 0,
    };
    this.updateIrq();
    return 0;
  }

  /** CLEAR SUBCHANNEL: every function and status dropped, the clear function's status pending. */
  csch(): Cc {
    if (!this.pmcw.dnv || !this.pmcw.ena) return 3;
    this.stopProgram();
    this.scsw = { ...emptyScsw(), fctl: SCSW_FCTL_CLEAR_FUNC, stctl: SCSW_STCTL_STATUS_PEND };
    this.updateIrq();
    return 0;
  }

  /** TEST SUBCHANNEL: cc 0 and the IRB (status no longer pending) or cc 1 (no status pending). */
  tsch(): { cc: Cc; irb: Irb } {
    const irb: Irb = { scsw: { ...this.scsw }, lpum: this.lpum, cons: false, scnt: 0, ecw: new Uint8Array(32) };
    if (!this.statusPending) return { cc: 1, irb };
    this.pmcw.lpum = this.lpum;
    // Final status ends the function; intermediate status would leave it going.
    this.scsw = { ...emptyScsw(), cpa: this.scsw.cpa };
    this.updateIrq();
    return { cc: 0, irb };
  }

  /** The device is gone (device number no longer valid): every function ends. */
  detachDevice(): void {
    this.stopProgram();
    this.pmcw.dnv = false;
    this.pmcw.ena = false;
    this.scsw = emptyScsw();
    this.updateIrq();
  }

  /** The machine's view of a channel path: configured (available) or not. */
  setPathAvailable(chpid: number, available: boolean): void {
    const mask = this.pathMask(chpid);
    if (mask === 0) return;
    this.pmcw.pam = available ? this.pmcw.pam | mask : this.pmcw.pam & ~mask;
    // A program running on its only path ends with the path gone.
    if (!available && this.program !== null && (this.lpum & mask) !== 0 && (this.pmcw.pam & this.pmcw.lpm) === 0) {
      this.stopProgram();
      this.finish({ cpa: this.scsw.cpa, count: 0, dstat: 0, cstat: 0 }, SCSW_STCTL_ALERT_STATUS);
    }
  }

  /** The one interruption line: status pending on an enabled subchannel. */
  updateIrq(): void {
    const level = this.statusPending && this.pmcw.ena;
    const rising = level && !this.irqLevel;
    this.irqLevel = level;
    if (rising) this.irqSink?.();
  }

  private schedule(): void {
    if (this.job !== null || this.program === null) return;
    this.job = setImmediate(() => {
      this.job = null;
      this.run();
    });
  }

  private stopProgram(): void {
    if (this.job !== null) clearImmediate(this.job);
    this.job = null;
    if (this.program !== null) this.device.cancel();
    this.program = null;
  }

  private run(): void {
    const prog = this.program;
    if (prog === null) return;
    this.scsw.actl = SCSW_ACTL_SCHACT | SCSW_ACTL_DEVACT;
    // The device is connected on the selected path: that is the path last used from now on.
    this.pmcw.lpum = this.lpum;
    const mem = this.memory;
    const end = mem === null ? { cpa: prog.next + 8, count: 0, dstat: 0, cstat: 0x20 } : runChannelProgram(prog, mem, this.device);
    if (end === CCW_DEVICE_WAIT) return;
    this.program = null;
    this.finish(end, 0);
  }

  private finish(end: { cpa: number; count: number; dstat: number; cstat: number }, extra: number): void {
    const alert = end.cstat !== 0 ? SCSW_STCTL_ALERT_STATUS : 0;
    this.scsw = {
      ...this.scsw,
      actl: 0,
      stctl: SCSW_STCTL_PRIM_STATUS | SCSW_STCTL_SEC_STATUS | SCSW_STCTL_STATUS_PEND | alert | extra,
      cpa: end.cpa >>> 0,
      count: end.count,
      dstat: end.dstat,
      cstat: end.cstat,
    };
    this.updateIrq();
  }

  /** A versioned record of the subchannel's registers (a running program is not saved: quiesce first). */
  save(): object {
    if (this.program !== null) throw new VfioError('EBUSY', 'subchannel: save with a program running');
    return { version: SUBCHANNEL_HW_STATE_VERSION, pmcw: this.stsch().pmcw, scsw: { ...this.scsw }, lpum: this.lpum, device: this.device.save() };
  }

  load(record: unknown): void {
    if (typeof record !== 'object' || record === null || !('version' in record) || record.version !== SUBCHANNEL_HW_STATE_VERSION) {
      throw new VfioError('EINVAL', 'subchannel: bad state record');
    }
    if (!('pmcw' in record) || !('scsw' in record) || !('device' in record)) throw new VfioError('EINVAL', 'subchannel: truncated state record');
    Object.assign(this.pmcw, record.pmcw);
    this.scsw = { ...emptyScsw(), ...(record.scsw as Partial<Scsw>) };
    this.lpum = 'lpum' in record && typeof record.lpum === 'number' ? record.lpum : 0;
    this.device.load(record.device);
    this.irqLevel = false;
    this.updateIrq();
  }

  /** The machine is switched off: nothing runs any more. */
  destroy(): void {
    this.stopProgram();
    this.irqSink = null;
    this.memory = null;
  }
}
