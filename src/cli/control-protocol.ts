// The control socket's wire format: one JSON object per line each way. A request carries an `id` and a
// `cmd`; the server answers with zero or more `progress`/`event` lines and one `result` or `error` line
// with the same id (`trace` streams events until the client hangs up). Both sides validate what they read.

/** The longest line either side accepts (a screenshot of the largest mbochs mode fits well under it). */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

export type ControlRequest =
  | { readonly cmd: 'status' }
  | { readonly cmd: 'ls'; readonly path: string }
  | { readonly cmd: 'mdev-types' }
  | { readonly cmd: 'mdev-create'; readonly parent: string; readonly type: string; readonly uuid?: string }
  | { readonly cmd: 'mdev-remove'; readonly uuid: string }
  | { readonly cmd: 'unregister'; readonly device: string }
  | { readonly cmd: 'trace' }
  | { readonly cmd: 'screenshot'; readonly device: string }
  | { readonly cmd: 'lspci' }
  | { readonly cmd: 'bind'; readonly device: string; readonly driver: string }
  | { readonly cmd: 'unbind'; readonly device: string };

export type ControlCommand = ControlRequest['cmd'];

export type ControlReply =
  | { readonly id: number; readonly type: 'progress'; readonly data: JsonValue }
  | { readonly id: number; readonly type: 'event'; readonly data: JsonValue }
  | { readonly id: number; readonly type: 'result'; readonly data: JsonValue }
  | { readonly id: number; readonly type: 'error'; readonly code: string; readonly message: string };

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [k: string]: JsonValue };

/** A request the server could not understand: answered with an EINVAL error line. */
export class BadRequestError extends Error {
  constructor(
    message: string,
    /** The request's id when it was readable (0 otherwise). */
    readonly id = 0,
  ) {
    super(message);
    this.name = 'BadRequestError';
  }
}

/** Parses one request line: `{"id": N, "cmd": "...", ...args}`. */
export function decodeRequest(line: string): { id: number; request: ControlRequest } {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    throw new BadRequestError('request is not JSON');
  }
  const o = record(json, 'request');
  const id = o['id'];
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) throw new BadRequestError('request id must be a non-negative integer');
  const cmd = o['cmd'];
  const str = (k: string): string => {
    const v = o[k];
    if (typeof v !== 'string' || v === '') throw new BadRequestError(`${String(cmd)}: '${k}' must be a non-empty string`, id);
    return v;
  };
  switch (cmd) {
    case 'status':
    case 'mdev-types':
    case 'trace':
    case 'lspci':
      return { id, request: { cmd } };
    case 'bind':
      return { id, request: { cmd, device: str('device'), driver: str('driver') } };
    case 'ls':
      return { id, request: { cmd, path: o['path'] === undefined ? '/sys' : str('path') } };
    case 'mdev-create': {
      const base = { cmd, parent: str('parent'), type: str('type') } as const;
      return { id, request: o['uuid'] === undefined ? base : { ...base, uuid: str('uuid') } };
    }
    case 'mdev-remove':
      return { id, request: { cmd, uuid: str('uuid') } };
    case 'unregister':
    case 'screenshot':
    case 'unbind':
      return { id, request: { cmd, device: str('device') } };
    default:
      throw new BadRequestError(`unknown command ${JSON.stringify(cmd)}`, id);
  }
}

/** Parses one reply line; a malformed line is a broken server (thrown as a plain Error). */
export function decodeReply(line: string): ControlReply {
  const o = record(JSON.parse(line), 'reply');
  const id = o['id'];
  const type = o['type'];
  if (typeof id !== 'number') throw new Error('control reply without an id');
  if (type === 'error') {
    const code = o['code'];
    const message = o['message'];
    if (typeof code !== 'string' || typeof message !== 'string') throw new Error('control error reply without code/message');
    return { id, type, code, message };
  }
  if (type !== 'progress' && type !== 'event' && type !== 'result') throw new Error(`control reply of unknown type ${String(type)}`);
  return { id, type, data: toJson(o['data'] ?? null) };
}

export function encodeLine(v: object): string {
  return `${JSON.stringify(v)}\n`;
}

// --- results, as the server sends them and the client reads them ---

export interface DeviceInfo {
  /** `vfioN`. */
  readonly name: string;
  readonly driver: string;
  /** The mdev UUID, or null for a device that is not an mdev. */
  readonly uuid: string | null;
  readonly parent: string;
  /** The mdev type's directory name, e.g. `mtty-2`. */
  readonly type: string;
  /** Absolute vfio-user socket path, or null when not exported. */
  readonly socket: string | null;
  /** The VFIO device's sysfs directory. */
  readonly sysfs: string;
  readonly state: string;
  readonly openCount: number;
  readonly clients: number;
  /** Requests sent to the users while an unregister waits (state `unregistering`); 0 otherwise. */
  readonly requests: number;
}

export interface MdevTypeInfo {
  readonly parent: string;
  /** Directory name under mdev_supported_types, e.g. `mtty-2`. */
  readonly id: string;
  readonly name: string;
  readonly description: string | null;
  readonly deviceApi: string;
  readonly availableInstances: number;
}

export interface StatusInfo {
  readonly pid: number;
  readonly uptimeSeconds: number;
  readonly control: string;
  readonly sanitizer: boolean;
  readonly devices: readonly DeviceInfo[];
}

export function deviceInfoToJson(d: DeviceInfo): JsonValue {
  return { ...d };
}

export function readDeviceInfo(v: JsonValue): DeviceInfo {
  const o = record(v, 'device');
  return {
    name: field(o, 'name', 'string'),
    driver: field(o, 'driver', 'string'),
    uuid: nullable(o, 'uuid'),
    parent: field(o, 'parent', 'string'),
    type: field(o, 'type', 'string'),
    socket: nullable(o, 'socket'),
    sysfs: field(o, 'sysfs', 'string'),
    state: field(o, 'state', 'string'),
    openCount: field(o, 'openCount', 'number'),
    clients: field(o, 'clients', 'number'),
    requests: typeof o['requests'] === 'number' ? o['requests'] : 0,
  };
}

export function readMdevTypeInfo(v: JsonValue): MdevTypeInfo {
  const o = record(v, 'mdev type');
  return {
    parent: field(o, 'parent', 'string'),
    id: field(o, 'id', 'string'),
    name: field(o, 'name', 'string'),
    description: nullable(o, 'description'),
    deviceApi: field(o, 'deviceApi', 'string'),
    availableInstances: field(o, 'availableInstances', 'number'),
  };
}

export function readStatusInfo(v: JsonValue): StatusInfo {
  const o = record(v, 'status');
  const devices = o['devices'];
  if (!Array.isArray(devices)) throw new Error('status without devices');
  const list: unknown[] = devices;
  return {
    pid: field(o, 'pid', 'number'),
    uptimeSeconds: field(o, 'uptimeSeconds', 'number'),
    control: field(o, 'control', 'string'),
    sanitizer: field(o, 'sanitizer', 'boolean'),
    devices: list.map((d) => readDeviceInfo(toJson(d))),
  };
}

export function readStringList(v: JsonValue, what: string): string[] {
  if (!Array.isArray(v)) throw new Error(`${what}: expected a list`);
  const list: unknown[] = v;
  return list.map((s) => {
    if (typeof s !== 'string') throw new Error(`${what}: expected strings`);
    return s;
  });
}

// --- small typed readers (JSON from the other side is untrusted until read through these) ---

export function record(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new BadRequestError(`${what} must be a JSON object`);
  return Object.fromEntries(Object.entries(v));
}

interface FieldTypes {
  string: string;
  number: number;
  boolean: boolean;
}

export function field<K extends keyof FieldTypes>(o: Record<string, unknown>, key: string, type: K): FieldTypes[K];
export function field(o: Record<string, unknown>, key: string, type: keyof FieldTypes): string | number | boolean {
  const v = o[key];
  if (typeof v !== type || (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')) {
    throw new Error(`field '${key}' must be a ${type}`);
  }
  return v;
}

export function nullable(o: Record<string, unknown>, key: string): string | null {
  const v = o[key];
  if (v === null || v === undefined) return null;
  if (typeof v !== 'string') throw new Error(`field '${key}' must be a string or null`);
  return v;
}

/** Narrows parsed JSON to JsonValue (it already is one; this proves it to the compiler). */
export function toJson(v: unknown): JsonValue {
  if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return v;
  if (Array.isArray(v)) {
    const list: unknown[] = v;
    return list.map(toJson);
  }
  if (typeof v === 'object') {
    const out: Record<string, JsonValue> = {};
    for (const [k, x] of Object.entries(v)) out[k] = toJson(x);
    return out;
  }
  return null;
}
