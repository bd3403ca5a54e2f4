// `vfio-ts status`: the devices as a table whose columns are as wide as their longest entry (a 36-character
// UUID, a long type name), so the columns line up whatever the names.
import type { DeviceInfo } from './control-protocol.js';

/** What status says of a device's state: during an unregister, the clients still attached and the requests sent. */
export function describeState(d: DeviceInfo): string {
  const clients = `${d.clients} client(s)`;
  if (d.state === 'unregistering') return `unregistering, ${clients}, ${d.requests} request(s) sent, socket removed`;
  return `${d.state}, ${clients}, socket ${d.socket ?? 'not exported'}`;
}

/** One line per device: name, type, where it is, state; each column padded to its widest cell. */
export function formatStatusTable(devices: readonly DeviceInfo[]): string[] {
  const rows = devices.map((d) => [d.name === '' ? '(unbound)' : d.name, d.type, d.uuid === null ? `at ${d.parent}` : `mdev ${d.uuid}`, describeState(d)] as const);
  const width = (i: 0 | 1 | 2): number => Math.max(0, ...rows.map((r) => r[i].length));
  const w = [width(0), width(1), width(2)] as const;
  return rows.map((r) => `${r[0].padEnd(w[0])}  ${r[1].padEnd(w[1])}  ${r[2].padEnd(w[2])}  ${r[3]}`);
}
