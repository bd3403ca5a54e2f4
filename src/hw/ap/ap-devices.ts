// The AP bus's devices (drivers/s390/crypto/ap_bus.h struct ap_card, struct ap_queue): a card `cardXX` under
// `/sys/devices/ap`, and its queues `XX.YYYY` under the card, each over its hardware queue.
import { Device } from '../../base/device.js';
import type { SysfsAttrTable } from '../../base/sysfs.js';
import { AP_DEVICE_TYPE_CEX7, apCardName, apQidCard, apQidQueue, apQueueName } from './ap-defs.js';
import type { ApQueueHw } from './ap-queue-hw.js';

/** struct ap_card. */
export class ApCard extends Device {
  readonly hwtype = AP_DEVICE_TYPE_CEX7;

  constructor(
    readonly id: number,
    /** Queue depth of the card's queues. */
    readonly depth: number,
  ) {
    super();
    this.name = apCardName(id);
  }
}

/** struct ap_queue: one APQN, bound to a default (host) driver or to vfio_ap depending on apmask/aqmask. */
export class ApQueue extends Device {
  constructor(
    readonly card: ApCard,
    readonly hw: ApQueueHw,
  ) {
    super();
    this.name = apQueueName(hw.qid);
    this.parent = card;
  }

  get qid(): number {
    return this.hw.qid;
  }

  get cardId(): number {
    return apQidCard(this.hw.qid);
  }

  get domain(): number {
    return apQidQueue(this.hw.qid);
  }
}

/** A card's sysfs attributes (ap_card.c): hwtype, type, depth. */
export const apCardAttrs: SysfsAttrTable<Device> = Object.freeze({
  hwtype: { show: (d: Device) => (d instanceof ApCard ? `${d.hwtype}\n` : '\n') },
  type: { show: () => 'CEX7A\n' },
  depth: { show: (d: Device) => (d instanceof ApCard ? `${d.depth}\n` : '\n') },
});

/** A queue's sysfs attributes (ap_queue.c): interrupt, reset (the status of a reset under way). */
export const apQueueAttrs: SysfsAttrTable<Device> = Object.freeze({
  interrupt: {
    show: (d: Device) => {
      if (!(d instanceof ApQueue)) return '\n';
      return d.hw.tapqPeek().irqEnabled ? 'Interrupts enabled.\n' : 'Interrupts disabled.\n';
    },
  },
  reset: {
    show: (d: Device) => (d instanceof ApQueue && d.hw.resetInProgress ? 'Reset in progress.\n' : 'No Reset Timer set.\n'),
  },
});
