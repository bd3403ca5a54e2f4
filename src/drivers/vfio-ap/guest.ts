// What a guest does with its crypto queues, for tests and tools: there is no KVM here, so the guest's AP
// instructions (NQAP, DQAP, TAPQ, ZAPQ, which s390 firmware executes for the guest through the APCB masks that
// vfio_ap_mdev_update_guest_apcb sets) are calls on the device. An APQN outside the guest matrix answers
// Q_NOT_AVAIL, as the instruction does for a queue the guest's configuration lacks.
import { VfioError } from '../../uapi/errno.js';
import { AP_RESPONSE_Q_NOT_AVAIL, apQidCard, apQidQueue } from '../../hw/ap/ap-defs.js';
import type { ApQueueStatus } from '../../hw/ap/ap-defs.js';
import type { ApQueueHw } from '../../hw/ap/ap-queue-hw.js';
import type { ApMatrixMdev } from './matrix-mdev.js';

const NOT_AVAIL: ApQueueStatus = Object.freeze({ queueEmpty: true, repliesWaiting: false, irqEnabled: false, responseCode: AP_RESPONSE_Q_NOT_AVAIL });

/** The hardware queue behind `apqn` if the guest of `m` has it; EINVAL when no guest uses the device. */
function guestQueue(m: ApMatrixMdev, apqn: number): ApQueueHw | null {
  if (!m.guestAttached) throw new VfioError('EINVAL', `${m.name}: no guest uses the device (open it first)`);
  if (!m.shadow.apm.test(apQidCard(apqn)) || !m.shadow.aqm.test(apQidQueue(apqn))) return null;
  return m.qtable.get(apqn)?.hw ?? null;
}

export function vfioApGuestNqap(m: ApMatrixMdev, apqn: number, psmid: bigint, msg: Uint8Array): ApQueueStatus {
  return guestQueue(m, apqn)?.nqap(psmid, msg) ?? NOT_AVAIL;
}

export function vfioApGuestDqap(m: ApMatrixMdev, apqn: number): { status: ApQueueStatus; psmid: bigint; reply: Uint8Array | null } {
  return guestQueue(m, apqn)?.dqap() ?? { status: NOT_AVAIL, psmid: 0n, reply: null };
}

export function vfioApGuestTapq(m: ApMatrixMdev, apqn: number): ApQueueStatus {
  return guestQueue(m, apqn)?.tapq().status ?? NOT_AVAIL;
}

export function vfioApGuestZapq(m: ApMatrixMdev, apqn: number): ApQueueStatus {
  return guestQueue(m, apqn)?.zapq() ?? NOT_AVAIL;
}
