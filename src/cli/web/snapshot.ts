// What the web view shows, read from the running host the way `ls /sys` would: every bus the driver core knows
// (host.buses: mdev, pci, css, ap, ... whichever modules registered; nothing here names one) with its devices
// as a tree (a device's parent on the same bus is its tree parent: PCI bridges), the driver each is bound to, and
// every VFIO device (/sys/class/vfio-dev, plus those an unregister is still waiting for) with its core state.
import type { Device } from '../../base/device.js';
import { devicePath } from '../../base/device.js';
import { vfioCore } from '../../vfio/core-state.js';
import { VfioDevice } from '../../vfio/vfio-device.js';
import type { DeviceInfo } from '../control-protocol.js';
import type { Runtime } from '../runtime.js';

export interface BusDeviceView {
  readonly name: string;
  /** The parent's name when the parent is on the same bus (a PCI bridge); null at the bus's top. */
  readonly parent: string | null;
  readonly sysfs: string;
  readonly driver: string | null;
  readonly iommuGroup: number | null;
  /** `vfioN` of the VFIO device made for it, if any. */
  readonly vfio: string | null;
}

export interface BusView {
  readonly name: string;
  readonly devices: readonly BusDeviceView[];
}

export interface VfioDeviceView {
  readonly name: string;
  readonly driver: string;
  /** The device it drives (an mdev UUID, a PCI address, a subchannel, ...). */
  readonly parent: string;
  readonly bus: string | null;
  /** unregistered | registered | unregistering. */
  readonly state: string;
  readonly openCount: number;
  readonly registrationCount: number;
  /** The members of its device set (itself alone for a singleton set). */
  readonly deviceSet: readonly string[];
  readonly iommuGroup: number | null;
  readonly clients: number;
  readonly socket: string | null;
  /** Requests sent while an unregister waits. */
  readonly requests: number;
  /** Whether the driver can take a screenshot of it (descriptor.screenshot). */
  readonly display: boolean;
}

export interface WebSnapshot {
  readonly pid: number;
  readonly buses: readonly BusView[];
  readonly devices: readonly VfioDeviceView[];
}

/** Every registered VFIO device, through its /sys/class/vfio-dev link. */
function registeredVfioDevices(rt: Runtime): VfioDevice[] {
  const out: VfioDevice[] = [];
  for (const node of vfioCore(rt.host).deviceClass.dir.children?.values() ?? []) {
    const owner = node.kind === 'link' ? node.target.owner : null;
    if (owner instanceof VfioDevice) out.push(owner);
  }
  return out.sort((a, b) => a.index - b.index);
}

/** `hasDisplay(driverName, busDevice)`: whether a driver of the registry can take a screenshot of that device. */
export type DisplayProbe = (vdev: VfioDevice) => boolean;

export function webSnapshot(rt: Runtime, hasDisplay: DisplayProbe): WebSnapshot {
  const infos = new Map<string, DeviceInfo>();
  for (const d of rt.devices()) if (d.name !== '') infos.set(d.name, d);
  const vdevs = registeredVfioDevices(rt);
  const byParent = new Map<Device, VfioDevice>();
  for (const v of vdevs) if (v.dev !== null) byParent.set(v.dev, v);

  const devices: VfioDeviceView[] = vdevs.map((v) => {
    const info = infos.get(v.name);
    return {
      name: v.name,
      driver: v.ops?.name ?? '',
      parent: v.dev?.name ?? '',
      bus: v.dev?.bus?.name ?? null,
      state: v.regState,
      openCount: v.openCount,
      registrationCount: v.registration.value,
      deviceSet: v.devSet?.devices.map((m) => m.name) ?? [v.name],
      iommuGroup: v.group?.id ?? null,
      clients: info?.clients ?? 0,
      socket: info?.socket ?? null,
      requests: 0,
      display: hasDisplay(v),
    };
  });
  // Devices an unregister still waits for: unreachable through sysfs, but the runtime knows them.
  for (const info of infos.values()) {
    if (info.state !== 'unregistering' || devices.some((d) => d.name === info.name)) continue;
    devices.push({
      name: info.name,
      driver: info.driver,
      parent: info.uuid ?? info.parent,
      bus: info.uuid === null ? 'pci' : 'mdev',
      state: info.state,
      openCount: info.openCount,
      registrationCount: 0,
      deviceSet: [info.name],
      iommuGroup: null,
      clients: info.clients,
      socket: null,
      requests: info.requests,
      display: false,
    });
  }

  const buses: BusView[] = [...rt.host.buses.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((bus) => ({
      name: bus.name,
      devices: [...bus.devices].map((d) => ({
        name: d.name,
        parent: d.parent !== null && d.parent.bus === bus ? d.parent.name : null,
        sysfs: devicePath(d),
        driver: d.driver?.name ?? null,
        iommuGroup: d.iommuGroup?.id ?? null,
        vfio: byParent.get(d)?.name ?? pendingName(infos, d),
      })),
    }));
  return { pid: process.pid, buses, devices };
}

/** The name of the VFIO device an unregister is waiting for on `d`, if any. */
function pendingName(infos: ReadonlyMap<string, DeviceInfo>, d: Device): string | null {
  for (const i of infos.values()) if (i.state === 'unregistering' && (i.uuid === d.name || i.parent === d.name)) return i.name;
  return null;
}

/** A display probe from the drivers' descriptors: the driver of the device's mdev parent or bound bus driver has `screenshot`. */
export function descriptorDisplayProbe(drivers: readonly { readonly name: string; readonly busDriver?: string; readonly screenshot?: unknown }[]): DisplayProbe {
  return (v) => {
    const parentName = v.dev?.parent?.name;
    const busDriver = v.dev?.driver?.name;
    return drivers.some((d) => d.screenshot !== undefined && (d.name === parentName || (d.busDriver ?? d.name) === busDriver));
  };
}
