// The PCI client commands (`vfio-ts lspci | bind | unbind`): the simulated machine's functions listed the way
// `lspci -nnk` lists them, and binding a function to a driver or unbinding it (waiting for its users).
import { controlRequest } from './control-client.js';
import { field, nullable, readDeviceInfo, record } from './control-protocol.js';
import type { JsonValue } from './control-protocol.js';
import { waitingRequest } from './commands.js';
import type { ClientContext } from './commands.js';

/** pci.ids names for the classes the simulated machine has (the rest print as "Class"). */
const CLASS_NAMES: Readonly<Record<number, string>> = Object.freeze({
  0x0200: 'Ethernet controller',
  0x0300: 'VGA compatible controller',
  0x0380: 'Display controller',
  0x0604: 'PCI bridge',
  0x0700: 'Serial controller',
  0x0880: 'System peripheral',
  0x0b40: 'Co-processor',
  0x1200: 'Processing accelerators',
});

/** pci.ids names for the vendors the simulated machine has. */
const VENDOR_NAMES: Readonly<Record<number, string>> = Object.freeze({
  0x1234: 'Technical Corp. (QEMU test devices)',
  0x15b3: 'Mellanox Technologies',
  0x19e5: 'Huawei Technologies Co., Ltd.',
  0x1b36: 'Red Hat, Inc.',
  0x8086: 'Intel Corporation',
});

const hex = (v: number, n: number): string => v.toString(16).padStart(n, '0');

/** One `lspci -nn` line and its `-k` continuation. */
export function formatPciFunction(f: JsonValue): string[] {
  const o = record(f, 'function');
  const cls = field(o, 'classCode', 'number');
  const vendor = field(o, 'vendor', 'number');
  const device = field(o, 'device', 'number');
  const rev = field(o, 'revision', 'number');
  const className = CLASS_NAMES[cls >> 8] ?? 'Class';
  const vendorName = VENDOR_NAMES[vendor] ?? 'Device';
  const group = o['iommuGroup'];
  const driver = nullable(o, 'driver');
  return [
    `${field(o, 'bdf', 'string')} ${className} [${hex(cls >> 8, 4)}]: ${vendorName} ${field(o, 'model', 'string')} [${hex(vendor, 4)}:${hex(device, 4)}]${rev === 0 ? '' : ` (rev ${hex(rev, 2)})`}`,
    `\tSubsystem: [${hex(field(o, 'subsystemVendor', 'number'), 4)}:${hex(field(o, 'subsystemDevice', 'number'), 4)}]` +
      `${typeof group === 'number' ? `, IOMMU group ${group}` : ''}${driver === null ? '' : `\n\tKernel driver in use: ${driver}`}`,
  ];
}

export async function lspciCommand(c: ClientContext): Promise<void> {
  const v = await controlRequest(c.ctl, { cmd: 'lspci' });
  if (!Array.isArray(v)) throw new Error('lspci: expected a list');
  const list: JsonValue[] = [...v];
  if (list.length === 0) c.out('no PCI functions (describe some under "machine": {"pci": [...]} in the config)');
  for (const f of list) for (const line of formatPciFunction(f)) c.out(line);
}

export async function bindCommand(c: ClientContext, device: string, driver: string): Promise<void> {
  const d = readDeviceInfo(await controlRequest(c.ctl, { cmd: 'bind', device, driver }));
  if (d.name === '') c.out(`${device} bound to ${driver}`);
  else c.out(`${device} bound to ${driver}: ${d.name}${d.socket === null ? '' : ` on vfio-user socket ${d.socket}`}`);
}

export async function unbindCommand(c: ClientContext, device: string): Promise<void> {
  const r = record(await waitingRequest(c, `unbinding ${device}: waiting for its users to let go`, device, { cmd: 'unbind', device }), 'unbind');
  const name = field(r, 'name', 'string');
  c.out(`unbound ${device}${name === '' ? '' : ` (${name} unregistered)`}`);
}
