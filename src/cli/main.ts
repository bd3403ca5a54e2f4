#!/usr/bin/env node
// The `vfio-ts` command: argument parsing (commander) and dispatch to serve or to a client command.
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  lsCommand,
  mdevCreateCommand,
  mdevRemoveCommand,
  mdevTypesCommand,
  screenshotCommand,
  statusCommand,
  traceCommand,
  unregisterCommand,
} from './commands.js';
import type { ClientContext } from './commands.js';
import { bindCommand, lspciCommand, unbindCommand } from './pci-commands.js';
import { migrateCommand } from './migrate-command.js';
import { ControlError } from './control-client.js';
import { DEFAULT_CONTROL_NAME, DEFAULT_RUN_DIR } from './config.js';
import { LOG_LEVELS, createLogger, isLogLevel } from './logger.js';
import type { LogLevel } from './logger.js';
import { EXIT_FAILURE } from './exit-codes.js';
import { parseHttpAddress } from './web/http-address.js';
import type { HttpAddress } from './web/http-address.js';

/**
 * What a closed stdout (the reader went away: `vfio-ts trace | head`) means: a client command is done and
 * exits quietly, as Unix tools do on SIGPIPE; a server keeps serving and stops printing. Never a crash.
 */
let onStdoutClosed: () => void = () => process.exit(0);
let stdoutOpen = true;
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  stdoutOpen = false;
  onStdoutClosed();
});

const out = (line: string): void => {
  if (stdoutOpen) process.stdout.write(`${line}\n`);
};

function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

function parseIova(v: string): bigint {
  if (!/^(0x[0-9a-fA-F]{1,16}|[0-9]{1,20})$/.test(v)) throw new InvalidArgumentError('expected an address (decimal or 0x hex)');
  const n = BigInt(v);
  if (n % 4096n !== 0n || n >= 1n << 64n) throw new InvalidArgumentError('expected a page-aligned 64-bit address');
  return n;
}

/** commander's way to repeat an option: each use appends. */
function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function parseLevel(v: string): LogLevel {
  if (!isLogLevel(v)) throw new InvalidArgumentError(`expected one of ${LOG_LEVELS.join(', ')}`);
  return v;
}

function httpAddress(v: string): HttpAddress {
  try {
    return parseHttpAddress(v);
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
}

const DEFAULT_CTL = `./${DEFAULT_RUN_DIR}/${DEFAULT_CONTROL_NAME}`;

function buildProgram(): Command {
  const program = new Command('vfio-ts')
    .description('The Linux VFIO device model in TypeScript: serve emulated devices to QEMU over vfio-user, and inspect them')
    .addOption(new Option('--log-level <level>', 'log level of the structured logs on stderr').argParser(parseLevel).default('info'))
    .option('--ctl <path>', 'control socket of the server to talk to (serve: where to create it)')
    .showHelpAfterError()
    .configureOutput({ outputError: (s, write) => write(`vfio-ts: ${s.replace(/^error: /, '')}`) });

  const client = (cmd: Command): ClientContext => {
    const opts = cmd.optsWithGlobals<{ ctl?: string }>();
    return { ctl: resolve(opts.ctl ?? DEFAULT_CTL), cwd: process.cwd(), out, ...(process.stdout.isTTY ? { tty: process.stdout } : {}) };
  };

  program
    .command('serve')
    .description('serve devices on vfio-user sockets (default: one 2-port mtty under ./run/) and open the control socket')
    .option('-c, --config <file>', 'JSON config file (devices, socket paths, control socket)')
    .option('--driver <module>', 'load a driver module (a file exporting `driver`) besides the built-in ones; repeatable', collect, [])
    .addOption(new Option('--shutdown-grace <ms>', 'how long shutdown asks clients to let go before disconnecting them').argParser(nonNegativeInt).default(10_000))
    .addOption(new Option('--http <[host:]port>', 'serve the web view there (host 127.0.0.1 unless given; off by default)').argParser(httpAddress))
    .action(async (opts: { config?: string; driver: string[]; shutdownGrace: number; http?: HttpAddress }, cmd: Command) => {
      const g = cmd.optsWithGlobals<{ ctl?: string; logLevel: LogLevel }>();
      const logger = createLogger(g.logLevel);
      // Loaded on demand: client commands need none of the device stack, and start faster without it.
      onStdoutClosed = () => {};
      const { serve } = await import('./serve.js');
      const code = await serve({
        ...(opts.config !== undefined ? { config: opts.config } : {}),
        ...(g.ctl !== undefined ? { ctl: resolve(g.ctl) } : {}),
        drivers: opts.driver,
        shutdownGraceMs: opts.shutdownGrace,
        ...(opts.http !== undefined ? { http: opts.http } : {}),
        logger,
        cwd: process.cwd(),
        out,
      });
      logger.flush();
      process.exitCode = code;
    });

  program
    .command('drivers')
    .description('list the drivers serve knows (built-in and --driver modules): name, bus, what it is')
    .option('--driver <module>', 'also load this driver module; repeatable', collect, [])
    .option('--json-schema', 'print the serve config JSON Schema for these drivers instead')
    .action(async (o: { driver: string[]; jsonSchema?: boolean }) => {
      const { driversCommand } = await import('./drivers-command.js');
      await driversCommand(o.driver.map((d) => resolve(d)), o.jsonSchema === true, out);
    });

  program
    .command('ls')
    .argument('[path]', 'sysfs path', '/sys')
    .description("print the server's sysfs tree below PATH")
    .action((path: string, _o: unknown, cmd: Command) => lsCommand(client(cmd), path));

  program
    .command('status')
    .description('show the server and its devices')
    .action((_o: unknown, cmd: Command) => statusCommand(client(cmd)));

  const mdev = program.command('mdev').description('mediated devices');
  mdev
    .command('types')
    .description('list every parent’s mdev types and available instances')
    .action((_o: unknown, cmd: Command) => mdevTypesCommand(client(cmd)));
  mdev
    .command('create')
    .argument('<parent>', 'parent device, e.g. mtty')
    .argument('<type>', 'type, e.g. 2 or mtty-2')
    .option('--uuid <uuid>', 'the new mdev’s UUID (default: random)')
    .description('create an mdev and export it on a vfio-user socket')
    .action((parent: string, type: string, o: { uuid?: string }, cmd: Command) => mdevCreateCommand(client(cmd), parent, type, o.uuid));
  mdev
    .command('remove')
    .argument('<uuid>', 'the mdev to remove')
    .description('remove an mdev (waits for its clients to let go)')
    .action((uuid: string, _o: unknown, cmd: Command) => mdevRemoveCommand(client(cmd), uuid));

  program
    .command('unregister')
    .argument('<device>', 'vfioN or mdev UUID')
    .description('unregister a VFIO device, asking attached clients to let go, and wait for them')
    .action((device: string, _o: unknown, cmd: Command) => unregisterCommand(client(cmd), device));

  program
    .command('lspci')
    .description("list the simulated machine's PCI functions (ids, IOMMU group, driver), as lspci -nnk")
    .action((_o: unknown, cmd: Command) => lspciCommand(client(cmd)));
  program
    .command('bind')
    .argument('<device>', 'a device of the simulated machine: a PCI function (0000:00:03.0), a platform, AMBA or fsl-mc device')
    .argument('<driver>', 'a driver of its bus, e.g. vfio-pci')
    .description('bind a device to a driver (driver_override, then bind); a VFIO device is exported on a socket')
    .action((device: string, driver: string, _o: unknown, cmd: Command) => bindCommand(client(cmd), device, driver));
  program
    .command('unbind')
    .argument('<device>', 'a device of the simulated machine')
    .description('unbind a device from its driver, asking attached clients to let go, and wait for them')
    .action((device: string, _o: unknown, cmd: Command) => unbindCommand(client(cmd), device));

  program
    .command('trace')
    .description('stream device life-cycle events until Ctrl-C')
    .option('--svg <file>', 'on Ctrl-C, also write the timeline of the events seen (one lane per device) as SVG')
    .action(async (o: { svg?: string }, cmd: Command) => {
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      process.once('SIGTERM', () => ac.abort());
      await traceCommand(client(cmd), ac.signal, o.svg);
    });

  program
    .command('migrate')
    .requiredOption('--from <socket>', 'vfio-user socket of the device to migrate (no client may hold it)')
    .requiredOption('--to <socket>', 'vfio-user socket of a device of the same kind on another server')
    .option('--memory <file>', 'guest memory (a file in /dev/shm, say) the devices DMA to, mapped on both sides')
    .option('--target-memory <file>', "the target's own guest memory: the source's is copied there, then the pages the device dirtied")
    .option('--iova <address>', 'where guest memory is mapped (default 0)', parseIova)
    .option('--max-iterations <n>', 'pre-copy rounds at most (default 8)', nonNegativeInt)
    .option('--json', 'print the result as one JSON line')
    .description('migrate a device between two servers as a VMM does: pre-copy while it runs, stop, copy the rest, resume on the target')
    .action(async (o: { from: string; to: string; memory?: string; targetMemory?: string; iova?: bigint; maxIterations?: number; json?: boolean }) => {
      await migrateCommand({ out, progress: process.stderr.isTTY ? process.stderr : null }, o);
    });

  program
    .command('screenshot')
    .argument('<device>', 'an mdpy or mbochs device: vfioN or mdev UUID')
    .requiredOption('-o, --output <file>', 'PNG file to write')
    .description("save a display device's screen as PNG")
    .action((device: string, o: { output: string }, cmd: Command) => screenshotCommand(client(cmd), device, o.output));

  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    if (err instanceof ControlError) {
      process.stderr.write(`vfio-ts: ${err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? '' : `${err.code}: `}${err.message.replace(/^E[A-Z]+: /, '')}\n`);
    } else {
      process.stderr.write(`vfio-ts: ${err instanceof Error ? err.message : String(err)}\n`);
      if (process.env['VFIO_TS_DEBUG'] === '1' && err instanceof Error) process.stderr.write(`${err.stack ?? ''}\n`);
    }
    process.exitCode = EXIT_FAILURE;
  }
  // Leftover handles (a stdio port backend, a slow client) must not keep a finished command alive.
  process.exit(process.exitCode ?? 0);
}

await main();
