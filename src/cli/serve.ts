// `vfio-ts serve`: the product's main job. Builds the Runtime from a config (or the embedded default: one
// two-port mtty), exports every device on a vfio-user socket, opens the control socket, prints how to attach
// QEMU, and on SIGINT/SIGTERM shuts down cleanly (a second signal forces the exit).
import { mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { sanitizer } from '../sanitizer/sanitizer.js';
import { VfioError } from '../uapi/errno.js';
import { loadDriverRegistry } from '../drivers/registry.js';
import type { DriverRegistry } from '../drivers/registry.js';
import { ConfigError, configDriverModules, defaultConfig, defaultSocketPath, parseConfig, readConfigFile } from './config.js';
import type { DeviceSpec, ServeConfig } from './config.js';
import { ControlServer } from './control-server.js';
import { controlHandlers } from './control-handlers.js';
import type { CliLogger } from './logger.js';
import { qemuCommandLine } from './qemu.js';
import { inspectCommands } from './banner-commands.js';
import { WebServer } from './web/web-server.js';
import { descriptorDisplayProbe } from './web/snapshot.js';
import type { HttpAddress } from './web/http-address.js';
import { Runtime } from './runtime.js';
import type { DeviceInfo } from './control-protocol.js';
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_FORCED, EXIT_OK } from './exit-codes.js';

export interface ServeOptions {
  readonly config?: string;
  /** Driver modules to load besides the built-in ones and the config's `drivers` (`--driver`). */
  readonly drivers: readonly string[];
  /** Overrides the config's control socket path. */
  readonly ctl?: string;
  /** Milliseconds shutdown waits for clients to let go before disconnecting them. */
  readonly shutdownGraceMs: number;
  readonly logger: CliLogger;
  readonly cwd: string;
  /** Human-readable output (stdout). */
  readonly out: (line: string) => void;
  /** `--http`: where the web view listens; off when absent. */
  readonly http?: HttpAddress;
}

/** Runs the server until a signal; resolves with the process exit code. */
export async function serve(opts: ServeOptions): Promise<number> {
  const { logger } = opts;
  let config: ServeConfig;
  let registry: DriverRegistry;
  try {
    ({ config, registry } = await loadServeConfig(opts));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`vfio-ts: bad config: ${err.message}\n`);
      return EXIT_CONFIG;
    }
    throw err;
  }
  const startedAt = Date.now();
  let madeRunDir: string | undefined;
  try {
    madeRunDir = mkdirSync(config.runDir, { recursive: true });
  } catch (err) {
    const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : String(err);
    process.stderr.write(`vfio-ts: bad config: runDir: cannot create ${config.runDir} (${code}: a file is in the way, or no permission)\n`);
    return EXIT_CONFIG;
  }
  const runtime = await Runtime.start({ logger, requestIntervalMs: config.requestIntervalMs, registry, moduleOptions: config.modules, pci: config.pci,
    ...(config.fslMc !== undefined ? { fslMc: config.fslMc } : {}),
    ...(config.vfioUser !== undefined ? { vfioUser: config.vfioUser } : {}),
    ...(config.platform !== undefined ? { platform: config.platform } : {}),
    ...(config.amba !== undefined ? { amba: config.amba } : {}),
  });
  let control: ControlServer | null = null;
  let web: WebServer | null = null;
  const progress = (msg: string): void => logger.info({}, msg);

  // Signals arm before the first socket exists, so a Ctrl-C during start-up still cleans up.
  const stopRequested = new Promise<string>((resolve) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals): void => {
      signals++;
      if (signals === 1) {
        logger.info({ signal: sig }, 'shutting down (send the signal again to force)');
        resolve(sig);
      } else {
        process.stderr.write(`vfio-ts: ${sig} again: forcing exit without cleanup\n`);
        logger.flush();
        process.exit(EXIT_FORCED);
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });

  let code = EXIT_OK;
  try {
    // The control socket first: a second server on the same run directory stops here, before it touches a socket.
    const handlers = controlHandlers({ runtime, controlPath: config.control, startedAt, runDir: config.runDir });
    control = await ControlServer.listen(config.control, handlers, logger);
    if (opts.http !== undefined) {
      web = await WebServer.listen({ ...opts.http, runtime, handlers, hasDisplay: descriptorDisplayProbe(registry.list()), logger });
    }
    const devices = await createDevices(runtime, config, progress);
    logger.info({ control: config.control, devices: devices.length }, 'serving');
    printBanner(opts.out, devices, config, runtime, opts.cwd);
    if (web !== null) opts.out(`Web view: ${web.url}`);
    await stopRequested;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`vfio-ts: bad config: ${err.message}\n`);
      code = EXIT_CONFIG;
    } else {
      process.stderr.write(`vfio-ts: ${err instanceof Error ? err.message : String(err)}\n`);
      code = EXIT_FAILURE;
    }
  }
  await web?.close();
  await control?.close();
  await runtime.close(opts.shutdownGraceMs, progress);
  // A start that failed leaves no trace: the run directory goes if serve made it and nothing else is in it.
  if (madeRunDir !== undefined && code !== EXIT_OK) removeEmptyDir(config.runDir);
  logger.info({}, 'stopped');
  if (!sanitizerClean(logger)) code = code === EXIT_OK ? EXIT_FAILURE : code;
  return code;
}

/** The registry (built-in drivers, `--driver` modules, the config's `drivers`) and the config validated against it. */
async function loadServeConfig(opts: ServeOptions): Promise<{ config: ServeConfig; registry: DriverRegistry }> {
  const file = opts.config === undefined ? null : readConfigFile(opts.config, opts.cwd);
  const fromConfig = file === null ? [] : configDriverModules(file.json, file.baseDir);
  let registry: DriverRegistry;
  try {
    registry = await loadDriverRegistry([...opts.drivers.map((d) => resolve(opts.cwd, d)), ...fromConfig]);
  } catch (err) {
    throw new ConfigError(opts.drivers.length > 0 ? '--driver' : 'drivers', err instanceof Error ? err.message : String(err));
  }
  let config = file === null ? defaultConfig(opts.cwd) : parseConfig(file.json, file.baseDir, opts.cwd, registry);
  if (opts.ctl !== undefined) config = { ...config, control: opts.ctl };
  return { config, registry };
}

/** Creates and exports the configured devices; a device the drivers refuse is a config error on its key. */
async function createDevices(runtime: Runtime, config: ServeConfig, progress: (msg: string) => void): Promise<DeviceInfo[]> {
  const counters = new Map<string, number>();
  const out: DeviceInfo[] = [];
  const total = config.devices.length;
  for (const [i, spec] of config.devices.entries()) {
    const n = counters.get(spec.driver) ?? 0;
    counters.set(spec.driver, n + 1);
    const socket = spec.socket ?? defaultSocketPath(config.runDir, spec.driver, n);
    progress(`creating device ${i + 1}/${total}: ${spec.driver} ${spec.bus !== 'mdev' ? spec.device : `type ${spec.type}`}`);
    try {
      out.push(await createDevice(runtime, spec, socket));
    } catch (err) {
      if (!(err instanceof VfioError)) throw err;
      throw new ConfigError(faultyKey(spec, err), err.message);
    }
  }
  return out;
}

/** Creates (an mdev) or binds (a device of the machine) the device `spec` describes and exports it on `socket`. */
function createDevice(runtime: Runtime, spec: DeviceSpec, socket: string): Promise<DeviceInfo> {
  if (spec.bus !== 'mdev') return runtime.bindDevice(spec.device, spec.driver, { socket });
  return runtime.createMdev(spec.parent ?? runtime.defaultParent(spec.driver), spec.type, {
    socket,
    params: spec.params,
    ...(spec.uuid !== undefined ? { uuid: spec.uuid } : {}),
  });
}

/** Which key of `spec` a refusal is about: a type or parent the host lacks, a UUID in use, a function; else the entry. */
function faultyKey(spec: DeviceSpec, err: VfioError): string {
  if (spec.bus !== 'mdev') return /^ENODEV: no device|is bound to/.test(err.message) ? `${spec.key}.device` : spec.key;
  if (/no type/.test(err.message)) return `${spec.key}.type`;
  if (/no mdev parent|several parents|has no parent/.test(err.message)) return `${spec.key}.parent`;
  if (err.code === 'EEXIST' && spec.uuid !== undefined) return `${spec.key}.uuid`;
  return spec.key;
}

function printBanner(out: (line: string) => void, devices: readonly DeviceInfo[], config: ServeConfig, runtime: Runtime, cwd: string): void {
  out('vfio-ts is serving:');
  for (const d of devices) {
    const what = d.uuid === null ? `${d.type} at ${d.parent}` : `${d.type}, mdev ${d.uuid}`;
    out(`  ${d.name} (${what}) on vfio-user socket ${d.socket ?? '(not exported)'}`);
  }
  out(`  control socket ${config.control}`);
  out('');
  // QEMU's vfio-user client is PCI-only: ccw, AP, platform, AMBA and fsl-mc devices get no -device line.
  const sockets = devices.flatMap((d) => (d.socket === null || !runtime.isPciDevice(d.name) ? [] : [{ path: d.socket, id: d.name }]));
  if (sockets.length > 0) {
    out('Attach it to a VM with QEMU >= 10.1 (guest RAM must be a shared memfd so the server can reach it):');
    out('');
    out(qemuCommandLine(sockets, config.guestMemoryMiB));
    out('');
  }
  for (const drv of new Set(config.devices.map((d) => d.driver))) {
    const hint = runtime.guestHint(drv);
    if (hint !== undefined) out(`In the guest: ${hint}`);
  }
  out('Inspect it with (Ctrl-C stops the server):');
  for (const cmd of inspectCommands(cwd, config.control)) out(`  ${cmd}`);
}

function removeEmptyDir(dir: string): void {
  try {
    if (readdirSync(dir).length === 0) rmdirSync(dir);
  } catch {
    // Gone or in use: leave it.
  }
}

/** With the sanitizer on: reports leaked objects and findings to stderr; false if there were any. */
function sanitizerClean(logger: CliLogger): boolean {
  if (!sanitizer.enabled) return true;
  const leaks = sanitizer.leaks();
  const reports = sanitizer.reports;
  for (const l of leaks) {
    logger.error({ object: l.object, kind: l.kind, allocatedAt: l.allocatedAt }, 'sanitizer: leaked at exit');
    process.stderr.write(`vfio-ts: sanitizer: leak: ${l.kind} ${l.object}, allocated at\n${l.allocatedAt}\n`);
  }
  for (const r of reports) {
    logger.error({ kind: r.kind, object: r.object, stack: r.stack }, `sanitizer: ${r.message}`);
    process.stderr.write(`vfio-ts: sanitizer: ${r.kind}: ${r.message}\n`);
  }
  if (leaks.length === 0 && reports.length === 0) {
    logger.info({}, 'sanitizer: no leaks, no findings');
    return true;
  }
  return false;
}
