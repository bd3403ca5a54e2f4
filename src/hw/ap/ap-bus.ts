// The `ap` bus (drivers/s390/crypto/ap_bus.c): the root device `/sys/devices/ap`, a card device per adapter and a
// queue device per APQN, the bus attributes `apmask`/`aqmask` (ap_perms: which adapters and domains the default
// drivers keep), driver registration with the AP_DRIVER_FLAG_DEFAULT rule in probe, and the re-binding a mask
// change causes (ap_bus_revise_bindings). A non-default driver (vfio_ap) may veto giving queues back with in_use.
import { busRegister } from '../../base/bus.js';
import type { Bus } from '../../base/bus.js';
import { Device, deviceRegister, deviceUnregister } from '../../base/device.js';
import type { Driver } from '../../base/driver.js';
import { driverRegister, driverUnregister } from '../../base/driver.js';
import { deviceAttach, deviceReleaseDriver } from '../../base/dd.js';
import type { Host } from '../../base/host.js';
import type { SysfsAttrTable, SysfsDir } from '../../base/sysfs.js';
import { VfioError } from '../../uapi/errno.js';
import { ApCard, ApQueue, apCardAttrs, apQueueAttrs } from './ap-devices.js';
import type { ApMachine } from './ap-machine.js';
import { ApMask, apParseMask } from './ap-mask.js';

/** struct ap_driver, the part modelled. */
export interface ApDriver {
  readonly name: string;
  /** Which devices it drives. */
  readonly kind: 'card' | 'queue';
  /** AP_DRIVER_FLAG_DEFAULT: a host driver, bound to what apmask/aqmask keep; else bound to the rest. */
  readonly isDefault: boolean;
  probe(dev: ApCard | ApQueue): void;
  /** Opposite of probe. */
  /** Opposite of probe; a remove that waits (for a queue's reset) returns a promise, as dd.ts allows. */
  remove?(dev: ApCard | ApQueue): void | Promise<void>;
  /** Whether any APQN of `apm` x `aqm` is in use (vfio_ap_mdev_resource_in_use): a mask store giving it back gets EBUSY. */
  inUse?(apm: ApMask, aqm: ApMask): boolean;
}

/** ap_bus.c's globals for one host. */
export interface ApBusState {
  readonly host: Host;
  readonly bus: Bus;
  readonly machine: ApMachine;
  /** ap_perms.apm / ap_perms.aqm. */
  readonly apm: ApMask;
  readonly aqm: ApMask;
  readonly root: Device;
  readonly cards: Map<number, ApCard>;
  readonly queues: Map<number, ApQueue>;
  readonly drivers: Map<Driver, ApDriver>;
}

const states = new WeakMap<Host, ApBusState>();

/** The host's AP bus, or null before apBusInit. */
export function apBusState(host: Host): ApBusState | null {
  return states.get(host) ?? null;
}

/** ap_owned_by_def_drv(): whether the default drivers own queue card.domain (or the card, domain -1). */
export function apOwnedByDefDrv(s: ApBusState, card: number, domain: number): boolean {
  return s.apm.test(card) && (domain < 0 || s.aqm.test(domain));
}

/** ap_apqn_in_matrix_owned_by_def_drv(): whether any APQN of apm x aqm belongs to the default drivers. */
export function apApqnInMatrixOwnedByDefDrv(host: Host, apm: ApMask, aqm: ApMask): boolean {
  const s = states.get(host);
  return s !== undefined && s.apm.intersects(apm) && s.aqm.intersects(aqm);
}

function matches(s: ApBusState, dev: Device, ad: ApDriver): boolean {
  if (dev instanceof ApQueue) return ad.kind === 'queue' && ad.isDefault === apOwnedByDefDrv(s, dev.cardId, dev.domain);
  if (dev instanceof ApCard) return ad.kind === 'card' && ad.isDefault === apOwnedByDefDrv(s, dev.id, -1);
  return false;
}

/** ap_bus_revise_bindings(): devices whose owner changed are unbound and offered to the drivers again. */
function reviseBindings(s: ApBusState): void {
  for (const dev of [...s.queues.values(), ...s.cards.values()]) {
    const ad = dev.driver !== null ? s.drivers.get(dev.driver) : undefined;
    if (ad !== undefined && !matches(s, dev, ad)) deviceReleaseDriver(dev);
  }
  for (const dev of [...s.cards.values(), ...s.queues.values()]) if (dev.driver === null) deviceAttach(dev);
}

/** apmask_commit()/aqmask_commit(): bits given back to the default drivers must not be in use by another driver. */
function maskStore(s: ApBusState, which: 'apm' | 'aqm', text: string): void {
  const cur = s[which];
  const next = apParseMask(text, cur);
  if (next.equals(cur)) return;
  const added = next.andNot(cur);
  if (!added.isEmpty()) {
    const apm = which === 'apm' ? added : s.apm;
    const aqm = which === 'aqm' ? added : s.aqm;
    for (const ad of s.drivers.values()) {
      if (!ad.isDefault && ad.inUse?.(apm, aqm) === true) throw new VfioError('EBUSY', `${which === 'apm' ? 'adapters' : 'domains'} in use by ${ad.name}`);
    }
  }
  cur.copyFrom(next);
  reviseBindings(s);
}

function busAttrs(s: ApBusState): SysfsAttrTable<null> {
  return Object.freeze({
    apmask: { show: () => `${s.apm.toHex()}\n`, store: (_: null, v: string) => maskStore(s, 'apm', v) },
    aqmask: { show: () => `${s.aqm.toHex()}\n`, store: (_: null, v: string) => maskStore(s, 'aqm', v) },
    ap_max_adapter_id: { show: () => `${s.machine.config().na}\n` },
    ap_max_domain_id: { show: () => `${s.machine.config().nd}\n` },
  });
}

export interface ApBusOptions {
  /** ap.apmask= / ap.aqmask= (the kernel parameters), applied to all-ones masks. */
  readonly apmask?: string;
  readonly aqmask?: string;
}

/**
 * ap_module_init() + the first bus scan: registers `/sys/bus/ap` with its masks and `/sys/devices/ap` with a card
 * per adapter and a queue per APQN of `machine`. EEXIST if the host has an AP bus already.
 */
export function apBusInit(host: Host, machine: ApMachine, opts: ApBusOptions = {}): ApBusState {
  if (states.has(host)) throw new VfioError('EEXIST', 'the host has an ap bus');
  const apm = opts.apmask !== undefined ? apParseMask(opts.apmask, ApMask.full()) : ApMask.full();
  const aqm = opts.aqmask !== undefined ? apParseMask(opts.aqmask, ApMask.full()) : ApMask.full();
  const drivers = new Map<Driver, ApDriver>();
  let state: ApBusState | null = null;
  const bus = busRegister(host, 'ap', {
    match: (dev: Device, drv: Driver) => {
      const ad = drivers.get(drv);
      return state !== null && ad !== undefined && matches(state, dev, ad);
    },
  });
  const root = new Device();
  root.name = 'ap';
  // ap_root_device is static: nothing to free.
  root.release = () => {};
  deviceRegister(root, host);
  const s: ApBusState = { host, bus, machine, apm, aqm, root, cards: new Map(), queues: new Map(), drivers };
  state = s;
  const busDir = busDirOf(host);
  host.sysfs.addAttrs(busDir, busAttrs(s));
  states.set(host, s);
  for (const id of machine.cards) {
    const card = new ApCard(id, machine.queue(((id & 0xff) << 8) | (machine.domains[0] ?? 0))?.depth ?? 8);
    card.parent = root;
    card.bus = bus;
    card.groups = [apCardAttrs];
    card.release = () => {};
    deviceRegister(card, host);
    s.cards.set(id, card);
    for (const d of machine.domains) {
      const hw = machine.queue((id << 8) | d);
      if (hw === undefined) continue;
      const q = new ApQueue(card, hw);
      q.bus = bus;
      q.groups = [apQueueAttrs];
      q.release = () => {};
      deviceRegister(q, host);
      s.queues.set(hw.qid, q);
    }
  }
  return s;
}

function busDirOf(host: Host): SysfsDir {
  const node = host.sysfs.lookup('/bus/ap');
  if (node === undefined || node.kind !== 'dir') throw new Error('the ap bus has no sysfs directory');
  return node;
}

/** ap_module_exit(): every queue and card goes (their drivers' remove runs), then the bus. */
export function apBusExit(host: Host): void {
  const s = states.get(host);
  if (s === undefined) return;
  for (const q of [...s.queues.values()].reverse()) deviceUnregister(q);
  s.queues.clear();
  for (const c of [...s.cards.values()].reverse()) deviceUnregister(c);
  s.cards.clear();
  deviceUnregister(s.root);
  // The base core has no bus_unregister: the bus's directory and its entry go here, the bus being empty.
  host.sysfs.remove(busDirOf(host));
  host.buses.delete('ap');
  states.delete(host);
}

/** ap_driver_register(): binds the devices it matches. ENODEV without an AP bus. */
export function apDriverRegister(host: Host, ad: ApDriver): Driver {
  const s = states.get(host);
  if (s === undefined) throw new VfioError('ENODEV', 'the host has no ap bus');
  // driverRegister attaches at once, but match needs the Driver -> ApDriver entry, which exists only once it
  // returns: it binds nothing there, and the attach below does.
  const drv = driverRegister(s.bus, ad.name, {
    probe: (dev: Device) => {
      if (!(dev instanceof ApCard || dev instanceof ApQueue)) throw new VfioError('ENODEV', `${dev.name} is not an AP device`);
      ad.probe(dev);
    },
    remove: (dev: Device) => (dev instanceof ApCard || dev instanceof ApQueue ? ad.remove?.(dev) : undefined),
  });
  s.drivers.set(drv, ad);
  for (const dev of [...s.cards.values(), ...s.queues.values()]) if (dev.driver === null) deviceAttach(dev);
  return drv;
}

/** ap_driver_unregister(): unbinds its devices (running remove), then goes. */
export function apDriverUnregister(host: Host, drv: Driver): void {
  const s = states.get(host);
  driverUnregister(drv);
  s?.drivers.delete(drv);
}

/** The queue device of `qid`, if the bus has it (ap_get_qdev). */
export function apGetQdev(host: Host, qid: number): ApQueue | undefined {
  return states.get(host)?.queues.get(qid);
}
