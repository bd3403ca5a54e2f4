// vfio-ccw's vfio_device_ops (drivers/s390/cio/vfio_ccw_ops.c, 6.1): init re-arms release_comp; release clears
// the core part and completes it (the css side frees the storage later); open registers the capability regions
// and enables the subchannel; read/write dispatch on index << 10; the info ioctls, SET_IRQS for IO/CRW/REQ,
// RESET as close + open; request signals REQ; dma_unmap resets a device whose program pinned the range.
import { copyToUser } from '../../uapi/codec.js';
import { Completion } from '../../base/completion.js';
import { signalEventfd, takeEventfd } from '../../emu/irq-triggers.js';
import { close } from '../../native/index.js';
import { VfioError, check } from '../../uapi/errno.js';
import { CCW_IO_REGION_SIZE, vfioCcwIndexToOffset, vfioCcwOffsetToIndex } from '../../uapi/ccw.js';
import { decodeVfioDeviceInfo, encodeVfioDeviceInfo, VFIO_DEVICE_FLAGS_CCW, VFIO_DEVICE_FLAGS_RESET, VFIO_DEVICE_INFO_MINSZ } from '../../uapi/device-info.js';
import { VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_IRQ_INFO, VFIO_DEVICE_GET_REGION_INFO, VFIO_DEVICE_RESET, VFIO_DEVICE_SET_IRQS } from '../../uapi/ioctl.js';
import { decodeVfioIrqInfo, encodeVfioIrqInfo, VFIO_CCW_CRW_IRQ_INDEX, VFIO_CCW_IO_IRQ_INDEX, VFIO_CCW_NUM_IRQS, VFIO_CCW_REQ_IRQ_INDEX, VFIO_IRQ_INFO_EVENTFD } from '../../uapi/irq-info.js';
import {
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_DATA_BOOL,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_DATA_NONE,
  VFIO_IRQ_SET_DATA_TYPE_MASK,
  decodeVfioIrqSet,
  vfioIrqSetBools,
  vfioIrqSetEventfds,
  vfioSetIrqsValidateAndPrepare,
} from '../../uapi/irq-set.js';
import { vfioRegionCapType } from '../../uapi/region-caps.js';
import {
  VFIO_CCW_CONFIG_REGION_INDEX,
  VFIO_CCW_NUM_REGIONS,
  VFIO_REGION_INFO_FLAG_READ,
  VFIO_REGION_INFO_FLAG_WRITE,
  decodeVfioRegionInfo,
  encodeVfioRegionInfoWithCaps,
} from '../../uapi/region-info.js';
import type { VfioDeviceOps } from '../../vfio/vfio-ops.js';
import { vfioCcwFsmEvent } from './vfio-ccw-fsm.js';
import type { VfioCcwPrivate } from './vfio-ccw-private.js';
import { ioRegionRead, ioRegionWrite, vfioCcwRegisterDevRegions, vfioCcwUnregisterDevRegions } from './vfio-ccw-regions.js';

/** The capability region at `index`, or EINVAL past the last one. */
function regionAt(priv: VfioCcwPrivate, index: number) {
  const r = priv.regions[index - VFIO_CCW_NUM_REGIONS];
  if (r === undefined) throw new VfioError('EINVAL', `no region ${index}`);
  return r;
}

function getInfo(priv: VfioCcwPrivate, arg: Uint8Array): number {
  const info = decodeVfioDeviceInfo(arg);
  const out = encodeVfioDeviceInfo({
    argsz: info.argsz,
    flags: VFIO_DEVICE_FLAGS_CCW | VFIO_DEVICE_FLAGS_RESET,
    numRegions: VFIO_CCW_NUM_REGIONS + priv.regions.length,
    numIrqs: VFIO_CCW_NUM_IRQS,
    capOffset: 0,
  });
  // copy_to_user(arg, &info, minsz): cap_offset is not written.
  return copyToUser(arg, out.subarray(0, VFIO_DEVICE_INFO_MINSZ));
}

function getRegionInfo(priv: VfioCcwPrivate, arg: Uint8Array): number {
  const info = decodeVfioRegionInfo(arg);
  if (info.index === VFIO_CCW_CONFIG_REGION_INDEX) {
    return copyToUser(arg, encodeVfioRegionInfoWithCaps({ ...info, flags: VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE, capOffset: 0, offset: 0n, size: BigInt(CCW_IO_REGION_SIZE) }, []));
  }
  const r = regionAt(priv, info.index);
  const out = encodeVfioRegionInfoWithCaps(
    { ...info, flags: r.flags, capOffset: 0, offset: BigInt(vfioCcwIndexToOffset(info.index)), size: BigInt(r.size) },
    [vfioRegionCapType(r.type, r.subtype)],
  );
  return copyToUser(arg, out.subarray(0, Math.min(out.length, Math.max(info.argsz, 32))));
}

function getIrqInfo(arg: Uint8Array): number {
  const info = decodeVfioIrqInfo(arg);
  check(info.index < VFIO_CCW_NUM_IRQS, 'EINVAL', `irq index ${info.index}`);
  return copyToUser(arg, encodeVfioIrqInfo({ ...info, count: 1, flags: VFIO_IRQ_INFO_EVENTFD }));
}

type TriggerKey = 'ioTrigger' | 'crwTrigger' | 'reqTrigger';
const TRIGGERS: Readonly<Record<number, TriggerKey>> = Object.freeze({
  [VFIO_CCW_IO_IRQ_INDEX]: 'ioTrigger',
  [VFIO_CCW_CRW_IRQ_INDEX]: 'crwTrigger',
  [VFIO_CCW_REQ_IRQ_INDEX]: 'reqTrigger',
});

function setTrigger(priv: VfioCcwPrivate, key: TriggerKey, fd: number): void {
  if (priv[key] >= 0) close(priv[key]);
  priv[key] = fd;
}

/** vfio_ccw_mdev_set_irqs(): ACTION_TRIGGER only; NONE/BOOL signal, EVENTFD sets (-1 clears). */
function setIrqs(priv: VfioCcwPrivate, arg: Uint8Array): number {
  const hdr = decodeVfioIrqSet(arg);
  vfioSetIrqsValidateAndPrepare(hdr, 1, VFIO_CCW_NUM_IRQS);
  check((hdr.flags & VFIO_IRQ_SET_ACTION_TRIGGER) !== 0, 'EINVAL', 'vfio-ccw IRQs only trigger');
  const key = TRIGGERS[hdr.index];
  if (key === undefined) throw new VfioError('EINVAL', `irq index ${hdr.index}`);
  switch (hdr.flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
    case VFIO_IRQ_SET_DATA_NONE:
      signalEventfd(priv[key]);
      return 0;
    case VFIO_IRQ_SET_DATA_BOOL:
      if (vfioIrqSetBools({ ...hdr, count: 1 })[0] === true) signalEventfd(priv[key]);
      return 0;
    case VFIO_IRQ_SET_DATA_EVENTFD: {
      const fd = vfioIrqSetEventfds({ ...hdr, count: 1 })[0] ?? -1;
      if (fd === -1) setTrigger(priv, key, -1);
      else if (fd >= 0) setTrigger(priv, key, takeEventfd(fd));
      else throw new VfioError('EINVAL', `eventfd ${fd}`);
      return 0;
    }
    default:
      throw new VfioError('EINVAL', 'vfio_irq_set: bad data type');
  }
}

/** vfio_ccw_mdev_reset(): close then open the FSM; EINVAL if the subchannel went not operational. */
function reset(priv: VfioCcwPrivate): number {
  vfioCcwFsmEvent(priv, 'CLOSE');
  vfioCcwFsmEvent(priv, 'OPEN');
  check(priv.state !== 'NOT_OPER', 'EINVAL', 'subchannel not operational');
  return 0;
}

function notOper(priv: VfioCcwPrivate): boolean {
  return priv.state === 'NOT_OPER';
}

function closeTriggers(priv: VfioCcwPrivate): void {
  setTrigger(priv, 'ioTrigger', -1);
  setTrigger(priv, 'crwTrigger', -1);
  setTrigger(priv, 'reqTrigger', -1);
}

/** vfio_ccw_dev_ops. */
export const vfioCcwOps: VfioDeviceOps<VfioCcwPrivate> = Object.freeze({
  name: 'vfio-ccw',
  /** vfio_ccw_mdev_init_dev(): init_completion(&private->release_comp). */
  init(priv: VfioCcwPrivate) {
    priv.releaseComp = new Completion();
  },
  /**
   * vfio_ccw_mdev_release_dev(): the storage holds the subchannel's state and belongs to the css driver: clear
   * the core part (the kernel's memset of vdev) and tell the mdev remove that every reference is gone.
   */
  release(priv: VfioCcwPrivate) {
    priv.ops = null;
    priv.index = -1;
    priv.dev = null;
    priv.core = null;
    priv.devSet = null;
    priv.group = null;
    priv.openBinding = null;
    priv.dmaAccess = null;
    priv.cdevPath = null;
    priv.regState = 'unregistered';
    priv.name = '';
    priv.host = null;
    priv.parent = null;
    priv.class = null;
    priv.groups = null;
    priv.release = null;
    priv.releaseComp.complete();
  },
  /** vfio_ccw_mdev_open_device(): EINVAL from NOT_OPER; regions; the OPEN event enables the subchannel. */
  openDevice(priv: VfioCcwPrivate) {
    check(priv.state !== 'NOT_OPER', 'EINVAL', 'subchannel not operational');
    vfioCcwRegisterDevRegions(priv);
    vfioCcwFsmEvent(priv, 'OPEN');
    // The event may have changed the state (a failed enable is NOT_OPER).
    if (notOper(priv)) {
      vfioCcwUnregisterDevRegions(priv);
      throw new VfioError('EINVAL', 'subchannel not operational');
    }
  },
  /** vfio_ccw_mdev_close_device(): the CLOSE event disables the subchannel; regions and eventfds go. */
  closeDevice(priv: VfioCcwPrivate) {
    vfioCcwFsmEvent(priv, 'CLOSE');
    vfioCcwUnregisterDevRegions(priv);
    closeTriggers(priv);
  },
  read(priv: VfioCcwPrivate, buf: Uint8Array, pos: number) {
    const index = vfioCcwOffsetToIndex(pos);
    if (index === VFIO_CCW_CONFIG_REGION_INDEX) return ioRegionRead(priv, buf, pos);
    return regionAt(priv, index).read(priv, buf, pos);
  },
  write(priv: VfioCcwPrivate, buf: Uint8Array, pos: number) {
    const index = vfioCcwOffsetToIndex(pos);
    if (index === VFIO_CCW_CONFIG_REGION_INDEX) return ioRegionWrite(priv, buf, pos);
    return regionAt(priv, index).write(priv, buf, pos);
  },
  ioctl(priv: VfioCcwPrivate, cmd: number, arg: Uint8Array) {
    switch (cmd) {
      case VFIO_DEVICE_GET_INFO:
        return getInfo(priv, arg);
      case VFIO_DEVICE_GET_REGION_INFO:
        return getRegionInfo(priv, arg);
      case VFIO_DEVICE_GET_IRQ_INFO:
        return getIrqInfo(arg);
      case VFIO_DEVICE_SET_IRQS:
        return setIrqs(priv, arg);
      case VFIO_DEVICE_RESET:
        return reset(priv);
      default:
        throw new VfioError('ENOTTY', `ioctl 0x${cmd.toString(16)}`);
    }
  },
  /** vfio_ccw_mdev_request(): relay to the user through REQ; without one, say once that we wait. */
  request(priv: VfioCcwPrivate, count: number) {
    if (priv.reqTrigger >= 0) signalEventfd(priv.reqTrigger);
    else if (count === 0) priv.sch.host?.logger.info({ sch: priv.sch.name }, 'No device request channel registered, blocked until released by user');
  },
  /** vfio_ccw_dma_unmap(): pages a program pinned in the range must go: reset, which frees the program. */
  dmaUnmap(priv: VfioCcwPrivate, iova: bigint, length: bigint) {
    if (!priv.cp.iovaPinned(iova, length)) return;
    try {
      reset(priv);
    } catch (err) {
      if (!(err instanceof VfioError)) throw err;
    }
  },
});
