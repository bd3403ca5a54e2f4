// A simulated DPAA2 machine (drivers/bus/fsl-mc/fsl-mc-bus.c fsl_mc_bus_probe, fsl_mc_bus_remove): the MC firmware
// with its containers and objects built from a description, the MC's platform device, the root DPRC added from
// the root portal the firmware hands over (mc_get_version, dprc_get_container_id), and the fsl_mc_dprc driver,
// which binds and scans it (and every plugged child DPRC) so the objects appear on the bus.
import { Device, deviceRegister, deviceUnregister } from '../../base/device.js';
import type { Host } from '../../base/host.js';
import { VfioError } from '../../uapi/errno.js';
import { FSL_MC_OBJ_STATE_PLUGGED, FSL_MC_VENDOR_FREESCALE } from './mc-cmd.js';
import { DpbpHw, DpconHw, DpioHw, DpniHw, McContainer } from './mc-objects.js';
import type { McObject } from './mc-objects.js';
import { DpmcpHw, MC_PORTALS_BASE, ManagementComplex } from './mc-firmware.js';
import { dprcClose, dprcGetApiVersion, dprcGetAttributes, dprcGetContainerId, dprcOpen, mcGetVersion } from './dprc.js';
import { fslCreateMcIo } from './mc-sys.js';
import { fslMcChildren, fslMcDeviceAdd, fslMcDeviceRemove, fslMcHostState, fslMcRemovalUnderWay } from './fsl-mc-bus.js';
import type { FslMcDevice } from './fsl-mc-device.js';
import { dprcDriverExit, dprcDriverInit } from './dprc-driver.js';
import { fslMcMsiDeliver } from './fsl-mc-msi.js';

export const FSL_MC_OBJECT_TYPES = ['dpni', 'dpio', 'dpbp', 'dpcon', 'dpmcp'] as const;
export type FslMcObjectType = (typeof FSL_MC_OBJECT_TYPES)[number];

export interface FslMcObjectSpec {
  readonly type: FslMcObjectType;
  readonly id: number;
  /** dpbp: its hardware buffer pool id (default the object id). */
  readonly bpid?: number;
}

export interface FslMcContainerSpec {
  readonly id: number;
  /** The container's isolation context (default: its id). */
  readonly icid?: number;
  readonly objects?: readonly FslMcObjectSpec[];
  readonly containers?: readonly FslMcContainerSpec[];
}

export interface FslMcMachineSpec {
  /** The root DPRC's id (default 1). */
  readonly rootId?: number;
  /** Objects in the root container. */
  readonly objects?: readonly FslMcObjectSpec[];
  /** Child containers of the root. */
  readonly containers?: readonly FslMcContainerSpec[];
}

export interface FslMcMachine {
  readonly host: Host;
  readonly mc: ManagementComplex;
  /** The MC's platform device (`/sys/devices/80c000000.fsl-mc`). */
  readonly platformDevice: Device;
  /** The root DPRC's device (dprc.<rootId>). */
  readonly root: FslMcDevice;
  /** Every fsl-mc device on the bus now, parents before children. */
  devices(): FslMcDevice[];
  /** The device `type.id` (e.g. "dpni.0"), if it is on the bus. */
  device(name: string): FslMcDevice | undefined;
  /** The MC object behind `type.id`. */
  object(name: string): McObject | undefined;
  /** Removes the root DPRC (awaiting every driver's remove), the DPRC driver and the MC. Idempotent. */
  destroy(): Promise<void>;
}

function makeObject(o: FslMcObjectSpec): McObject {
  switch (o.type) {
    case 'dpni':
      return new DpniHw(o.id);
    case 'dpio':
      return new DpioHw(o.id);
    case 'dpbp':
      return new DpbpHw(o.id, o.bpid ?? o.id);
    case 'dpcon':
      return new DpconHw(o.id);
    case 'dpmcp':
      return new DpmcpHw(o.id);
  }
}

function build(mc: ManagementComplex, into: McContainer, objects: readonly FslMcObjectSpec[], containers: readonly FslMcContainerSpec[]): void {
  for (const o of objects) mc.addObject(into, makeObject(o));
  for (const c of containers) {
    const child = mc.addContainer(into, c.id, c.icid ?? c.id);
    build(mc, child, c.objects ?? [], c.containers ?? []);
  }
}

const machines = new WeakMap<Host, FslMcMachine>();

/** Builds the MC of `spec`, registers its bus and the DPRC driver, and probes the root DPRC (one MC per host). */
export function fslMcMachineCreate(host: Host, spec: FslMcMachineSpec = {}): FslMcMachine {
  if (machines.has(host)) throw new VfioError('EBUSY', 'this host has an MC already');
  const mc = new ManagementComplex({ rootId: spec.rootId ?? 1 });
  build(mc, mc.root, spec.objects ?? [], spec.containers ?? []);
  const s = fslMcHostState(host);
  const regions = [mc.rootPortal, ...[...mc.root.containers()].flatMap((c) => [...c.regions, ...c.children.filter((o) => !(o instanceof McContainer)).flatMap((o) => o.regions)])];
  for (const r of regions) s.mmio.set(r.baseAddress + BigInt(r.baseOffset), r);
  mc.setMsiSink((addr, data) => fslMcMsiDeliver(host, addr, data));

  const plat = new Device();
  plat.name = `${MC_PORTALS_BASE.toString(16)}.fsl-mc`;
  // The platform device lives as long as the machine.
  plat.release = () => {};
  deviceRegister(plat, host);
  const undo = (): void => {
    deviceUnregister(plat);
    for (const r of regions) s.mmio.delete(r.baseAddress + BigInt(r.baseOffset));
    mc.destroy();
  };

  let root: FslMcDevice;
  try {
    dprcDriverInit(host);
    try {
      // fsl_mc_bus_probe(): the root portal from the device tree, then what the MC says about itself.
      const mcIo = fslCreateMcIo(plat, mc.rootPortal, mc.rootPortal.baseAddress + BigInt(mc.rootPortal.baseOffset));
      mcGetVersion(mcIo);
      const containerId = dprcGetContainerId(mcIo);
      const v = dprcGetApiVersion(mcIo);
      const token = dprcOpen(mcIo, containerId);
      let icid: number;
      try {
        icid = dprcGetAttributes(mcIo, token).icid;
      } finally {
        dprcClose(mcIo, token);
      }
      root = fslMcDeviceAdd(host, {
        objDesc: { type: 'dprc', id: containerId, vendor: FSL_MC_VENDOR_FREESCALE, verMajor: v.major, verMinor: v.minor, irqCount: 1, regionCount: 0, state: FSL_MC_OBJ_STATE_PLUGGED, label: '', flags: 0 },
        parent: plat,
        regions: [],
        icid,
        mcIo,
      });
    } catch (err) {
      void dprcDriverExit(host);
      throw err;
    }
  } catch (err) {
    undo();
    throw err;
  }

  let gone: Promise<void> | null = null;
  const all = (d: FslMcDevice): FslMcDevice[] => [d, ...fslMcChildren(d).flatMap(all)];
  const m: FslMcMachine = {
    host,
    mc,
    platformDevice: plat,
    root,
    devices: () => (root.kobj === null ? [] : all(root)),
    device: (name) => m.devices().find((d) => d.name === name),
    object: (name) => {
      const [type, id] = name.split('.');
      return type === undefined || id === undefined ? undefined : mc.find(type, Number(id));
    },
    destroy: () =>
      (gone ??= (async () => {
        // fsl_mc_bus_remove(): the root DPRC goes (its driver removes everything below, waiting for users).
        fslMcDeviceRemove(root);
        await (fslMcRemovalUnderWay(root) ?? Promise.resolve());
        await dprcDriverExit(host);
        undo();
        machines.delete(host);
      })()),
  };
  machines.set(host, m);
  return m;
}
