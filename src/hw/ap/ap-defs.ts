// The AP instruction interface as the host sees it (arch/s390/include/asm/ap.h): queue numbers (APQN = card
// << 8 | domain), the response codes of NQAP/DQAP/PQAP, and the status word every instruction returns.

/** AP_MKQID / AP_QID_CARD / AP_QID_QUEUE. */
export const apMkQid = (card: number, domain: number): number => ((card & 0xff) << 8) | (domain & 0xff);
export const apQidCard = (qid: number): number => (qid >> 8) & 0xff;
export const apQidQueue = (qid: number): number => qid & 0xff;

/** The sysfs name of a queue: `XX.YYYY` (ap_queue_create's dev_set_name "%02x.%04x"). */
export const apQueueName = (qid: number): string =>
  `${apQidCard(qid).toString(16).padStart(2, '0')}.${apQidQueue(qid).toString(16).padStart(4, '0')}`;
/** The sysfs name of a card: `cardXX`. */
export const apCardName = (card: number): string => `card${card.toString(16).padStart(2, '0')}`;

export const AP_RESPONSE_NORMAL = 0x00;
export const AP_RESPONSE_Q_NOT_AVAIL = 0x01;
export const AP_RESPONSE_RESET_IN_PROGRESS = 0x02;
export const AP_RESPONSE_DECONFIGURED = 0x03;
export const AP_RESPONSE_CHECKSTOPPED = 0x04;
export const AP_RESPONSE_BUSY = 0x05;
export const AP_RESPONSE_INVALID_ADDRESS = 0x06;
export const AP_RESPONSE_OTHERWISE_CHANGED = 0x07;
export const AP_RESPONSE_Q_FULL = 0x10;
export const AP_RESPONSE_NO_PENDING_REPLY = 0x10;
export const AP_RESPONSE_MESSAGE_TOO_BIG = 0x15;

/** AP_DEVICE_TYPE_CEX7 (the `hwtype` a card reports). */
export const AP_DEVICE_TYPE_CEX7 = 13;

/** struct ap_queue_status: what every AP instruction answers. */
export interface ApQueueStatus {
  readonly queueEmpty: boolean;
  readonly repliesWaiting: boolean;
  readonly irqEnabled: boolean;
  readonly responseCode: number;
}

/** What TAPQ returns in GR2 (struct ap_tapq_gr2), the part modelled: type and queue depth. */
export interface ApTapqInfo {
  /** Device type (at). */
  readonly at: number;
  /** Queue depth minus one, as the hardware reports it (qd). */
  readonly qd: number;
}
