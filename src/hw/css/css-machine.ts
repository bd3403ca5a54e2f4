// The simulated channel subsystem of a host (drivers/s390/cio/css.c css_register_subchannel, css_sched_sch_todo,
// the I/O interruption handler do_cio_interrupt): subchannels with their devices and channel paths, built from a
// description; each subchannel's interruption runs TEST SUBCHANNEL and hands the IRB to its css driver.
import { deviceAdd, deviceDel, deviceInitialize, putDevice } from '../../base/device.js';
import type { Host } from '../../base/host.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { VfioError } from '../../uapi/errno.js';
import { formatCcwBusId, parseCcwBusId } from '../../uapi/s390-cio.js';
import type { CcwDeviceModel } from './ccw-device.js';
import { Chp, chpAttrs } from './chp.js';
import { cssDriverOf, cssHostState, cssPendingRemoval } from './css-bus.js';
import { Subchannel, subchannelAttrs } from './subchannel.js';
import { SubchannelHw } from './subchannel-hw.js';

export interface CssSubchannelSpec {
  /** The subchannel's bus id, `0.0.0100`. */
  readonly schid: string;
  /** The device number, `0.0.1234` (only the last part is the number). */
  readonly devno: string;
  /** Channel paths (default one, 0x10). */
  readonly chpids?: readonly number[];
  /** The device; destroyed with the machine when it has `destroy()`. */
  readonly device: CcwDeviceModel;
}

export interface CssMachine {
  readonly host: Host;
  readonly subchannels: readonly Subchannel[];
  readonly chps: readonly Chp[];
  subchannel(name: string): Subchannel | undefined;
  chp(chpid: number): Chp | undefined;
  /** The device behind `name` is gone: the subchannel's driver hears a subchannel event. */
  detachDevice(name: string): void;
  /** Unregisters every subchannel (awaiting their drivers' removes) and channel path. Idempotent. */
  destroy(): Promise<void>;
}

const machines = new WeakMap<Host, MachineImpl>();

class MachineImpl implements CssMachine {
  readonly subchannels: Subchannel[] = [];
  readonly chps: Chp[] = [];
  private readonly irqs = new Map<Subchannel, NodeJS.Immediate>();
  private readonly unregs = new Map<Subchannel, Promise<void>>();
  private destroying: Promise<void> | null = null;

  constructor(readonly host: Host) {}

  subchannel(name: string): Subchannel | undefined {
    return this.subchannels.find((s) => s.name === name);
  }

  chp(chpid: number): Chp | undefined {
    return this.chps.find((c) => c.chpid === chpid);
  }

  /** do_cio_interrupt(): TEST SUBCHANNEL, then the driver's irq with the IRB (no driver: the status is dropped). */
  raiseIrq(sch: Subchannel): void {
    if (this.irqs.has(sch)) return;
    this.irqs.set(
      sch,
      setImmediate(() => {
        this.irqs.delete(sch);
        const { cc, irb } = sch.hw.tsch();
        if (cc === 0) cssDriverOf(sch)?.irq?.(sch, irb);
      }),
    );
  }

  detachDevice(name: string): void {
    const sch = this.subchannel(name);
    if (sch === undefined) throw new VfioError('ENODEV', `no subchannel ${name}`);
    sch.hw.detachDevice();
    cssDriverOf(sch)?.schEvent?.(sch);
  }

  /** css_sched_sch_todo(SCH_TODO_UNREG) and its work: the subchannel goes (its driver's remove awaited). */
  unregister(sch: Subchannel): Promise<void> {
    let p = this.unregs.get(sch);
    if (p !== undefined) return p;
    sch.todo = 'unreg';
    p = (async () => {
      await new Promise<void>((r) => setImmediate(r));
      const t = this.irqs.get(sch);
      if (t !== undefined) clearImmediate(t);
      this.irqs.delete(sch);
      deviceDel(sch);
      await cssPendingRemoval(sch);
      sch.hw.destroy();
      const i = this.subchannels.indexOf(sch);
      if (i >= 0) this.subchannels.splice(i, 1);
      // Balances deviceInitialize in cssMachineCreate.
      putDevice(sch);
    })();
    this.unregs.set(sch, p);
    return p;
  }

  destroy(): Promise<void> {
    this.destroying ??= (async () => {
      const devices = this.subchannels.map((s) => s.hw.device);
      await Promise.all([...this.subchannels].map((s) => this.unregister(s)));
      await Promise.all([...this.unregs.values()]);
      for (const d of devices) d.destroy?.();
      for (const c of this.chps.splice(0)) {
        deviceDel(c);
        putDevice(c);
      }
      machines.delete(this.host);
    })();
    return this.destroying;
  }
}

/** The machine of `host`, if one was created. */
export function cssMachineOf(host: Host): CssMachine | undefined {
  return machines.get(host);
}

/** css_sched_sch_todo(sch, SCH_TODO_UNREG): unregisters `sch` soon; the promise settles once it is gone. */
export function cssSchedUnregister(sch: Subchannel): Promise<void> {
  const m = sch.host === null ? undefined : machines.get(sch.host);
  if (m === undefined) return Promise.resolve();
  return m.unregister(sch);
}

/** Builds the host's channel subsystem: channel paths, then the subchannels (EBUSY if one exists already). */
export function cssMachineCreate(host: Host, specs: readonly CssSubchannelSpec[]): CssMachine {
  if (machines.has(host)) throw new VfioError('EBUSY', 'the host already has a channel subsystem');
  const hs = cssHostState(host);
  const m = new MachineImpl(host);
  const names = new Set<string>();
  const parsed = specs.map((s) => {
    const id = parseCcwBusId(s.schid);
    const dev = parseCcwBusId(s.devno);
    const name = formatCcwBusId(id);
    if (names.has(name)) throw new VfioError('EEXIST', `subchannel ${s.schid} twice`);
    names.add(name);
    return { spec: s, id, devno: dev.num };
  });
  machines.set(host, m);
  try {
    const chpids = [...new Set(parsed.flatMap((p) => p.spec.chpids ?? [0x10]))].sort((a, b) => a - b);
    for (const chpid of chpids) {
      const chp = new Chp(0, chpid, () => m.subchannels);
      deviceInitialize(chp, host);
      chp.parent = hs.root;
      chp.groups = [chpAttrs];
      chp.release = () => {};
      deviceAdd(chp);
      m.chps.push(chp);
    }
    for (const p of parsed) {
      const hw = new SubchannelHw({ devno: p.devno, chpids: p.spec.chpids ?? [0x10], device: p.spec.device });
      const sch = new Subchannel(p.id, hw);
      sanitizer.track(sch, 'subchannel', `subchannel ${sch.name}`);
      deviceInitialize(sch, host);
      sch.parent = hs.root;
      sch.bus = hs.bus;
      sch.groups = [subchannelAttrs];
      sch.release = (d) => sanitizer.free(d);
      hw.irqSink = () => m.raiseIrq(sch);
      m.subchannels.push(sch);
      deviceAdd(sch);
    }
  } catch (err) {
    void m.destroy();
    throw err;
  }
  return m;
}
