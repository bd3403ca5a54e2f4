// vfio_ap_matrix_dev_ops (drivers/s390/crypto/vfio_ap_ops.c): init, release (the last use of the state: the
// series' v4 rule), open/close (a guest attaches: vfio_ap_mdev_set_kvm/unset_kvm), the ioctls (GET_INFO with
// VFIO_DEVICE_FLAGS_AP and no regions, GET_IRQ_INFO and SET_IRQS for the REQ and CFG_CHG eventfds, RESET of
// every queue of the table, waiting for each), and request relaying to the REQ eventfd.
import { mightSleep } from '../../base/sleep.js';
import { close } from '../../native/index.js';
import { signalEventfd, takeEventfd } from '../../emu/irq-triggers.js';
import { VfioError } from '../../uapi/errno.js';
import { VFIO_DEVICE_FLAGS_AP, VFIO_DEVICE_FLAGS_RESET, VFIO_DEVICE_INFO_MINSZ, decodeVfioDeviceInfo, encodeVfioDeviceInfo } from '../../uapi/device-info.js';
import { VFIO_AP_CFG_CHG_IRQ_INDEX, VFIO_AP_NUM_IRQS, VFIO_AP_REQ_IRQ_INDEX, VFIO_IRQ_INFO_EVENTFD, decodeVfioIrqInfo, encodeVfioIrqInfo } from '../../uapi/irq-info.js';
import {
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_DATA_TYPE_MASK,
  decodeVfioIrqSet,
  vfioIrqSetEventfds,
  vfioSetIrqsValidateAndPrepare,
} from '../../uapi/irq-set.js';
import { VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_IRQ_INFO, VFIO_DEVICE_RESET, VFIO_DEVICE_SET_IRQS } from '../../uapi/ioctl.js';
import type { VfioDeviceOps } from '../../vfio/vfio-ops.js';
import { vfioApUpdateGuestApcb } from './matrix.js';
import { ApMatrixMdev, vfioApAssign, vfioApMdevInitDev, vfioApMdevResetQueues } from './matrix-mdev.js';
import { vfioApResetQueue } from './vfio-ap-queue.js';
import { MdevDevice } from '../../mdev/mdev-objects.js';
import { parseParams } from '../params.js';
import { vfioApParamsSchema } from './vfio-ap-params.js';

function getDeviceInfo(arg: Uint8Array): number {
  const info = decodeVfioDeviceInfo(arg);
  const out = encodeVfioDeviceInfo({ ...info, flags: VFIO_DEVICE_FLAGS_AP | VFIO_DEVICE_FLAGS_RESET, numRegions: 0, numIrqs: VFIO_AP_NUM_IRQS, capOffset: 0 });
  // copy_to_user of minsz: only the fields up to num_irqs go back.
  arg.set(out.subarray(0, VFIO_DEVICE_INFO_MINSZ));
  return 0;
}

function getIrqInfo(arg: Uint8Array): number {
  const info = decodeVfioIrqInfo(arg);
  if (info.index !== VFIO_AP_REQ_IRQ_INDEX && info.index !== VFIO_AP_CFG_CHG_IRQ_INDEX) throw new VfioError('EINVAL', `no IRQ index ${info.index}`);
  encodeVfioIrqInfo({ ...info, count: 1, flags: VFIO_IRQ_INFO_EVENTFD }, arg);
  return 0;
}

/** vfio_ap_set_irqs(): TRIGGER with one eventfd (-1 drops it) for REQ or CFG_CHG; anything else EINVAL. */
function setIrqs(m: ApMatrixMdev, arg: Uint8Array): number {
  const hdr = decodeVfioIrqSet(arg);
  vfioSetIrqsValidateAndPrepare(hdr, 1, VFIO_AP_NUM_IRQS);
  if ((hdr.flags & VFIO_IRQ_SET_ACTION_TRIGGER) === 0) throw new VfioError('EINVAL', 'vfio_ap: only ACTION_TRIGGER');
  if ((hdr.flags & VFIO_IRQ_SET_DATA_TYPE_MASK) !== VFIO_IRQ_SET_DATA_EVENTFD) throw new VfioError('EINVAL', 'vfio_ap: only DATA_EVENTFD');
  const [fd] = vfioIrqSetEventfds(hdr);
  if (fd === undefined || fd < -1) throw new VfioError('EINVAL', `bad eventfd ${String(fd)}`);
  // eventfd_ctx_fdget first: a bad fd changes nothing.
  const taken = fd === -1 ? -1 : takeEventfd(fd);
  if (hdr.index === VFIO_AP_REQ_IRQ_INDEX) {
    if (m.reqTrigger >= 0) close(m.reqTrigger);
    m.reqTrigger = taken;
  } else {
    if (m.cfgChgTrigger >= 0) close(m.cfgChgTrigger);
    m.cfgChgTrigger = taken;
  }
  return 0;
}

/** Drops both eventfds (the device's dups). */
function releaseTriggers(m: ApMatrixMdev): void {
  if (m.reqTrigger >= 0) close(m.reqTrigger);
  if (m.cfgChgTrigger >= 0) close(m.cfgChgTrigger);
  m.reqTrigger = -1;
  m.cfgChgTrigger = -1;
}

export const vfioApMatrixDevOps: VfioDeviceOps<ApMatrixMdev> = Object.freeze({
  name: 'vfio_ap_mdev',
  init: (m: ApMatrixMdev) => {
    vfioApMdevInitDev(m);
    // What the creator asked for, as writes to the assign_* files; any errno fails the create.
    const mdev = m.dev;
    const p = parseParams(vfioApParamsSchema, mdev instanceof MdevDevice ? mdev.params : undefined, 'vfio-ap');
    try {
      for (const a of p.adapters ?? []) vfioApAssign(m, 'apm', String(a));
      for (const d of p.domains ?? []) vfioApAssign(m, 'aqm', String(d));
      for (const c of p.controlDomains ?? []) vfioApAssign(m, 'adm', String(c));
    } catch (err) {
      // release is not called when init fails: the queues linked so far let go here.
      for (const q of m.qtable.values()) q.matrixMdev = null;
      m.qtable.clear();
      throw err;
    }
  },
  release: (m: ApMatrixMdev) => {
    // The last use of the state: remove already unlinked the queues; anything a failed probe left goes here.
    for (const q of m.qtable.values()) if (q.matrixMdev === m) q.matrixMdev = null;
    m.qtable.clear();
    releaseTriggers(m);
    m.matrixDev = null;
  },
  openDevice: (m: ApMatrixMdev) => {
    // vfio_ap_mdev_set_kvm(): the guest gets the shadow matrix.
    m.guestAttached = true;
    vfioApUpdateGuestApcb(m);
  },
  closeDevice: (m: ApMatrixMdev) => {
    // vfio_ap_mdev_unset_kvm(): the guest's masks are cleared and its queues reset. The core's close cannot
    // sleep here, so the close returns once every ZAPQ is in (the queues are zeroized and answer
    // RESET_IN_PROGRESS); their reset works finish on the workqueue, and RESET, remove and a queue's unbind flush
    // them. The kernel's close flushes them itself.
    m.guestAttached = false;
    for (const q of m.qtable.values()) vfioApResetQueue(q);
    releaseTriggers(m);
  },
  ioctl: (m: ApMatrixMdev, cmd: number, arg: Uint8Array) => {
    switch (cmd) {
      case VFIO_DEVICE_GET_INFO:
        return getDeviceInfo(arg);
      case VFIO_DEVICE_GET_IRQ_INFO:
        return getIrqInfo(arg);
      case VFIO_DEVICE_SET_IRQS:
        return setIrqs(m, arg);
      case VFIO_DEVICE_RESET:
      {
        // The caller's task sleeps until every queue is out of reset; the event loop goes on.
        mightSleep('vfio_ap VFIO_DEVICE_RESET');
        return vfioApMdevResetQueues(m).then((ret) => {
          if (ret !== 0) throw new VfioError(ret, 'a queue reset did not complete');
          return 0;
        });
      }
      default:
        throw new VfioError('EOPNOTSUPP', `vfio_ap: ioctl 0x${cmd.toString(16)}`);
    }
  },
  request: (m: ApMatrixMdev, count: number) => {
    if (m.reqTrigger >= 0) signalEventfd(m.reqTrigger);
    else if (count === 0) m.host?.logger.info({ device: m.name }, 'No device request registered, blocked until released by user');
  },
});
