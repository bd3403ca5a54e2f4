// The client commands (`vfio-ts ls | status | mdev ... | unregister | trace | screenshot`): each sends one
// control request to a running server and prints the answer for a human.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { controlRequest } from './control-client.js';
import { field, readDeviceInfo, readMdevTypeInfo, readStatusInfo, readStringList, record } from './control-protocol.js';
import type { JsonValue } from './control-protocol.js';
import { formatStatusTable } from './status-table.js';
import { timelineSvg } from './web/timeline-svg.js';
import type { TimelineEvent } from './web/timeline-svg.js';
import { waitDisplay } from './wait-progress.js';
import type { TtyLike, WaitDisplay } from './wait-progress.js';

export interface ClientContext {
  readonly ctl: string;
  readonly cwd: string;
  readonly out: (line: string) => void;
  /** The terminal, when stdout is one: waits show as one line rewritten in place. */
  readonly tty?: TtyLike;
}

export async function lsCommand(c: ClientContext, path: string | undefined): Promise<void> {
  const lines = readStringList(await controlRequest(c.ctl, { cmd: 'ls', path: path ?? '/sys' }), 'ls');
  for (const l of lines) c.out(l);
}

export async function statusCommand(c: ClientContext): Promise<void> {
  const s = readStatusInfo(await controlRequest(c.ctl, { cmd: 'status' }));
  c.out(`server pid ${s.pid}, up ${s.uptimeSeconds} s, control socket ${s.control}, sanitizer ${s.sanitizer ? 'on' : 'off'}`);
  if (s.devices.length === 0) {
    c.out('no devices');
    return;
  }
  for (const line of formatStatusTable(s.devices)) c.out(line);
}

export async function mdevTypesCommand(c: ClientContext): Promise<void> {
  const v = await controlRequest(c.ctl, { cmd: 'mdev-types' });
  if (!Array.isArray(v)) throw new Error('mdev types: expected a list');
  const list: JsonValue[] = [...v];
  c.out(`${'PARENT'.padEnd(8)} ${'TYPE'.padEnd(16)} ${'AVAILABLE'.padEnd(9)} ${'API'.padEnd(9)} NAME / DESCRIPTION`);
  for (const t of list.map(readMdevTypeInfo)) {
    const desc = t.description === null ? '' : ` — ${t.description.replace(/\s*\n\s*/g, ', ')}`;
    c.out(`${t.parent.padEnd(8)} ${t.id.padEnd(16)} ${String(t.availableInstances).padEnd(9)} ${t.deviceApi.padEnd(9)} ${t.name}${desc}`);
  }
}

export async function mdevCreateCommand(c: ClientContext, parent: string, type: string, uuid: string | undefined): Promise<void> {
  const d = readDeviceInfo(await controlRequest(c.ctl, uuid === undefined ? { cmd: 'mdev-create', parent, type } : { cmd: 'mdev-create', parent, type, uuid }));
  c.out(`created mdev ${d.uuid ?? '-'} (${d.type}) as ${d.name}`);
  c.out(`vfio-user socket: ${d.socket ?? '(not exported)'}`);
}

export async function mdevRemoveCommand(c: ClientContext, uuid: string): Promise<void> {
  await waitingRequest(c, `removing mdev ${uuid}: waiting for its users to let go`, uuid, { cmd: 'mdev-remove', uuid });
  c.out(`removed mdev ${uuid.toLowerCase()}`);
}

export async function unregisterCommand(c: ClientContext, device: string): Promise<void> {
  const r = record(await waitingRequest(c, `unregistering ${device}: waiting for its users to let go`, device, { cmd: 'unregister', device }), 'unregister');
  c.out(`unregistered ${field(r, 'name', 'string')} (mdev ${field(r, 'uuid', 'string')} stays, unbound; 'vfio-ts mdev remove' removes it)`);
}

/**
 * Sends a request that may wait for users (unregister, mdev remove, unbind): the wait is shown only once the server
 * accepted the request and sent its first request count (waitDisplay), and the display is cleared however it ends.
 */
export async function waitingRequest(c: ClientContext, heading: string, device: string, request: Parameters<typeof controlRequest>[1]): Promise<JsonValue> {
  const display: WaitDisplay = waitDisplay(c.out, c.tty ?? null, heading, (count) => describeRequest({ request: count }, device));
  try {
    return await controlRequest(c.ctl, request, { onProgress: (p) => display.request(field(record(p, 'progress'), 'request', 'number')) });
  } finally {
    display.done();
  }
}

/** A progress line of a wait for users (unregister, unbind): which request was sent. */
export function describeRequest(p: JsonValue, device: string): string {
  const o = record(p, 'progress');
  const count = field(o, 'request', 'number');
  return `${device}: still in use; request ${count} sent (asking attached clients to release the device)`;
}

/** Streams life-cycle events until `signal` aborts (Ctrl-C); with `svgFile`, then writes their timeline there. */
export async function traceCommand(c: ClientContext, signal: AbortSignal, svgFile?: string): Promise<void> {
  c.out(`tracing device life-cycle events (Ctrl-C stops${svgFile === undefined ? '' : ' and writes the SVG timeline'})`);
  const seen: TimelineEvent[] = [];
  await controlRequest(c.ctl, { cmd: 'trace' }, {
    signal,
    onEvent: (e) => {
      c.out(formatEvent(e));
      if (svgFile !== undefined) seen.push(timelineEvent(e));
    },
  });
  if (svgFile === undefined) return;
  const path = resolve(c.cwd, svgFile);
  writeFileSync(path, timelineSvg(seen));
  c.out(`wrote the timeline of ${seen.length} events to ${path}`);
}

/** A trace line's event, for the SVG timeline (the server stamps each with its ISO time). */
function timelineEvent(e: JsonValue): TimelineEvent {
  const o = record(e, 'event');
  const time = typeof o['time'] === 'string' ? Date.parse(o['time']) : NaN;
  const base = { event: field(o, 'event', 'string'), name: field(o, 'name', 'string'), driver: field(o, 'driver', 'string'), time: Number.isNaN(time) ? Date.now() : time };
  return typeof o['value'] === 'number' ? { ...base, value: o['value'] } : base;
}

export function formatEvent(e: JsonValue): string {
  const o = record(e, 'event');
  const time = typeof o['time'] === 'string' ? o['time'] : '';
  const value = typeof o['value'] === 'number' ? ` ${String(o['value'])}` : '';
  return `${time} ${field(o, 'event', 'string').padEnd(10)} ${field(o, 'name', 'string').padEnd(8)} ${field(o, 'driver', 'string')}${value}`;
}

export async function screenshotCommand(c: ClientContext, device: string, outFile: string): Promise<void> {
  const r = record(await controlRequest(c.ctl, { cmd: 'screenshot', device }), 'screenshot');
  const png = Buffer.from(field(r, 'png', 'string'), 'base64');
  const path = resolve(c.cwd, outFile);
  writeFileSync(path, png);
  c.out(`wrote ${png.length} bytes to ${path}`);
}
