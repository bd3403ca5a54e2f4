// struct vfio_ap_queue and what vfio_ap does to a queue (drivers/s390/crypto/vfio_ap_ops.c): the reset
// (vfio_ap_mdev_reset_queue: ZAPQ, then the queue's reset work apq_reset_check on a workqueue: every
// AP_RESET_INTERVAL ms a TAPQ, a new ZAPQ when the first one met a reset or a busy queue, until apq_status_check
// says the queue is out of reset), and vfio_ap_mdev_reset_queues/_qlist (every queue's ZAPQ first, then flush_work
// of each, EIO if one ended badly). The works sleep between TAPQs on timers (src/base/sleep.ts): a reset never
// stops the event loop, and the queues' works run side by side as the kernel's do.
import type { ApQueueHw } from '../../hw/ap/ap-queue-hw.js';
import {
  AP_RESPONSE_BUSY,
  AP_RESPONSE_DECONFIGURED,
  AP_RESPONSE_NORMAL,
  AP_RESPONSE_RESET_IN_PROGRESS,
  apQueueName,
} from '../../hw/ap/ap-defs.js';
import type { ApMatrixMdev } from './matrix-mdev.js';
import type { MatrixDev } from './matrix-dev.js';
import { msleep } from '../../base/sleep.js';
import { Work } from '../../base/workqueue.js';

/** AP_RESET_INTERVAL: the reset work's sleep between TAPQs (ms). */
export const AP_RESET_INTERVAL = 20;
/**
 * MAX_RESET_CHECK_WAIT: how long the reset check waits for a queue to come out of reset before it answers EBUSY
 * (Linux 6.5/6.6; later kernels poll without end and only log "Waited %dms for reset of queue").
 */
export const MAX_RESET_CHECK_WAIT = 200;

/** struct vfio_ap_queue: vfio_ap's state for a queue bound to it. */
export class VfioApQueue {
  /** The mdev whose matrix holds this APQN and whose queue table links it (q->matrix_mdev). */
  matrixMdev: ApMatrixMdev | null = null;
  /** The response code of the last reset (q->reset_status); non-zero: the queue is filtered from the guest. */
  resetStatus = AP_RESPONSE_NORMAL;
  /** q->reset_work: apq_reset_check, queued when a ZAPQ was accepted (or met a reset or a busy queue). */
  readonly resetWork: Work;
  /** How long the last reset check waited (ms), for the trace and the tests. */
  lastResetWaitMs = 0;
  /** The last reset check gave up after MAX_RESET_CHECK_WAIT (the 6.5/6.6 EBUSY). */
  resetTimedOut = false;

  constructor(
    readonly hw: ApQueueHw,
    /** The matrix device whose vfio_ap driver bound the queue. */
    readonly matrixDev: MatrixDev,
  ) {
    this.resetWork = new Work(() => apqResetCheck(this), `reset ${apQueueName(hw.qid)}`, matrixDev.host?.logger ?? null);
  }

  get apqn(): number {
    return this.hw.qid;
  }
}

/** apq_status_check(): 0 when the queue is out of reset, EBUSY while it is not, EIO for any other answer. */
function apqStatusCheck(responseCode: number): 0 | 'EBUSY' | 'EIO' {
  switch (responseCode) {
    case AP_RESPONSE_NORMAL:
    case AP_RESPONSE_DECONFIGURED:
      return 0;
    case AP_RESPONSE_RESET_IN_PROGRESS:
    case AP_RESPONSE_BUSY:
      return 'EBUSY';
    default:
      return 'EIO';
  }
}

/**
 * vfio_ap_mdev_reset_queue(): ZAPQ; when the machine took it (or is busy with a reset), the reset work is queued.
 * Returns at once: flush q.resetWork to wait for the reset's end.
 */
export function vfioApResetQueue(q: VfioApQueue): void {
  const st = q.hw.zapq();
  q.resetStatus = st.responseCode;
  q.lastResetWaitMs = 0;
  q.resetTimedOut = false;
  switch (st.responseCode) {
    case AP_RESPONSE_NORMAL:
    case AP_RESPONSE_RESET_IN_PROGRESS:
    case AP_RESPONSE_BUSY:
      q.resetWork.queue();
      break;
    case AP_RESPONSE_DECONFIGURED:
      // The adapter's queues are reset by its deconfiguration: nothing to wait for, nothing to filter.
      q.resetStatus = AP_RESPONSE_NORMAL;
      break;
    default:
      q.matrixDev.host?.logger.warn({ queue: apQueueName(q.apqn), rc: st.responseCode }, 'vfio_ap: PQAP/ZAPQ failed with invalid rc');
      break;
  }
}

/**
 * One turn of apq_reset_check() after its sleep: TAPQ; 'again' while the queue is in reset, or after a new ZAPQ
 * when the first one had met a reset or a busy queue; the check's errno (0 when done) otherwise.
 */
function apqResetCheckStep(q: VfioApQueue): 0 | 'EIO' | 'again' {
  const { status } = q.hw.tapq();
  const ret = apqStatusCheck(status.responseCode);
  if (ret === 'EIO') return 'EIO';
  if (ret === 'EBUSY') return 'again';
  if (q.resetStatus === AP_RESPONSE_RESET_IN_PROGRESS || q.resetStatus === AP_RESPONSE_BUSY) {
    q.resetStatus = q.hw.zapq().responseCode;
    return 'again';
  }
  if (status.responseCode === AP_RESPONSE_DECONFIGURED) q.resetStatus = AP_RESPONSE_NORMAL;
  return 0;
}

/**
 * apq_reset_check(), the reset work: sleeps AP_RESET_INTERVAL, checks, again until the queue is out of reset. A
 * queue still in reset after MAX_RESET_CHECK_WAIT keeps its in-progress status (so the guest matrix filters it)
 * and is marked timed out (the flush answers EBUSY).
 */
async function apqResetCheck(q: VfioApQueue): Promise<void> {
  for (let elapsed = AP_RESET_INTERVAL; ; elapsed += AP_RESET_INTERVAL) {
    await msleep(AP_RESET_INTERVAL);
    const ret = apqResetCheckStep(q);
    q.lastResetWaitMs = elapsed;
    if (ret === 0) return;
    if (ret === 'EIO') {
      q.matrixDev.host?.logger.warn({ queue: apQueueName(q.apqn) }, 'vfio_ap: failed to verify reset of queue');
      return;
    }
    if (elapsed >= MAX_RESET_CHECK_WAIT) {
      q.resetStatus = AP_RESPONSE_RESET_IN_PROGRESS;
      q.resetTimedOut = true;
      q.matrixDev.host?.logger.warn({ queue: apQueueName(q.apqn), waitedMs: elapsed }, 'vfio_ap: timeout verifying reset of queue');
      return;
    }
  }
}

/**
 * vfio_ap_mdev_reset_qlist(): a ZAPQ to every queue, then flush_work of each; EBUSY when a queue never came out of
 * reset, EIO when one's reset ended with a non-zero status, else 0. The caller's task sleeps (mightSleep is the
 * caller's to check before it changes anything).
 */
export async function vfioApResetQueues(queues: Iterable<VfioApQueue>): Promise<0 | 'EBUSY' | 'EIO'> {
  const list = [...queues];
  for (const q of list) vfioApResetQueue(q);
  for (const q of list) await q.resetWork.flush();
  if (list.some((q) => q.resetTimedOut)) return 'EBUSY';
  return list.some((q) => q.resetStatus !== AP_RESPONSE_NORMAL) ? 'EIO' : 0;
}
