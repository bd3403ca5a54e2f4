// mtty's mdev types and their shared port budget (samples/vfio-mdev/mtty.c mtty_types, mdev_avail_ports, mtty_get_available).
import type { Host } from '../../base/host.js';
import { VfioError } from '../../uapi/errno.js';
import { VFIO_DEVICE_API_PCI_STRING } from '../../uapi/device-info.js';

/** MAX_MTTYS: ports all mtty devices of one host share. */
export const MTTY_MAX_PORTS = 24;

export type MttyTypeName = '1' | '2';

export interface MttyType {
  /** The type's sysfs name. */
  readonly sysfsName: MttyTypeName;
  /** The `name` attribute (pretty_name). */
  readonly prettyName: string;
  readonly nrPorts: number;
  /** The `device_api` attribute. */
  readonly deviceApi: string;
}

export const MTTY_TYPES: readonly MttyType[] = Object.freeze([
  Object.freeze({ sysfsName: '1', prettyName: 'Single port serial', nrPorts: 1, deviceApi: VFIO_DEVICE_API_PCI_STRING }),
  Object.freeze({ sysfsName: '2', prettyName: 'Dual port serial', nrPorts: 2, deviceApi: VFIO_DEVICE_API_PCI_STRING }),
] as const);

export function mttyType(name: string): MttyType {
  const t = MTTY_TYPES.find((x) => x.sysfsName === name);
  if (t === undefined) throw new VfioError('EINVAL', `no mtty type '${name}'`);
  return t;
}

/** The budget is per simulated host (the kernel's is per module), so tests and hosts never share it. */
const availPorts = new WeakMap<Host, { avail: number }>();

function budgetOf(host: Host): { avail: number } {
  let b = availPorts.get(host);
  if (b === undefined) {
    b = { avail: MTTY_MAX_PORTS };
    availPorts.set(host, b);
  }
  return b;
}

/** Ports left on `host`. */
export function mttyAvailablePorts(host: Host): number {
  return budgetOf(host).avail;
}

/** mtty_get_available: instances of `type` that still fit. */
export function mttyAvailableInstances(host: Host, type: MttyType): number {
  return Math.floor(budgetOf(host).avail / type.nrPorts);
}

/** Takes `n` ports (ENOSPC when fewer are left); balanced by mttyPutPorts in release. */
export function mttyTakePorts(host: Host, n: number): void {
  const b = budgetOf(host);
  if (b.avail < n) throw new VfioError('ENOSPC', `mtty: ${n} port(s) wanted, ${b.avail} available`);
  b.avail -= n;
}

/** Gives `n` ports back. */
export function mttyPutPorts(host: Host, n: number): void {
  budgetOf(host).avail += n;
}
