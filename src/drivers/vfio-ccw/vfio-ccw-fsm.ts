// The vfio-ccw device state machine (drivers/s390/cio/vfio_ccw_fsm.c, 6.1): states NOT_OPER, STANDBY, IDLE,
// CP_PROCESSING, CP_PENDING; events NOT_OPER, IO_REQ, INTERRUPT, ASYNC_REQ, OPEN, CLOSE; a jump table with the
// kernel's answers (I/O request: EIO when not open, EAGAIN while processing, EBUSY while a program is pending).
import { signalEventfd } from '../../emu/irq-triggers.js';
import { cssSchedUnregister } from '../../hw/css/css-machine.js';
import { cioCancelHaltClear, cioClear, cioDisableSubchannel, cioEnableSubchannel, cioHalt, cioStart, cioUpdateSchib } from '../../hw/css/subchannel.js';
import { VfioError } from '../../uapi/errno.js';
import type { ErrnoName } from '../../uapi/errno.js';
import {
  CCW_IO_REGION_IRB,
  CCW_IO_REGION_ORB,
  CCW_IO_REGION_RET_CODE,
  CCW_IO_REGION_SCSW,
  VFIO_CCW_ASYNC_CMD_CSCH,
  VFIO_CCW_ASYNC_CMD_HSCH,
  ccwRetCode,
  decodeCcwCmdRegion,
} from '../../uapi/ccw.js';
import {
  IRB_SIZE,
  ORB_AREA_SIZE,
  SCSW_ACTL_DEVACT,
  SCSW_ACTL_SCHACT,
  SCSW_FCTL_CLEAR_FUNC,
  SCSW_FCTL_HALT_FUNC,
  SCSW_FCTL_START_FUNC,
  SCSW_SIZE,
  SCSW_STCTL_ALERT_STATUS,
  SCSW_STCTL_STATUS_PEND,
  decodeCmdOrb,
  decodeScsw,
  encodeIrb,
} from '../../uapi/s390-cio.js';
import type { Irb } from '../../uapi/s390-cio.js';
import type { VfioCcwPrivate, VfioCcwState } from './vfio-ccw-private.js';

export type VfioCcwEvent = 'NOT_OPER' | 'IO_REQ' | 'INTERRUPT' | 'ASYNC_REQ' | 'OPEN' | 'CLOSE';

/** VFIO_CCW_ISC: the interruption subclass vfio-ccw enables its subchannels with. */
export const VFIO_CCW_ISC = 6;

type FsmFunc = (priv: VfioCcwPrivate, irb?: Irb) => void;

function setIoRet(priv: VfioCcwPrivate, code: ErrnoName | 0): void {
  new DataView(priv.ioRegion.buffer).setInt32(CCW_IO_REGION_RET_CODE, code === 0 ? 0 : ccwRetCode(code), true);
}

function setCmdRet(priv: VfioCcwPrivate, code: ErrnoName | 0): void {
  new DataView(priv.cmdRegion.buffer).setInt32(4, code === 0 ? 0 : ccwRetCode(code), true);
}

const errnoOf = (err: unknown): ErrnoName => {
  if (err instanceof VfioError) return err.code;
  throw err;
};

/** fsm_notoper(): the subchannel is unusable: unregister it soon; drop the program. */
function fsmNotoper(priv: VfioCcwPrivate): void {
  priv.sch.host?.logger.info({ sch: priv.sch.name, state: priv.state }, 'vfio-ccw: notoper');
  void cssSchedUnregister(priv.sch);
  priv.state = 'NOT_OPER';
  priv.cp.free();
}

const fsmNop: FsmFunc = () => {};
const fsmIoError: FsmFunc = (priv) => setIoRet(priv, 'EIO');
const fsmIoBusy: FsmFunc = (priv) => setIoRet(priv, 'EBUSY');
const fsmIoRetry: FsmFunc = (priv) => setIoRet(priv, 'EAGAIN');
const fsmAsyncError: FsmFunc = (priv) => setCmdRet(priv, 'EIO');
const fsmAsyncRetry: FsmFunc = (priv) => setCmdRet(priv, 'EAGAIN');

/** fsm_disabled_irq(): an interruption while disabled means a disable failed: try again. */
const fsmDisabledIrq: FsmFunc = (priv) => {
  try {
    cioDisableSubchannel(priv.sch);
  } catch {
    // Nothing more to do: the status stays until the next attempt.
  }
};

/** fsm_io_helper(): START SUBCHANNEL with the translated program; cc 3 narrows the path mask (EACCES/ENODEV). */
function fsmIoHelper(priv: VfioCcwPrivate): ErrnoName | 0 {
  const sch = priv.sch;
  const orb = priv.cp.getOrb(sch.schid.num, sch.lpm);
  const cc = cioStart(sch, orb);
  switch (cc) {
    case 0:
      priv.state = 'CP_PENDING';
      return 0;
    case 1:
    case 2:
      return 'EBUSY';
    default: {
      sch.lpm = orb.lpm !== 0 ? sch.lpm & ~orb.lpm : 0;
      try {
        cioUpdateSchib(sch);
      } catch {
        return 'ENODEV';
      }
      return sch.lpm !== 0 ? 'EACCES' : 'ENODEV';
    }
  }
}

/** fsm_io_request(): start, translate, pin and run the guest's program; halt and clear go through the async region. */
const fsmIoRequest: FsmFunc = (priv) => {
  priv.state = 'CP_PROCESSING';
  const scsw = decodeScsw(priv.ioRegion.subarray(CCW_IO_REGION_SCSW, CCW_IO_REGION_SCSW + SCSW_SIZE));
  let ret: ErrnoName | 0 | null;
  if ((scsw.fctl & SCSW_FCTL_START_FUNC) !== 0) {
    const orb = decodeCmdOrb(priv.ioRegion.subarray(CCW_IO_REGION_ORB, CCW_IO_REGION_ORB + ORB_AREA_SIZE));
    if (orb.tm) {
      ret = 'EOPNOTSUPP';
    } else {
      try {
        priv.cp.init(orb);
        try {
          priv.cp.prefetch();
          ret = fsmIoHelper(priv);
        } catch (err) {
          ret = errnoOf(err);
        }
        if (ret !== 0) priv.cp.free();
      } catch (err) {
        ret = errnoOf(err);
      }
    }
  } else if ((scsw.fctl & (SCSW_FCTL_HALT_FUNC | SCSW_FCTL_CLEAR_FUNC)) !== 0) {
    // Halt and clear are requested through the async command region.
    ret = 'EOPNOTSUPP';
  } else {
    // No function: the kernel leaves ret_code as the write left it (what the user wrote, or the last answer).
    ret = null;
  }
  if (ret !== null) setIoRet(priv, ret);
  if (ret !== 0 || priv.state === 'CP_PROCESSING') priv.state = 'IDLE';
};

/** fsm_async_request(): HSCH or CSCH from the command region. */
const fsmAsyncRequest: FsmFunc = (priv) => {
  const { command } = decodeCcwCmdRegion(priv.cmdRegion);
  const sch = priv.sch;
  let ret: ErrnoName | 0;
  if (command === VFIO_CCW_ASYNC_CMD_HSCH) {
    const cc = cioHalt(sch);
    ret = cc === 0 ? 0 : cc === 3 ? 'ENODEV' : 'EBUSY';
  } else if (command === VFIO_CCW_ASYNC_CMD_CSCH) {
    ret = cioClear(sch) === 3 ? 'ENODEV' : 0;
  } else {
    ret = 'EINVAL';
  }
  setCmdRet(priv, ret);
};

/** fsm_irq() and vfio_ccw_sch_io_todo(): the IRB (CCW address translated back) into the I/O region; IO eventfd. */
const fsmIrq: FsmFunc = (priv, irb) => {
  if (irb === undefined) return;
  let scsw = irb.scsw;
  const isFinal = (scsw.actl & (SCSW_ACTL_DEVACT | SCSW_ACTL_SCHACT)) === 0;
  const solicited = scsw.cc !== 0 || scsw.stctl !== (SCSW_STCTL_STATUS_PEND | SCSW_STCTL_ALERT_STATUS);
  let cpFinished = false;
  if (solicited) {
    scsw = priv.cp.updateScsw(scsw);
    if (isFinal && priv.state === 'CP_PENDING') {
      priv.cp.free();
      cpFinished = true;
    }
  }
  priv.irb = encodeIrb({ ...irb, scsw });
  priv.ioRegion.set(priv.irb.subarray(0, IRB_SIZE), CCW_IO_REGION_IRB);
  // Only a finished program returns to IDLE: not an unsolicited interruption, nor halt/clear's final one.
  if (cpFinished) priv.state = 'IDLE';
  signalEventfd(priv.ioTrigger);
};

/** fsm_open(): enable the subchannel for this user. */
const fsmOpen: FsmFunc = (priv) => {
  const sch = priv.sch;
  sch.isc = VFIO_CCW_ISC;
  try {
    cioEnableSubchannel(sch, sch.schid.num);
  } catch {
    vfioCcwFsmEvent(priv, 'NOT_OPER');
    return;
  }
  priv.state = 'IDLE';
};

/**
 * vfio_ccw_sch_quiesce(): cancel, halt or clear until the subchannel can be disabled. Where the kernel waits for
 * the interruption of what it started, the status is taken here at once and goes through the FSM as any
 * interruption does (so the guest's IRB and IO eventfd see a halted program, as with the kernel's io_todo).
 */
function vfioCcwSchQuiesce(priv: VfioCcwPrivate): void {
  const sch = priv.sch;
  const retry = { iretry: 255 };
  for (;;) {
    const ret = cioCancelHaltClear(sch, retry);
    if (ret === 'EIO') throw new VfioError('EIO', `${sch.name}: could not quiesce`);
    if (ret === 'EBUSY') {
      const { cc, irb } = sch.hw.tsch();
      if (cc === 0) vfioCcwFsmEvent(priv, 'INTERRUPT', irb);
    }
    try {
      cioDisableSubchannel(sch);
      return;
    } catch (err) {
      if (!VfioError.is(err, 'EBUSY')) throw err;
    }
  }
}

/** fsm_close(): disable, quiescing first when busy; any failure makes the subchannel not operational. */
const fsmClose: FsmFunc = (priv) => {
  const sch = priv.sch;
  try {
    if (!sch.schib.pmcw.ena) throw new VfioError('ENODEV', 'not enabled');
    try {
      cioDisableSubchannel(sch);
    } catch (err) {
      if (!VfioError.is(err, 'EBUSY')) throw err;
      vfioCcwSchQuiesce(priv);
    }
  } catch {
    vfioCcwFsmEvent(priv, 'NOT_OPER');
    return;
  }
  priv.state = 'STANDBY';
  priv.cp.free();
};

const JUMPTABLE: Readonly<Record<VfioCcwState, Readonly<Record<VfioCcwEvent, FsmFunc>>>> = Object.freeze({
  NOT_OPER: { NOT_OPER: fsmNop, IO_REQ: fsmIoError, ASYNC_REQ: fsmAsyncError, INTERRUPT: fsmDisabledIrq, OPEN: fsmNop, CLOSE: fsmNop },
  STANDBY: { NOT_OPER: fsmNotoper, IO_REQ: fsmIoError, ASYNC_REQ: fsmAsyncError, INTERRUPT: fsmDisabledIrq, OPEN: fsmOpen, CLOSE: fsmNotoper },
  IDLE: { NOT_OPER: fsmNotoper, IO_REQ: fsmIoRequest, ASYNC_REQ: fsmAsyncRequest, INTERRUPT: fsmIrq, OPEN: fsmNotoper, CLOSE: fsmClose },
  CP_PROCESSING: { NOT_OPER: fsmNotoper, IO_REQ: fsmIoRetry, ASYNC_REQ: fsmAsyncRetry, INTERRUPT: fsmIrq, OPEN: fsmNotoper, CLOSE: fsmClose },
  CP_PENDING: { NOT_OPER: fsmNotoper, IO_REQ: fsmIoBusy, ASYNC_REQ: fsmAsyncRequest, INTERRUPT: fsmIrq, OPEN: fsmNotoper, CLOSE: fsmClose },
});

/** vfio_ccw_fsm_event(). `irb` goes with INTERRUPT. */
export function vfioCcwFsmEvent(priv: VfioCcwPrivate, event: VfioCcwEvent, irb?: Irb): void {
  JUMPTABLE[priv.state][event](priv, irb);
}
