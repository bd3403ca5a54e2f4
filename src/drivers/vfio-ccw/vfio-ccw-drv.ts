// vfio-ccw's two drivers and its module (drivers/s390/cio/vfio_ccw_drv.c and the mdev half of vfio_ccw_ops.c,
// 6.1): the css driver `vfio_ccw` allocates the private structure in probe and registers an mdev parent (type
// `io`) on the subchannel; the mdev driver's probe initDevice()s that structure and registers it; the mdev remove
// unregisters, puts and waits for release_comp; the css remove unregisters the parent and only then frees the
// structure with freeDevice. Interruptions, channel-path events and subchannel events reach the FSM from here.
import type { Host } from '../../base/host.js';
import type { Device } from '../../base/device.js';
import { cssDriverRegister, cssDriverUnregister } from '../../hw/css/css-bus.js';
import type { ChpEvent, CssDriver } from '../../hw/css/css-bus.js';
import { cssMachineCreate } from '../../hw/css/css-machine.js';
import type { CssMachine } from '../../hw/css/css-machine.js';
import { FbaDisk } from '../../hw/css/fba-disk.js';
import { UnitRecordConsole } from '../../hw/css/unit-record.js';
import { cioCancelHaltClear, cioUpdateSchib } from '../../hw/css/subchannel.js';
import type { Subchannel } from '../../hw/css/subchannel.js';
import { signalEventfd } from '../../emu/irq-triggers.js';
import { mdevRegisterDriver, mdevUnregisterDriver } from '../../mdev/mdev-bus.js';
import type { MdevDevice, MdevDriver, MdevParent } from '../../mdev/mdev-objects.js';
import { mdevRegisterParent, mdevUnregisterParent } from '../../mdev/mdev-parent.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { VFIO_DEVICE_API_CCW_STRING } from '../../uapi/device-info.js';
import { VfioError } from '../../uapi/errno.js';
import type { ErrnoName } from '../../uapi/errno.js';
import { CRW_ERC_INIT, CRW_ERC_PERRN, CRW_RSC_CPATH, crwWord } from '../../uapi/s390-cio.js';
import { registerEmulatedIommuDev, unregisterGroupDev } from '../../vfio/registration.js';
import { freeDevice, initDevice, putVfioDevice } from '../../vfio/vfio-device.js';
import { vfioCcwFsmEvent } from './vfio-ccw-fsm.js';
import { vfioCcwOps } from './vfio-ccw-ops.js';
import { VFIO_CCW_DEFAULT_SUBCHANNELS } from './vfio-ccw-options.js';
import type { VfioCcwModuleOptions, VfioCcwSubchannelOption } from './vfio-ccw-options.js';
import { VfioCcwPrivate, vfioCcwAllocPrivate } from './vfio-ccw-private.js';

/** The css driver's name (and so the mdev type prefix: `vfio_ccw-io`). */
export const VFIO_CCW_CSS_DRIVER = 'vfio_ccw';

/** dev_get_drvdata(&sch->dev). */
export function vfioCcwPrivateOf(dev: Device): VfioCcwPrivate | null {
  return dev.driverData instanceof VfioCcwPrivate ? dev.driverData : null;
}

/** vfio_ccw_mdev_driver: probe = vfio_init_device + register; remove = unregister, put, wait for release. */
export function vfioCcwMdevDriver(): MdevDriver {
  return Object.freeze({
    name: 'vfio_ccw_mdev',
    deviceApi: VFIO_DEVICE_API_CCW_STRING,
    maxInstances: 1,
    showDescription: () => 'I/O subchannel (Non-QDIO)\n',
    probe(mdev: MdevDevice): void {
      const priv = vfioCcwPrivateOf(mdev.type.parent.dev);
      if (priv === null) throw new VfioError('ENODEV', 'the subchannel has no vfio_ccw private');
      if (priv.state === 'NOT_OPER') throw new VfioError('ENODEV', `${priv.sch.name} is not operational`);
      initDevice(priv, mdev, vfioCcwOps);
      try {
        registerEmulatedIommuDev(priv);
      } catch (err) {
        // Balances initDevice: release clears the core part.
        putVfioDevice(priv);
        throw err;
      }
      mdev.driverData = priv;
    },
    async remove(mdev: MdevDevice): Promise<void> {
      const priv = vfioCcwPrivateOf(mdev);
      if (priv === null) return;
      await unregisterGroupDev(priv);
      // Balances initDevice in probe.
      putVfioDevice(priv);
      // Every reference is gone once release ran: only then may the css side free the storage.
      await priv.releaseComp.wait();
    },
  });
}

/** vfio_ccw_queue_crw(): queue a CRW for the guest and signal the CRW eventfd. */
function queueCrw(priv: VfioCcwPrivate, rsc: number, erc: number, rsid: number): void {
  priv.crws.push(crwWord({ slct: false, oflw: false, chn: false, rsc, anc: false, erc, rsid }));
  signalEventfd(priv.crwTrigger);
}

/** vfio_ccw_chp_event(). */
function chpEvent(sch: Subchannel, chpid: number, mask: number, event: ChpEvent): ErrnoName | 0 {
  const priv = vfioCcwPrivateOf(sch);
  if (priv === null || mask === 0) return 0;
  try {
    cioUpdateSchib(sch);
  } catch {
    return 'ENODEV';
  }
  const lastPathUsed = (sch.schib.pmcw.lpum & mask) !== 0;
  // One cancel/halt/clear step, as the kernel: whatever it started ends with an interruption to the guest.
  const retry = { iretry: 255 };
  switch (event) {
    case 'vary-off':
      sch.opm &= ~mask;
      sch.lpm &= ~mask;
      if (lastPathUsed) cioCancelHaltClear(sch, retry);
      break;
    case 'offline':
      if (lastPathUsed) cioCancelHaltClear(sch, retry);
      queueCrw(priv, CRW_RSC_CPATH, CRW_ERC_PERRN, chpid);
      break;
    case 'vary-on':
      sch.opm |= mask;
      sch.lpm |= mask;
      break;
    case 'online':
      sch.lpm |= mask & sch.opm;
      queueCrw(priv, CRW_RSC_CPATH, CRW_ERC_INIT, chpid);
      break;
  }
  return 0;
}

/** vfio_ccw_sch_driver over `mdevDriver` (the one the parents it registers name). */
export function vfioCcwCssDriver(host: Host, mdevDriver: MdevDriver): CssDriver {
  const drv: CssDriver = {
    name: VFIO_CCW_CSS_DRIVER,
    /** vfio_ccw_sch_probe(): no QDIO; the private structure, then the mdev parent with type `io`. */
    probe(sch: Subchannel): void {
      if (sch.schib.pmcw.qf) throw new VfioError('ENODEV', `${sch.name}: QDIO is not supported`);
      const priv = vfioCcwAllocPrivate(sch);
      // The css side owns this storage; vfio_ccw_sch_remove frees it (freeDevice).
      sanitizer.track(priv, 'vfio_device', `vfio_ccw private ${sch.name}`);
      sch.driverData = priv;
      sch.hw.memory = priv.cp.storage;
      try {
        priv.mdevParent = mdevRegisterParent(host, sch, mdevDriver, [{ sysfsName: 'io', prettyName: 'I/O subchannel (Non-QDIO)' }]);
      } catch (err) {
        sch.hw.memory = null;
        sch.driverData = null;
        freeDevice(priv);
        throw err;
      }
    },
    /** vfio_ccw_sch_remove(): every mdev goes (each waits for its users and its release), then the storage. */
    remove(sch: Subchannel): Promise<void> {
      // Read now: the bus clears driverData once remove returns.
      const priv = vfioCcwPrivateOf(sch);
      if (priv === null) return Promise.resolve();
      return (async () => {
        const parent = priv.mdevParent;
        if (parent !== null) await mdevUnregisterParent(parent);
        priv.mdevParent = null;
        sch.hw.memory = null;
        // vfio_ccw_free_private(): the last use of the storage.
        freeDevice(priv);
      })();
    },
    irq(sch, irb) {
      const priv = vfioCcwPrivateOf(sch);
      if (priv !== null) vfioCcwFsmEvent(priv, 'INTERRUPT', irb);
    },
    chpEvent,
    /** vfio_ccw_sch_event(): a subchannel whose SCHIB cannot be stored any more is not operational. */
    schEvent(sch) {
      const priv = vfioCcwPrivateOf(sch);
      try {
        cioUpdateSchib(sch);
      } catch {
        if (priv !== null) vfioCcwFsmEvent(priv, 'NOT_OPER');
      }
    },
  };
  return Object.freeze(drv);
}

/** The loaded module: the machine it simulates and the parents of the subchannels it bound. */
export interface VfioCcwModule {
  readonly name: string;
  readonly machine: CssMachine;
  parents(): readonly MdevParent[];
  unregister(): Promise<void>;
}

function deviceOf(d: VfioCcwSubchannelOption['device']): FbaDisk | UnitRecordConsole {
  if (d.kind === 'unit-record') return new UnitRecordConsole();
  return new FbaDisk({ ...(d.blocks !== undefined ? { blocks: d.blocks } : {}), ...(d.image !== undefined ? { image: d.image } : {}), ...(d.readOnly !== undefined ? { readOnly: d.readOnly } : {}) });
}

/**
 * vfio_ccw_sch_init() on a simulated machine: builds the channel subsystem from `opts`, registers the mdev driver,
 * marks the subchannels to bind (driver_override) and registers the css driver, which binds them.
 */
export function vfioCcwRegister(host: Host, opts: VfioCcwModuleOptions = {}): VfioCcwModule {
  const specs = opts.subchannels ?? VFIO_CCW_DEFAULT_SUBCHANNELS;
  const devices = specs.map((s) => deviceOf(s.device));
  let machine: CssMachine;
  try {
    machine = cssMachineCreate(
      host,
      specs.map((s, i) => ({ schid: s.schid, devno: s.devno, ...(s.chpids !== undefined ? { chpids: s.chpids } : {}), device: devices[i] ?? new UnitRecordConsole() })),
    );
  } catch (err) {
    for (const d of devices) d.destroy();
    throw err;
  }
  const mdevDriver = vfioCcwMdevDriver();
  const cssDriver = vfioCcwCssDriver(host, mdevDriver);
  const bind = opts.bind?.map((b) => b.toLowerCase());
  try {
    mdevRegisterDriver(host, mdevDriver);
    try {
      for (const sch of machine.subchannels) if (bind === undefined || bind.includes(sch.name)) sch.driverOverride = VFIO_CCW_CSS_DRIVER;
      cssDriverRegister(host, cssDriver);
    } catch (err) {
      mdevUnregisterDriver(host, mdevDriver);
      throw err;
    }
  } catch (err) {
    void machine.destroy();
    throw err;
  }
  let exiting: Promise<void> | null = null;
  return {
    name: 'vfio-ccw',
    machine,
    parents: () => machine.subchannels.flatMap((s) => vfioCcwPrivateOf(s)?.mdevParent ?? []),
    unregister(): Promise<void> {
      exiting ??= (async () => {
        // vfio_ccw_sch_exit: the css driver (each remove waits for its mdev's users), then the mdev driver.
        await cssDriverUnregister(host, cssDriver);
        mdevUnregisterDriver(host, mdevDriver);
        await machine.destroy();
      })();
      return exiting;
    },
  };
}
