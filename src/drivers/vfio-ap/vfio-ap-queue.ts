// struct vfio_ap_queue and what vfio_ap does to a queue (drivers/s390/crypto/vfio_ap_ops.c): the reset
// (vfio_ap_mdev_reset_queue: ZAPQ, then apq_reset_check polling TAPQ until the reset is done, as the kernel's
// reset work does every AP_RESET_INTERVAL ms; here each poll is one TAPQ, and flush_work is the loop's end).
import type { ApQueueHw } from '../../hw/ap/ap-queue-hw.js';
import {
  AP_RESPONSE_BUSY,
  AP_RESPONSE_DECONFIGURED,
  AP_RESPONSE_NORMAL,
  AP_RESPONSE_RESET_IN_PROGRESS,
} from '../../hw/ap/ap-defs.js';
import type { ApMatrixMdev } from './matrix-mdev.js';
import type { MatrixDev } from './matrix-dev.js';

/** How many TAPQ polls a reset may take before vfio_ap gives up on it (the reset then reads as failed). */
export const VFIO_AP_RESET_MAX_POLLS = 50;

/** struct vfio_ap_queue: vfio_ap's state for a queue bound to it. */
export class VfioApQueue {
  /** The mdev whose matrix holds this APQN and whose queue table links it (q->matrix_mdev). */
  matrixMdev: ApMatrixMdev | null = null;
  /** The response code of the last reset (q->reset_status); non-zero: the queue is filtered from the guest. */
  resetStatus = AP_RESPONSE_NORMAL;
  /** Polls the last reset needed (for tests and the trace). */
  lastResetPolls = 0;

  constructor(
    readonly hw: ApQueueHw,
    /** The matrix device whose vfio_ap driver bound the queue. */
    readonly matrixDev: MatrixDev,
  ) {}

  get apqn(): number {
    return this.hw.qid;
  }
}

/** vfio_ap_mdev_reset_queue(): ZAPQ; the wait is vfioApWaitReset. */
export function vfioApResetQueue(q: VfioApQueue): void {
  const st = q.hw.zapq();
  q.resetStatus = st.responseCode === AP_RESPONSE_DECONFIGURED ? AP_RESPONSE_NORMAL : st.responseCode;
  q.lastResetPolls = 0;
  if (st.responseCode === AP_RESPONSE_NORMAL) q.resetStatus = AP_RESPONSE_RESET_IN_PROGRESS;
}

/** apq_reset_check(): polls TAPQ until the reset is done (or the poll budget runs out); returns the final status. */
export function vfioApWaitReset(q: VfioApQueue): number {
  if (q.resetStatus !== AP_RESPONSE_RESET_IN_PROGRESS && q.resetStatus !== AP_RESPONSE_BUSY) return q.resetStatus;
  for (let polls = 1; polls <= VFIO_AP_RESET_MAX_POLLS; polls++) {
    const { status } = q.hw.tapq();
    if (status.responseCode !== AP_RESPONSE_RESET_IN_PROGRESS && status.responseCode !== AP_RESPONSE_BUSY) {
      q.lastResetPolls = polls;
      q.resetStatus = status.responseCode === AP_RESPONSE_DECONFIGURED ? AP_RESPONSE_NORMAL : status.responseCode;
      return q.resetStatus;
    }
  }
  return q.resetStatus;
}

/**
 * vfio_ap_mdev_reset_queues(): starts a reset on every queue, then waits for each; EIO (as a return of false)
 * when a queue's reset did not complete normally.
 */
export function vfioApResetQueues(queues: Iterable<VfioApQueue>): boolean {
  const list = [...queues];
  for (const q of list) vfioApResetQueue(q);
  let ok = true;
  for (const q of list) if (vfioApWaitReset(q) !== AP_RESPONSE_NORMAL) ok = false;
  return ok;
}
