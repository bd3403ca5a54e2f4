// One AP queue of the simulated crypto hardware (an APQN: adapter x usage domain), as the AP instructions see
// it (arch/s390/include/asm/ap.h ap_nqap, ap_dqap, ap_tapq, ap_rapq, ap_zapq, ap_aqic; the queue state machine
// the host's drivers/s390/crypto/ap_queue.c drives). Requests execute when enqueued and wait as replies until
// dequeued; a reset (RAPQ/ZAPQ) flushes them at once and stays in progress for `resetMs` of real time (TAPQ,
// NQAP, DQAP, AQIC and another RAPQ/ZAPQ answer RESET_IN_PROGRESS meanwhile), then completes by itself, as the
// firmware finishes a reset asynchronously. A queue can be made to hang in reset (`hangInReset`), the fault
// vfio_ap's reset wait must survive. The adapter interruption (AQIC enabled) is edge-signalled when a reply
// becomes pending.
import { VfioError, check } from '../../uapi/errno.js';
import {
  AP_DEVICE_TYPE_CEX7,
  AP_RESPONSE_MESSAGE_TOO_BIG,
  AP_RESPONSE_NORMAL,
  AP_RESPONSE_NO_PENDING_REPLY,
  AP_RESPONSE_Q_FULL,
  AP_RESPONSE_RESET_IN_PROGRESS,
} from './ap-defs.js';
import type { ApQueueStatus, ApTapqInfo } from './ap-defs.js';
import { executeApRequest } from './ap-message.js';

/** The largest request the queue takes (a MEB2 request is 776 bytes). */
export const AP_MAX_MESSAGE_SIZE = 12288;

export interface ApQueueHwOptions {
  /** Requests and replies the queue holds at once (the TAPQ queue depth). Default 8. */
  readonly depth?: number;
  /** Milliseconds a reset stays in progress. Default 5 (vfio_ap checks every 20 ms). */
  readonly resetMs?: number;
  /** The clock resets are timed by, in milliseconds (default performance.now). */
  readonly clock?: () => number;
}

/** The default time a reset takes. */
export const AP_QUEUE_RESET_MS = 5;

/** The saved state of a queue. */
export interface ApQueueStateRecord {
  version: 2;
  name: 'ap-queue';
  qid: number;
  replies: { psmid: string; reply: number[] }[];
  /** Milliseconds left of a reset under way (0: none); a hung reset saves as -1. */
  resetLeftMs: number;
  irqEnabled: boolean;
  zeroizes: number;
}

export class ApQueueHw {
  readonly depth: number;
  /** How long a reset takes on this queue (ms): a property of the firmware, changeable like the fault below. */
  resetMs: number;
  private readonly clock: () => number;
  /** Replies waiting for DQAP, oldest first, tagged with the program-supplied message id. */
  private replies: { psmid: bigint; reply: Uint8Array }[] = [];
  /** When the reset under way completes (clock ms); null: none under way. */
  private resetUntil: number | null = null;
  /** A fault: the reset under way (and every later one) never completes until this is cleared. */
  hangInReset = false;
  private irqEnabled = false;
  /** The interruption line's last level (an edge reaches the sink). */
  private irqLevel = false;
  /** How many resets zeroized the queue (ZAPQ). */
  zeroizes = 0;
  /** Where the adapter interruption goes (the host's or the guest's GISA); null: nowhere. */
  onInterrupt: ((qid: number) => void) | null = null;

  constructor(
    readonly qid: number,
    opts: ApQueueHwOptions = {},
  ) {
    this.depth = opts.depth ?? 8;
    this.resetMs = opts.resetMs ?? AP_QUEUE_RESET_MS;
    this.clock = opts.clock ?? (() => performance.now());
  }

  /** Whether a reset is under way; a finished one is retired here (the firmware needs no poll to finish). */
  get resetInProgress(): boolean {
    if (this.resetUntil === null) return false;
    if (this.hangInReset || this.clock() < this.resetUntil) return true;
    this.resetUntil = null;
    return false;
  }

  private status(responseCode: number): ApQueueStatus {
    return {
      queueEmpty: this.replies.length === 0,
      repliesWaiting: this.replies.length > 0,
      irqEnabled: this.irqEnabled,
      responseCode,
    };
  }

  /** The status without the side effect of a TAPQ (what sysfs shows). */
  tapqPeek(): ApQueueStatus {
    return this.status(this.resetInProgress ? AP_RESPONSE_RESET_IN_PROGRESS : AP_RESPONSE_NORMAL);
  }

  /** The interruption: raised once when a reply is pending with interrupts enabled. */
  updateIrq(): void {
    const level = this.irqEnabled && this.replies.length > 0;
    if (level && !this.irqLevel) this.onInterrupt?.(this.qid);
    this.irqLevel = level;
  }

  /** NQAP: enqueue `msg` tagged `psmid`; it executes at once and its reply waits for DQAP. */
  nqap(psmid: bigint, msg: Uint8Array): ApQueueStatus {
    if (this.resetInProgress) return this.status(AP_RESPONSE_RESET_IN_PROGRESS);
    if (msg.length > AP_MAX_MESSAGE_SIZE) return this.status(AP_RESPONSE_MESSAGE_TOO_BIG);
    if (this.replies.length >= this.depth) return this.status(AP_RESPONSE_Q_FULL);
    this.replies.push({ psmid, reply: executeApRequest(msg) });
    this.updateIrq();
    return this.status(AP_RESPONSE_NORMAL);
  }

  /** DQAP: the oldest reply, or NO_PENDING_REPLY. */
  dqap(): { status: ApQueueStatus; psmid: bigint; reply: Uint8Array | null } {
    if (this.resetInProgress) return { status: this.status(AP_RESPONSE_RESET_IN_PROGRESS), psmid: 0n, reply: null };
    const r = this.replies.shift();
    this.updateIrq();
    if (r === undefined) return { status: this.status(AP_RESPONSE_NO_PENDING_REPLY), psmid: 0n, reply: null };
    return { status: this.status(AP_RESPONSE_NORMAL), psmid: r.psmid, reply: r.reply };
  }

  /** TAPQ: the status (RESET_IN_PROGRESS while a reset is under way); GR2 has the type and depth. */
  tapq(): { status: ApQueueStatus; info: ApTapqInfo } {
    const code = this.resetInProgress ? AP_RESPONSE_RESET_IN_PROGRESS : AP_RESPONSE_NORMAL;
    return { status: this.status(code), info: { at: AP_DEVICE_TYPE_CEX7, qd: this.depth - 1 } };
  }

  private reset(zeroize: boolean): ApQueueStatus {
    // One reset at a time: the one under way is not restarted, the caller is told to come back.
    if (this.resetInProgress) return this.status(AP_RESPONSE_RESET_IN_PROGRESS);
    // A reset flushes requests and replies and disables interrupts at once; it finishes `resetMs` later.
    this.replies = [];
    this.irqEnabled = false;
    if (zeroize) this.zeroizes++;
    this.resetUntil = this.clock() + this.resetMs;
    this.updateIrq();
    return this.status(AP_RESPONSE_NORMAL);
  }

  /** RAPQ: reset. */
  rapq(): ApQueueStatus {
    return this.reset(false);
  }

  /** ZAPQ: reset and zeroize. */
  zapq(): ApQueueStatus {
    return this.reset(true);
  }

  /** AQIC: enables or disables the interruption (refused while a reset is under way). */
  aqic(enable: boolean): ApQueueStatus {
    if (this.resetInProgress) return this.status(AP_RESPONSE_RESET_IN_PROGRESS);
    this.irqEnabled = enable;
    this.updateIrq();
    return this.status(AP_RESPONSE_NORMAL);
  }

  private resetLeftMs(): number {
    if (!this.resetInProgress || this.resetUntil === null) return 0;
    return this.hangInReset ? -1 : Math.max(this.resetUntil - this.clock(), 0);
  }

  save(): ApQueueStateRecord {
    return {
      version: 2,
      name: 'ap-queue',
      qid: this.qid,
      replies: this.replies.map((r) => ({ psmid: r.psmid.toString(), reply: [...r.reply] })),
      resetLeftMs: this.resetLeftMs(),
      irqEnabled: this.irqEnabled,
      zeroizes: this.zeroizes,
    };
  }

  /** Replaces the state with a saved record of the same queue; EINVAL (state unchanged) when it does not fit. */
  load(record: unknown): void {
    check(typeof record === 'object' && record !== null, 'EINVAL', 'AP queue record is not an object');
    const r = new Map<string, unknown>(Object.entries(record));
    check(r.get('version') === 2 && r.get('name') === 'ap-queue', 'EINVAL', 'not an ap-queue record of version 2');
    check(r.get('qid') === this.qid, 'EINVAL', `record of queue ${String(r.get('qid'))}, this is ${this.qid}`);
    const replies = r.get('replies');
    const resetLeftMs = r.get('resetLeftMs');
    const irq = r.get('irqEnabled');
    const zeroizes = r.get('zeroizes');
    check(Array.isArray(replies) && replies.length <= this.depth, 'EINVAL', 'bad replies');
    check(typeof resetLeftMs === 'number' && Number.isFinite(resetLeftMs) && resetLeftMs >= -1, 'EINVAL', 'bad resetLeftMs');
    check(typeof irq === 'boolean' && typeof zeroizes === 'number', 'EINVAL', 'bad irqEnabled or zeroizes');
    const parsed = replies.map((x: unknown) => {
      if (typeof x !== 'object' || x === null) throw new VfioError('EINVAL', 'bad reply');
      const e = new Map<string, unknown>(Object.entries(x));
      const psmid = e.get('psmid');
      const reply = e.get('reply');
      if (typeof psmid !== 'string' || !/^\d+$/.test(psmid) || !Array.isArray(reply)) throw new VfioError('EINVAL', 'bad reply');
      if (!reply.every((b: unknown) => typeof b === 'number' && Number.isInteger(b) && b >= 0 && b <= 255)) throw new VfioError('EINVAL', 'bad reply bytes');
      return { psmid: BigInt(psmid), reply: Uint8Array.from(reply, (b: unknown) => (typeof b === 'number' ? b : 0)) };
    });
    this.replies = parsed;
    this.hangInReset = resetLeftMs === -1;
    this.resetUntil = resetLeftMs === 0 ? null : this.clock() + Math.max(resetLeftMs, 0);
    this.irqEnabled = irq;
    this.zeroizes = zeroizes;
    this.irqLevel = this.irqEnabled && this.replies.length > 0;
  }
}
