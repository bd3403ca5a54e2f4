// The `vfio-ts serve` configuration: its schema, the embedded default (what `npm start` serves) and a
// validator whose every message names the offending key (`devices[1].ports[0].tcp`).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** How one mtty port reaches the outside world. */
export type PortBackendSpec =
  | { readonly kind: 'loopback' }
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'tcp'; readonly port: number }
  | { readonly kind: 'stdio' };

export type DriverName = 'mtty' | 'mdpy' | 'mbochs';

export const DRIVER_NAMES: readonly DriverName[] = Object.freeze(['mtty', 'mdpy', 'mbochs']);

/** One mediated device to create at start-up and export on a vfio-user socket. */
export interface DeviceSpec {
  readonly driver: DriverName;
  /** The mdev type as the driver names it ("2" for mtty's two-port type) or its sysfs id ("mtty-2"). */
  readonly type: string;
  /** Absent: a random UUID. */
  readonly uuid?: string;
  /** Absolute socket path; absent: `<runDir>/<driver><n>.sock`. */
  readonly socket?: string;
  /** mtty only: one backend per port (missing ports are loopback). */
  readonly ports?: readonly PortBackendSpec[];
  /** Where in the config file this device came from, for error messages (`devices[0]`). */
  readonly key: string;
}

export interface ServeConfig {
  /** Absolute directory for default socket paths. */
  readonly runDir: string;
  /** Absolute path of the control socket. */
  readonly control: string;
  /** Milliseconds between `ops.request` calls while unregister waits. */
  readonly requestIntervalMs: number;
  /** Guest RAM size printed in the QEMU command line (MiB). */
  readonly guestMemoryMiB: number;
  readonly devices: readonly DeviceSpec[];
}

/** A configuration fault: `key` names the offending key; the CLI prints it and exits 2. */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(key === '' ? message : `${key}: ${message}`);
    this.name = 'ConfigError';
  }
}

export const DEFAULT_RUN_DIR = 'run';
export const DEFAULT_CONTROL_NAME = 'vfio-ts.ctl';
/** Shorter than the kernel's 10 s: a CLI user watches unregister wait. */
export const DEFAULT_REQUEST_INTERVAL_MS = 1000;
export const DEFAULT_GUEST_MEMORY_MIB = 2048;
/** sockaddr_un.sun_path holds 108 bytes including the terminating NUL. */
const UNIX_PATH_MAX = 107;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The embedded default: one two-port mtty with loopback ports, sockets under `<cwd>/run/`. */
export function defaultConfig(cwd: string): ServeConfig {
  const runDir = resolve(cwd, DEFAULT_RUN_DIR);
  return {
    runDir,
    control: resolve(runDir, DEFAULT_CONTROL_NAME),
    requestIntervalMs: DEFAULT_REQUEST_INTERVAL_MS,
    guestMemoryMiB: DEFAULT_GUEST_MEMORY_MIB,
    devices: [{ driver: 'mtty', type: '2', key: 'devices[0]' }],
  };
}

/** Reads and validates a JSON config file; relative paths in it resolve against the file's directory. */
export function loadConfig(file: string, cwd: string): ServeConfig {
  const path = resolve(cwd, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('', `cannot read config file ${path}: ${errorMessage(err)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError('', `${path} is not valid JSON: ${errorMessage(err)}`);
  }
  return parseConfig(json, dirname(path), cwd);
}

/**
 * Validates a parsed config. Relative paths in it resolve against `baseDir` (the config file's directory);
 * an absent `runDir` is `<cwd>/run`, as for `serve` without a config.
 */
export function parseConfig(json: unknown, baseDir: string, cwd: string): ServeConfig {
  const root = asObject(json, '');
  rejectUnknown(root, '', ['runDir', 'control', 'requestIntervalMs', 'guestMemoryMiB', 'devices']);
  const runDir = root['runDir'] === undefined ? resolve(cwd, DEFAULT_RUN_DIR) : socketDir(root['runDir'], 'runDir', baseDir);
  const control = root['control'] === undefined ? resolve(runDir, DEFAULT_CONTROL_NAME) : socketPath(root['control'], 'control', baseDir);
  const requestIntervalMs =
    root['requestIntervalMs'] === undefined ? DEFAULT_REQUEST_INTERVAL_MS : integer(root['requestIntervalMs'], 'requestIntervalMs', 1, 3_600_000);
  const guestMemoryMiB =
    root['guestMemoryMiB'] === undefined ? DEFAULT_GUEST_MEMORY_MIB : integer(root['guestMemoryMiB'], 'guestMemoryMiB', 64, 1 << 22);
  const rawDevices = root['devices'];
  if (rawDevices === undefined) throw new ConfigError('devices', 'is required (a list of devices to serve)');
  if (!Array.isArray(rawDevices)) throw new ConfigError('devices', `must be a list, got ${typeName(rawDevices)}`);
  const list: unknown[] = rawDevices;
  const devices = list.map((d, i) => parseDevice(d, `devices[${i}]`, baseDir));
  checkUnique(devices, runDir, control);
  return { runDir, control, requestIntervalMs, guestMemoryMiB, devices };
}

function parseDevice(json: unknown, key: string, baseDir: string): DeviceSpec {
  const o = asObject(json, key);
  rejectUnknown(o, key, ['driver', 'type', 'uuid', 'socket', 'ports']);
  const driver = o['driver'];
  if (driver === undefined) throw new ConfigError(`${key}.driver`, `is required (one of ${DRIVER_NAMES.join(', ')})`);
  if (typeof driver !== 'string' || !isDriverName(driver)) {
    throw new ConfigError(`${key}.driver`, `must be one of ${DRIVER_NAMES.join(', ')}, got ${JSON.stringify(driver)}`);
  }
  const type = o['type'];
  if (type === undefined) throw new ConfigError(`${key}.type`, 'is required (the mdev type, e.g. "2" for a two-port mtty)');
  if (typeof type !== 'string' || type === '') throw new ConfigError(`${key}.type`, `must be a non-empty string, got ${JSON.stringify(type)}`);
  let spec: DeviceSpec = { driver, type, key };
  const uuid = o['uuid'];
  if (uuid !== undefined) {
    if (typeof uuid !== 'string' || !UUID_RE.test(uuid)) throw new ConfigError(`${key}.uuid`, `must be a UUID like 83b8f4f2-509f-382f-3c1e-e6bfe0fa1001, got ${JSON.stringify(uuid)}`);
    spec = { ...spec, uuid: uuid.toLowerCase() };
  }
  if (o['socket'] !== undefined) spec = { ...spec, socket: socketPath(o['socket'], `${key}.socket`, baseDir) };
  const ports = o['ports'];
  if (ports !== undefined) {
    if (driver !== 'mtty') throw new ConfigError(`${key}.ports`, `only mtty devices have ports (this is ${driver})`);
    if (!Array.isArray(ports)) throw new ConfigError(`${key}.ports`, `must be a list of port backends, got ${typeName(ports)}`);
    const portList: unknown[] = ports;
    if (portList.length > 2) throw new ConfigError(`${key}.ports`, `an mtty has at most 2 ports, got ${portList.length}`);
    spec = { ...spec, ports: portList.map((p, i) => parsePort(p, `${key}.ports[${i}]`, baseDir)) };
  }
  return spec;
}

/** `"loopback"`, `"stdio"`, `{"unix": PATH}`, `{"tcp": PORT}` (TCP listens on 127.0.0.1 only). */
function parsePort(json: unknown, key: string, baseDir: string): PortBackendSpec {
  if (json === 'loopback' || json === 'stdio') return { kind: json };
  if (typeof json === 'string') throw new ConfigError(key, `unknown port backend ${JSON.stringify(json)} (use "loopback", "stdio", {"unix": PATH} or {"tcp": PORT})`);
  const o = asObject(json, key);
  const keys = Object.keys(o);
  if (keys.length !== 1) throw new ConfigError(key, `a port backend has exactly one key (unix or tcp), got ${keys.length === 0 ? 'none' : keys.join(', ')}`);
  if (o['unix'] !== undefined) return { kind: 'unix', path: socketPath(o['unix'], `${key}.unix`, baseDir) };
  if (o['tcp'] !== undefined) return { kind: 'tcp', port: integer(o['tcp'], `${key}.tcp`, 1, 65535) };
  throw new ConfigError(`${key}.${keys[0] ?? ''}`, 'unknown port backend (use "loopback", "stdio", {"unix": PATH} or {"tcp": PORT})');
}

function checkUnique(devices: readonly DeviceSpec[], runDir: string, control: string): void {
  const sockets = new Map<string, string>([[control, 'control']]);
  const uuids = new Map<string, string>();
  const tcp = new Map<number, string>();
  const counters = new Map<DriverName, number>();
  for (const d of devices) {
    // The default path is the same one serve will pick, so a clash with an explicit path shows here.
    const n = counters.get(d.driver) ?? 0;
    counters.set(d.driver, n + 1);
    const sock = d.socket ?? resolve(runDir, `${d.driver}${n}.sock`);
    const prev = sockets.get(sock);
    if (prev !== undefined) throw new ConfigError(`${d.key}.socket`, `${sock} is already used by ${prev}`);
    sockets.set(sock, d.key);
    if (d.uuid !== undefined) {
      const u = uuids.get(d.uuid);
      if (u !== undefined) throw new ConfigError(`${d.key}.uuid`, `${d.uuid} is already used by ${u}`);
      uuids.set(d.uuid, d.key);
    }
    d.ports?.forEach((p, i) => {
      const pk = `${d.key}.ports[${i}]`;
      if (p.kind === 'unix') {
        const u = sockets.get(p.path);
        if (u !== undefined) throw new ConfigError(`${pk}.unix`, `${p.path} is already used by ${u}`);
        sockets.set(p.path, pk);
      } else if (p.kind === 'tcp') {
        const t = tcp.get(p.port);
        if (t !== undefined) throw new ConfigError(`${pk}.tcp`, `port ${p.port} is already used by ${t}`);
        tcp.set(p.port, pk);
      }
    });
  }
}

/** The default socket path of the n-th device of a driver (`<runDir>/mtty0.sock`). */
export function defaultSocketPath(runDir: string, driver: DriverName, n: number): string {
  return resolve(runDir, `${driver}${n}.sock`);
}

function isDriverName(s: string): s is DriverName {
  return DRIVER_NAMES.some((d) => d === s);
}

function asObject(json: unknown, key: string): Record<string, unknown> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError(key, `must be an object, got ${typeName(json)}`);
  }
  // A JSON object parsed by JSON.parse: plain string keys only.
  return Object.fromEntries(Object.entries(json));
}

function rejectUnknown(o: Record<string, unknown>, key: string, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new ConfigError(key === '' ? k : `${key}.${k}`, `unknown key (allowed: ${allowed.join(', ')})`);
  }
}

function integer(v: unknown, key: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(key, `must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function socketPath(v: unknown, key: string, baseDir: string): string {
  if (typeof v !== 'string' || v === '') throw new ConfigError(key, `must be a non-empty path, got ${JSON.stringify(v)}`);
  const abs = resolve(baseDir, v);
  if (Buffer.byteLength(abs) > UNIX_PATH_MAX) throw new ConfigError(key, `${abs} is longer than a UNIX socket path may be (${UNIX_PATH_MAX} bytes)`);
  return abs;
}

function socketDir(v: unknown, key: string, baseDir: string): string {
  if (typeof v !== 'string' || v === '') throw new ConfigError(key, `must be a non-empty path, got ${JSON.stringify(v)}`);
  return resolve(baseDir, v);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'string' ? `the string ${JSON.stringify(v)}` : typeof v;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
