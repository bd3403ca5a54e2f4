// The `vfio-ts serve` configuration: its schema (zod; each driver's descriptor adds the keys of its entries),
// the embedded default (what `npm start` serves), and errors whose every message names the offending key
// (`devices[1].ports[0].tcp`). `configJsonSchema` is the same schema as JSON Schema, for editors.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { resolvedPath, intRange, listOf, nonEmptyString, socketPath, strictObjectOf, typeName } from '../base/config-schema.js';
import type { ConfigClaim, DriverParams, VfioDriverBus, VfioDriverDescriptor } from '../drivers/descriptor.js';
import type { DriverRegistry } from '../drivers/registry.js';
import { pciRootConfigSchema } from '../hw/pci/machine-spec.js';
import type { PciRootConfig } from '../hw/pci/machine-spec.js';
import { fslMcConfigSchema } from '../hw/fsl-mc/machine-spec.js';
import type { FslMcConfig } from '../hw/fsl-mc/machine-spec.js';
import { platformMachineSchema } from '../hw/platform/machine-spec.js';
import type { PlatformNodeConfig } from '../hw/platform/machine-spec.js';
import { ambaMachineSchema } from '../hw/amba/machine-spec.js';
import type { AmbaNodeConfig } from '../hw/amba/machine-spec.js';

/** What every device entry has. */
interface DeviceSpecBase {
  /** A driver of the registry. */
  readonly driver: string;
  /** Absolute socket path; absent: `<runDir>/<driver><n>.sock`. */
  readonly socket?: string;
  /** The driver's own keys, parsed (mtty: `ports`); the new device is created with them. */
  readonly params: DriverParams;
  /** Where in the config file this device came from, for error messages (`devices[0]`). */
  readonly key: string;
}

/** An mdev to create at start-up and export on a vfio-user socket. */
export interface MdevDeviceSpec extends DeviceSpecBase {
  readonly bus: 'mdev';
  /** The mdev type as the driver names it ("2" for mtty's two-port type) or its sysfs id ("mtty-2"). */
  readonly type: string;
  /** The mdev parent; absent: the driver module's only parent. */
  readonly parent?: string;
  /** Absent: a random UUID. */
  readonly uuid?: string;
}

/** A device of the simulated machine to bind to a VFIO driver of its bus and export. */
export interface BusDeviceSpec extends DeviceSpecBase {
  readonly bus: Exclude<VfioDriverBus, 'mdev'>;
  /** Its name on the bus: a PCI address `0000:00:03.0`, a platform device `fff51000.ethernet`, `dprc.1`... */
  readonly device: string;
}

export type DeviceSpec = MdevDeviceSpec | BusDeviceSpec;

export interface ServeConfig {
  /** Absolute directory for default socket paths. */
  readonly runDir: string;
  /** Absolute path of the control socket. */
  readonly control: string;
  /** Milliseconds between `ops.request` calls while unregister waits. */
  readonly requestIntervalMs: number;
  /** Guest RAM size printed in the QEMU command line (MiB). */
  readonly guestMemoryMiB: number;
  /** Driver modules to load besides the built-in ones (absolute paths). */
  readonly drivers: readonly string[];
  /** Each driver module's options (`modules.<driver>`), parsed by its descriptor's schema. */
  readonly modules: Readonly<Record<string, DriverParams>>;
  /** The simulated machine's PCI root buses (`machine.pci`). */
  readonly pci: readonly PciRootConfig[];
  /** The simulated DPAA2 management complex (`machine.fslMc`), if any. */
  readonly fslMc?: FslMcConfig;
  /** Platform devices (`machine.platform`) and AMBA devices (`machine.amba`), as device-tree nodes. */
  readonly platform?: readonly PlatformNodeConfig[];
  readonly amba?: readonly AmbaNodeConfig[];
  readonly devices: readonly DeviceSpec[];
  /** The vfio-user server's hot-path tuning (`vfioUser`); absent keys keep the server's defaults. */
  readonly vfioUser?: VfioUserTuning;
}

/** `vfioUser`: how long a connection busy-polls for the next request, and how much one wake-up handles. */
export interface VfioUserTuning {
  /** Upper bound of the busy-poll window after a reply (ns); 0 turns busy polling off. */
  readonly pollMaxNs?: number;
  /** Lower bound the window shrinks to while the client is silent (ns). */
  readonly pollMinNs?: number;
  /** Most messages one wake-up handles before the event loop gets a turn. */
  readonly budgetMessages?: number;
  /** Most microseconds one wake-up spends. */
  readonly budgetMicros?: number;
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
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BDF_RE = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$/i;

/** The embedded default: one two-port mtty with loopback ports, sockets under `<cwd>/run/`. */
export function defaultConfig(cwd: string): ServeConfig {
  const runDir = resolve(cwd, DEFAULT_RUN_DIR);
  return {
    runDir,
    control: resolve(runDir, DEFAULT_CONTROL_NAME),
    requestIntervalMs: DEFAULT_REQUEST_INTERVAL_MS,
    guestMemoryMiB: DEFAULT_GUEST_MEMORY_MIB,
    drivers: [],
    modules: {},
    pci: [],
    devices: [{ bus: 'mdev', driver: 'mtty', type: '2', params: {}, key: 'devices[0]' }],
  };
}

/** The top-level keys, each a zod schema (relative paths resolve against `baseDir`). */
function rootShape(baseDir: string) {
  return {
    /** Where an editor finds this schema (the package ships it as schema/serve-config.schema.json). */
    $schema: z.string().optional(),
    runDir: resolvedPath(baseDir).optional().describe('directory for default socket paths (default: ./run)'),
    control: socketPath(baseDir).optional().describe('the control socket (default: <runDir>/vfio-ts.ctl)'),
    requestIntervalMs: intRange(1, 3_600_000).optional().describe('ms between requests to a client while unregister waits for it'),
    guestMemoryMiB: intRange(64, 1 << 22).optional().describe('guest RAM in the printed QEMU command line (MiB)'),
    drivers: listOf(resolvedPath(baseDir)).optional().describe('driver modules to load besides the built-in ones (files exporting `driver`)'),
    modules: strictObjectOf({}).catchall(z.unknown()).optional().describe('options of each driver module, by driver name (e.g. {"mdpy": {"count": 8}})'),
    machine: strictObjectOf({
      pci: listOf(pciRootConfigSchema(baseDir)).optional().describe('PCI root buses, each with its bridges and functions'),
      platform: platformMachineSchema().optional(),
      amba: ambaMachineSchema(baseDir).optional(),
      fslMc: fslMcConfigSchema.optional().describe('a DPAA2 management complex: the root DPRC, its objects and child containers (fsl-mc bus)'),
    })
      .optional()
      .describe('the simulated hardware: buses and the models on them'),
    devices: listOf(z.unknown(), 'a list of devices to serve').describe('devices to create and export, one vfio-user socket each'),
    vfioUser: strictObjectOf({
      pollMaxNs: intRange(0, 10_000_000).optional().describe('busy-poll window after a reply, upper bound in ns (default 250000; 0: never busy-poll)'),
      pollMinNs: intRange(0, 10_000_000).optional().describe('the window shrinks to this while the client is silent, in ns (default 16000)'),
      budgetMessages: intRange(1, 65_536).optional().describe('most messages one wake-up handles (default 256)'),
      budgetMicros: intRange(1, 1_000_000).optional().describe('most microseconds one wake-up spends (default 1000)'),
    })
      .optional()
      .describe("the vfio-user server's hot path: CPU spent busy-polling against round-trip latency"),
  };
}

/** The keys every device entry of driver `d` has, before the driver's own. */
function entryShape(d: VfioDriverDescriptor, baseDir: string) {
  const socket = socketPath(baseDir).optional().describe('the vfio-user socket (default: <runDir>/<driver><n>.sock)');
  if (d.bus === 'pci') {
    return {
      driver: z.literal(d.name).describe(d.summary),
      device: z
        .string({ error: (iss) => `must be a PCI address like 0000:00:03.0, got ${JSON.stringify(iss.input)}` })
        .regex(BDF_RE, { error: (iss) => `must be a PCI address like 0000:00:03.0, got ${JSON.stringify(iss.input)}` })
        .transform((b) => b.toLowerCase())
        .describe('the function to bind (see `vfio-ts lspci`)'),
      socket,
    };
  }
  if (d.bus !== 'mdev') {
    return {
      driver: z.literal(d.name).describe(d.summary),
      device: nonEmptyString(`the ${d.bus} device's name`).describe(`the ${d.bus} device to bind (see \`vfio-ts ls /sys/bus/${d.bus}/devices\`)`),
      socket,
    };
  }
  return {
    driver: z.literal(d.name).describe(d.summary),
    type: nonEmptyString('the mdev type, e.g. "2" for a two-port mtty').describe('the mdev type, as the driver names it or its sysfs id'),
    parent: nonEmptyString().optional().describe("the mdev parent (default: the driver module's only parent)"),
    uuid: z
      .string({ error: (iss) => `must be a UUID like 83b8f4f2-509f-382f-3c1e-e6bfe0fa1001, got ${JSON.stringify(iss.input)}` })
      .regex(UUID_RE, { error: (iss) => `must be a UUID like 83b8f4f2-509f-382f-3c1e-e6bfe0fa1001, got ${JSON.stringify(iss.input)}` })
      .transform((u) => u.toLowerCase())
      .optional()
      .describe('the mdev UUID (default: random)'),
    socket,
  };
}

/** The full schema of one `devices[]` entry of driver `d`. */
function deviceSchema(d: VfioDriverDescriptor, baseDir: string) {
  return strictObjectOf({ ...entryShape(d, baseDir), ...(d.config?.shape({ baseDir }) ?? {}) });
}

/** The key path of a zod issue path under `prefix`. */
function keyOf(prefix: string, path: readonly PropertyKey[]): string {
  let key = prefix;
  for (const p of path) key += typeof p === 'number' ? `[${p}]` : key === '' ? String(p) : `.${String(p)}`;
  return key;
}

/** A zod issue as a ConfigError: unions report the branch that fits the input's shape, or their own message. */
function issueError(prefix: string, issue: z.core.$ZodIssue): ConfigError {
  if (issue.code === 'invalid_union') {
    // A branch whose only complaints sit below the input (a field's value) is the one the user meant.
    const meant = issue.errors.find((branch) => branch.length > 0 && branch.every((i) => i.path.length > 0 && i.code !== 'unrecognized_keys'));
    const first = meant?.[0];
    if (first !== undefined) return issueError(keyOf(prefix, issue.path), first);
    const input = issue.input;
    // One unknown key: name it.
    if (typeof input === 'object' && input !== null && !Array.isArray(input) && Object.keys(input).length === 1) {
      return new ConfigError(keyOf(prefix, [...issue.path, ...Object.keys(input)]), issue.message);
    }
  }
  if (issue.code === 'unrecognized_keys') return new ConfigError(keyOf(prefix, [...issue.path, issue.keys[0] ?? '']), 'unknown key');
  return new ConfigError(keyOf(prefix, issue.path), issue.message);
}

function parseWith<T>(schema: z.ZodType<T>, json: unknown, prefix: string): T {
  const r = schema.safeParse(json, { reportInput: true });
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw issue === undefined ? new ConfigError(prefix, 'invalid') : issueError(prefix, issue);
}

/** Unknown keys of an object, reported with what is allowed (and, for a key another driver has, which one). */
function rejectUnknown(o: object, key: string, allowed: readonly string[], registry?: DriverRegistry, driver?: string): void {
  for (const k of Object.keys(o)) {
    if (allowed.includes(k)) continue;
    const owners = registry?.list().filter((d) => d.config !== undefined && k in d.config.shape({ baseDir: '/' })) ?? [];
    const full = key === '' ? k : `${key}.${k}`;
    if (owners.length > 0) throw new ConfigError(full, `only ${owners.map((d) => d.name).join(', ')} devices have ${k} (this is ${driver ?? '?'})`);
    throw new ConfigError(full, `unknown key (allowed: ${allowed.join(', ')})`);
  }
}

function isObject(v: unknown): v is object {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The `drivers` key alone (driver modules must load before the devices that use them are read). */
export function configDriverModules(json: unknown, baseDir: string): string[] {
  if (!isObject(json)) return [];
  return parseWith(z.object({ drivers: rootShape(baseDir).drivers }), json, '').drivers ?? [];
}

/**
 * Validates a parsed config against `registry`'s drivers. Relative paths in it resolve against `baseDir` (the
 * config file's directory); an absent `runDir` is `<cwd>/run`, as for `serve` without a config.
 */
export function parseConfig(json: unknown, baseDir: string, cwd: string, registry: DriverRegistry): ServeConfig {
  if (!isObject(json)) throw new ConfigError('', `must be an object, got ${typeName(json)}`);
  const shape = rootShape(baseDir);
  rejectUnknown(json, '', Object.keys(shape));
  const root = parseWith(z.object(shape), json, '');
  const runDir = root.runDir ?? resolve(cwd, DEFAULT_RUN_DIR);
  const control = root.control ?? resolve(runDir, DEFAULT_CONTROL_NAME);
  const devices = root.devices.map((d, i) => parseDevice(d, `devices[${i}]`, baseDir, registry));
  checkUnique(devices, runDir, control, registry);
  const modules = parseModules(root.modules ?? {}, baseDir, registry);
  return {
    runDir,
    control,
    requestIntervalMs: root.requestIntervalMs ?? DEFAULT_REQUEST_INTERVAL_MS,
    guestMemoryMiB: root.guestMemoryMiB ?? DEFAULT_GUEST_MEMORY_MIB,
    drivers: root.drivers ?? [],
    modules,
    pci: root.machine?.pci ?? [],
    ...(root.machine?.fslMc !== undefined ? { fslMc: root.machine.fslMc } : {}),
    ...(root.machine?.platform !== undefined ? { platform: root.machine.platform } : {}),
    ...(root.machine?.amba !== undefined ? { amba: root.machine.amba } : {}),
    devices,
    ...(root.vfioUser !== undefined ? { vfioUser: parseVfioUser(root.vfioUser) } : {}),
  };
}

/** `vfioUser` without undefined keys; a window whose lower bound passes its upper bound is refused. */
function parseVfioUser(v: { readonly [K in keyof VfioUserTuning]?: number | undefined }): VfioUserTuning {
  const out: { -readonly [K in keyof VfioUserTuning]: number } = {};
  for (const k of ['pollMaxNs', 'pollMinNs', 'budgetMessages', 'budgetMicros'] as const) {
    const x = v[k];
    if (x !== undefined) out[k] = x;
  }
  if (out.pollMinNs !== undefined && out.pollMaxNs !== undefined && out.pollMaxNs > 0 && out.pollMinNs > out.pollMaxNs) {
    throw new ConfigError('vfioUser.pollMinNs', `${out.pollMinNs} is above pollMaxNs ${out.pollMaxNs}`);
  }
  return out;
}

/** `modules`: each key a loaded driver, each value that driver's module options. */
function parseModules(json: Readonly<Record<string, unknown>>, baseDir: string, registry: DriverRegistry): Record<string, DriverParams> {
  const out: Record<string, DriverParams> = {};
  for (const [name, options] of Object.entries(json)) {
    const d = registry.get(name);
    if (d === undefined) throw new ConfigError(`modules.${name}`, `no such driver (loaded: ${registry.names.join(', ')})`);
    const schema = moduleSchema(d, baseDir);
    if (isObject(options)) rejectUnknown(options, `modules.${name}`, Object.keys(schema.shape));
    out[name] = Object.fromEntries(Object.entries(parseWith(schema, options, `modules.${name}`)).filter(([, v]) => v !== undefined));
  }
  return out;
}

/** The schema of driver `d`'s module options. */
function moduleSchema(d: VfioDriverDescriptor, baseDir: string) {
  return strictObjectOf(d.module?.shape({ baseDir }) ?? {});
}

function parseDevice(json: unknown, key: string, baseDir: string, registry: DriverRegistry): DeviceSpec {
  if (!isObject(json)) throw new ConfigError(key, `must be an object, got ${typeName(json)}`);
  const driverName: unknown = new Map(Object.entries(json)).get('driver');
  const names = registry.names.join(', ');
  if (driverName === undefined) throw new ConfigError(`${key}.driver`, `is required (one of ${names})`);
  const d = typeof driverName === 'string' ? registry.get(driverName) : undefined;
  if (d === undefined) throw new ConfigError(`${key}.driver`, `must be one of ${names}, got ${JSON.stringify(driverName)}`);
  const schema = deviceSchema(d, baseDir);
  rejectUnknown(json, key, Object.keys(schema.shape), registry, d.name);
  const parsed = new Map<string, unknown>(Object.entries(parseWith(schema, json, key)));
  const str = (k: string): string | undefined => {
    const v = parsed.get(k);
    parsed.delete(k);
    return typeof v === 'string' ? v : undefined;
  };
  parsed.delete('driver');
  const socket = str('socket');
  const common = { driver: d.name, ...(socket !== undefined ? { socket } : {}), key };
  let spec: DeviceSpec;
  if (d.bus !== 'mdev') {
    spec = { bus: d.bus, ...common, device: str('device') ?? '', params: {} };
  } else {
    const type = str('type') ?? '';
    const parent = str('parent');
    const uuid = str('uuid');
    spec = { bus: 'mdev', ...common, type, ...(parent !== undefined ? { parent } : {}), ...(uuid !== undefined ? { uuid } : {}), params: {} };
  }
  // What is left are the driver's own keys.
  return { ...spec, params: Object.fromEntries([...parsed].filter(([, v]) => v !== undefined)) };
}

/** Two entries may not share a socket path, UUID or TCP port: the second one is named. */
function checkUnique(devices: readonly DeviceSpec[], runDir: string, control: string, registry: DriverRegistry): void {
  const sockets = new Map<string, string>([[control, 'control']]);
  const uuids = new Map<string, string>();
  const tcp = new Map<number, string>();
  const counters = new Map<string, number>();
  const claim = (c: ConfigClaim, owner: string): void => {
    const where = `${owner}.${c.key}`;
    const prev = c.kind === 'socket' ? sockets.get(c.value) : tcp.get(c.value);
    if (prev !== undefined) throw new ConfigError(where, `${c.kind === 'tcp' ? `port ${c.value}` : c.value} is already used by ${prev}`);
    if (c.kind === 'socket') sockets.set(c.value, where);
    else tcp.set(c.value, where);
  };
  for (const d of devices) {
    // The default path is the same one serve will pick, so a clash with an explicit path shows here.
    const n = counters.get(d.driver) ?? 0;
    counters.set(d.driver, n + 1);
    const sock = d.socket ?? defaultSocketPath(runDir, d.driver, n);
    const prev = sockets.get(sock);
    if (prev !== undefined) throw new ConfigError(`${d.key}.socket`, `${sock} is already used by ${prev}`);
    sockets.set(sock, d.key);
    if (d.bus === 'mdev' && d.uuid !== undefined) {
      const u = uuids.get(d.uuid);
      if (u !== undefined) throw new ConfigError(`${d.key}.uuid`, `${d.uuid} is already used by ${u}`);
      uuids.set(d.uuid, d.key);
    }
    for (const c of registry.get(d.driver)?.config?.claims?.(d.params) ?? []) claim(c, d.key);
  }
}

/** The default socket path of the n-th device of a driver (`<runDir>/mtty0.sock`). */
export function defaultSocketPath(runDir: string, driver: string, n: number): string {
  return resolve(runDir, `${driver}${n}.sock`);
}

/** Reads a JSON config file (relative paths in it resolve against the file's directory). */
export function readConfigFile(file: string, cwd: string): { json: unknown; baseDir: string } {
  const path = resolve(cwd, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('', `cannot read config file ${path}: ${errorMessage(err)}`);
  }
  try {
    return { json: JSON.parse(text), baseDir: dirname(path) };
  } catch (err) {
    throw new ConfigError('', `${path} is not valid JSON: ${errorMessage(err)}`);
  }
}

/** Reads and validates a JSON config file against `registry`. */
export function loadConfig(file: string, cwd: string, registry: DriverRegistry): ServeConfig {
  const { json, baseDir } = readConfigFile(file, cwd);
  return parseConfig(json, baseDir, cwd, registry);
}

/** The serve config as JSON Schema (draft 2020-12) for `registry`'s drivers: what editors check a config with. */
export function configJsonSchema(registry: DriverRegistry): Record<string, unknown> {
  const baseDir = '/';
  const devices = registry.list().map((d) => deviceSchema(d, baseDir));
  const [first, ...rest] = devices;
  const device = first === undefined ? z.never() : rest.length === 0 ? first : z.union([first, ...rest]);
  const modules = z.strictObject(Object.fromEntries(registry.list().map((d) => [d.name, moduleSchema(d, baseDir).optional()])));
  const schema = z.strictObject({ ...rootShape(baseDir), modules: modules.optional(), devices: z.array(device) });
  return {
    ...z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }),
    $id: 'https://vfio-ts.invalid/serve-config.schema.json',
    title: 'vfio-ts serve configuration',
  };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
