// Channel paths (drivers/s390/cio/chp.c): `/sys/devices/css0/chp0.<id>` with `status` (the logical state an
// operator varies: CHP_VARY_ON/OFF to the drivers) and `configure` (the machine's configuration: the path
// becomes (un)available in every SCHIB, the channel subsystem reports a CRW, drivers get CHP_ONLINE/OFFLINE).
import { Device } from '../../base/device.js';
import type { SysfsAttrTable } from '../../base/sysfs.js';
import { VfioError } from '../../uapi/errno.js';
import { CRW_ERC_INIT, CRW_ERC_PERRN, CRW_RSC_CPATH, crwWord } from '../../uapi/s390-cio.js';
import { cssDriverOf } from './css-bus.js';
import type { ChpEvent } from './css-bus.js';
import type { Subchannel } from './subchannel.js';

export class Chp extends Device {
  /** Logically online (varied on). */
  online = true;
  /** Configured in the machine (the path is available). */
  configured = true;
  /** The machine CRWs this path's configuration changes reported, oldest first. */
  readonly crws: number[] = [];

  constructor(
    readonly cssid: number,
    readonly chpid: number,
    /** The subchannels of the machine, whoever has a path through this one is told. */
    private readonly subchannels: () => readonly Subchannel[],
  ) {
    super();
    this.name = `chp${cssid.toString(16)}.${chpid.toString(16).padStart(2, '0')}`;
  }

  private notify(event: ChpEvent): void {
    for (const sch of this.subchannels()) {
      const mask = sch.hw.pathMask(this.chpid);
      if (mask === 0) continue;
      const drv = cssDriverOf(sch);
      const ret = drv?.chpEvent?.(sch, this.chpid, mask, event) ?? 0;
      // s390_subchannel_remove_chpid(): a driver that could not handle the loss leaves no usable path; the
      // subchannel is evaluated again (css_schedule_eval, done at once here).
      if (event === 'offline' && ret !== 0) {
        sch.lpm = 0;
        drv?.schEvent?.(sch);
      }
    }
  }

  /** s390_vary_chpid(): the logical state changes; drivers hear CHP_VARY_ON/OFF. */
  vary(on: boolean): void {
    if (this.online === on) return;
    this.online = on;
    this.notify(on ? 'vary-on' : 'vary-off');
  }

  /** The machine (de)configures the path: SCHIBs change, a channel-path CRW, then CHP_ONLINE/OFFLINE. */
  configure(on: boolean): void {
    if (this.configured === on) return;
    this.configured = on;
    for (const sch of this.subchannels()) sch.hw.setPathAvailable(this.chpid, on);
    this.crws.push(crwWord({ slct: false, oflw: false, chn: false, rsc: CRW_RSC_CPATH, anc: false, erc: on ? CRW_ERC_INIT : CRW_ERC_PERRN, rsid: this.chpid }));
    this.notify(on ? 'online' : 'offline');
  }
}

function toChp(d: Device): Chp {
  if (!(d instanceof Chp)) throw new Error(`${d.name} is not a channel path`);
  return d;
}

/** chp.c's status and configure files. */
export const chpAttrs: SysfsAttrTable<Device> = Object.freeze({
  status: {
    show: (d: Device) => (toChp(d).online ? 'online\n' : 'offline\n'),
    store: (d: Device, value: string) => {
      const v = value.trim().toLowerCase();
      if (v === 'on' || v === 'online') toChp(d).vary(true);
      else if (v === 'off' || v === 'offline') toChp(d).vary(false);
      else throw new VfioError('EINVAL', `chp status: '${v}' is not online or offline`);
    },
  },
  configure: {
    show: (d: Device) => (toChp(d).configured ? '1\n' : '0\n'),
    store: (d: Device, value: string) => {
      const v = value.trim();
      if (v !== '0' && v !== '1') throw new VfioError('EINVAL', 'chp configure: 0 or 1');
      toChp(d).configure(v === '1');
    },
  },
  type: { show: () => '1b\n' },
});
