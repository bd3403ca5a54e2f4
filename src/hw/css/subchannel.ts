// struct subchannel and the cio.c helpers a css driver uses on it (drivers/s390/cio/cio.c, css.c): a base Device
// named by its bus id (`0.0.0100`) under css0, its SCHIB as last stored, the logical and operational path masks,
// and the I/O instructions with their condition codes turned into errnos as cio.c does.
import { Device } from '../../base/device.js';
import type { SysfsAttrTable } from '../../base/sysfs.js';
import { VfioError } from '../../uapi/errno.js';
import { SCSW_ACTL_CLEAR_PEND, SCSW_ACTL_HALT_PEND, formatCcwBusId } from '../../uapi/s390-cio.js';
import type { CcwBusId, CmdOrb, Schib } from '../../uapi/s390-cio.js';
import type { Cc } from './subchannel-hw.js';
import { SubchannelHw } from './subchannel-hw.js';

export class Subchannel extends Device {
  /** The SCHIB as the last cioUpdateSchib stored it (sch->schib). */
  schib: Schib;
  /** Logical path mask (sch->lpm) and operational path mask (sch->opm), the kernel's view of the paths. */
  lpm: number;
  opm: number;
  isc = 0;
  /** A todo scheduled by css_sched_sch_todo (only SCH_TODO_UNREG here). */
  todo: 'none' | 'unreg' = 'none';

  constructor(
    readonly schid: CcwBusId,
    readonly hw: SubchannelHw,
  ) {
    super();
    this.name = formatCcwBusId(schid);
    this.schib = hw.stsch();
    this.opm = this.schib.pmcw.pim & this.schib.pmcw.pam & this.schib.pmcw.pom;
    this.lpm = this.opm;
  }

  /** The device number as a bus id in the same css and set (`0.0.1234`). */
  get devBusId(): string {
    return formatCcwBusId({ ...this.schid, num: this.schib.pmcw.dev });
  }
}

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

/** The subchannel's sysfs files (css.c: type, modalias, pimpampom, chpids, dev_busid). */
export const subchannelAttrs: SysfsAttrTable<Device> = Object.freeze({
  type: { show: (d: Device) => `${d instanceof Subchannel ? d.schib.pmcw.st : 0}\n` },
  modalias: { show: (d: Device) => `css:t${d instanceof Subchannel ? d.schib.pmcw.st.toString(16) : '0'}\n` },
  pimpampom: {
    show: (d: Device) => {
      if (!(d instanceof Subchannel)) return '\n';
      const p = d.hw.stsch().pmcw;
      return `${hex2(p.pim)} ${hex2(p.pam)} ${hex2(p.pom)}\n`;
    },
  },
  chpids: {
    show: (d: Device) => {
      if (!(d instanceof Subchannel)) return '\n';
      const p = d.hw.stsch().pmcw;
      return `${p.chpid.map((c, i) => ((p.pim & (0x80 >> i)) !== 0 ? hex2(c) : '00')).join(' ')}\n`;
    },
  },
  dev_busid: { show: (d: Device) => (d instanceof Subchannel && d.schib.pmcw.dnv ? `${d.devBusId}\n` : 'none\n') },
});

/** cio_update_schib(): stores the SCHIB; ENODEV when no valid device is there any more. */
export function cioUpdateSchib(sch: Subchannel): void {
  const schib = sch.hw.stsch();
  if (!schib.pmcw.dnv) throw new VfioError('ENODEV', `${sch.name}: no device`);
  sch.schib = schib;
}

function ccErrno(sch: Subchannel, cc: Cc, what: string): void {
  if (cc === 0) return;
  throw new VfioError(cc === 3 ? 'ENODEV' : 'EBUSY', `${sch.name}: ${what} cc ${cc}`);
}

/** cio_enable_subchannel(): enabled with `intparm`; EBUSY (status pending or busy), ENODEV. */
export function cioEnableSubchannel(sch: Subchannel, intparm: number): void {
  cioUpdateSchib(sch);
  ccErrno(sch, sch.hw.msch({ ena: true, intparm, isc: sch.isc, lpm: sch.lpm }), 'enable');
  sch.schib = sch.hw.stsch();
}

/** cio_disable_subchannel(): EBUSY while status is pending or a function runs, ENODEV without a device. */
export function cioDisableSubchannel(sch: Subchannel): void {
  const schib = sch.hw.stsch();
  if (!schib.pmcw.ena) return;
  ccErrno(sch, sch.hw.msch({ ena: false }), 'disable');
  sch.schib = sch.hw.stsch();
}

/** ssch: the condition code, for the caller to interpret (vfio-ccw's fsm_io_helper does). */
export function cioStart(sch: Subchannel, orb: CmdOrb): Cc {
  return sch.hw.ssch(orb);
}

export function cioHalt(sch: Subchannel): Cc {
  return sch.hw.hsch();
}

export function cioClear(sch: Subchannel): Cc {
  return sch.hw.csch();
}

/** cio_cancel(): XSCH; 0 withdrawn, EBUSY status pending, EINVAL nothing to cancel, ENODEV not operational. */
export function cioCancel(sch: Subchannel): 0 | 'EBUSY' | 'EINVAL' | 'ENODEV' {
  switch (sch.hw.xsch()) {
    case 0:
      try {
        cioUpdateSchib(sch);
      } catch {
        return 'ENODEV';
      }
      return 0;
    case 1:
      return 'EBUSY';
    case 2:
      return 'EINVAL';
    default:
      return 'ENODEV';
  }
}

/**
 * cio_cancel_halt_clear(): cancel what has not begun, else halt (up to 3 times), else clear (up to 255 times),
 * counting in `retry.iretry` across calls. 0: nothing left to end; EBUSY: a halt or clear was started (its
 * interruption follows); EIO: no more tries; ENODEV: not operational.
 */
export function cioCancelHaltClear(sch: Subchannel, retry: { iretry: number }): 0 | 'EBUSY' | 'EIO' | 'ENODEV' {
  try {
    cioUpdateSchib(sch);
  } catch {
    return 'ENODEV';
  }
  if (!sch.schib.pmcw.ena) return 0;
  const actl = sch.schib.scsw.actl;
  if ((actl & (SCSW_ACTL_HALT_PEND | SCSW_ACTL_CLEAR_PEND)) === 0) {
    // Command mode only here (no transport mode), so cancel always applies.
    const ret = cioCancel(sch);
    if (ret !== 'EINVAL') return ret;
    retry.iretry = 3;
  }
  if ((actl & SCSW_ACTL_HALT_PEND) === 0) {
    if (retry.iretry > 0) {
      retry.iretry -= 1;
      const cc = sch.hw.hsch();
      if (cc !== 1 && cc !== 2) return cc === 0 ? 'EBUSY' : 'ENODEV';
    }
    retry.iretry = 255;
  }
  if ((actl & SCSW_ACTL_CLEAR_PEND) === 0) {
    if (retry.iretry > 0) {
      retry.iretry -= 1;
      return sch.hw.csch() === 0 ? 'EBUSY' : 'ENODEV';
    }
    return 'EIO';
  }
  return 'EIO';
}
