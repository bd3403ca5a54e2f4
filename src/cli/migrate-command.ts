// `vfio-ts migrate --from SOCK --to SOCK`: connects to two vfio-user sockets as a VMM would (a device on one
// server, a device of the same kind on another) and migrates the first into the second, with a progress bar on
// a terminal and a summary of bytes, rounds, dirty pages and downtime.
import { closeSync, fstatSync, openSync } from 'node:fs';
import { VfioUserClient } from '../vfio-user/client.js';
import { MigrationError, migrateDevice } from '../vfio-user/migrate.js';
import type { MigrationMemory, MigrationProgress, MigrationResult } from '../vfio-user/migrate.js';

export interface MigrateCommandOptions {
  readonly from: string;
  readonly to: string;
  /** A file (in /dev/shm, a hugetlbfs file...) holding guest memory, mapped at `iova` on both sides. */
  readonly memory?: string;
  /** The target's own copy of guest memory: the source's is copied there, then the pages the device dirtied. */
  readonly targetMemory?: string;
  readonly iova?: bigint;
  readonly maxIterations?: number;
  readonly json?: boolean;
}

export interface MigrateCommandContext {
  readonly out: (line: string) => void;
  /** Where the progress bar goes (a terminal), or null for none. */
  readonly progress: NodeJS.WriteStream | null;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

function progressLine(p: MigrationProgress): string {
  const width = 24;
  const est = p.estimate !== null && p.estimate > 0n ? Number(p.estimate) : null;
  const frac = est === null ? null : Math.min(1, p.bytes / est);
  const bar = frac === null ? '' : `[${'#'.repeat(Math.round(frac * width)).padEnd(width, '.')}] `;
  const round = p.phase === 'pre-copy' ? ` round ${p.iteration}` : '';
  return `${bar}${p.phase}${round}: ${formatBytes(p.bytes)}${est === null ? '' : ` of ~${formatBytes(est)}`}`;
}

/** The printed summary (also what the README shows). */
export function formatMigrationSummary(from: string, to: string, r: MigrationResult): string[] {
  const lines = [
    `migrated ${from} -> ${to}`,
    `  device state: ${formatBytes(r.bytes)} (${formatBytes(r.preCopyBytes)} pre-copy in ${r.iterations} round(s), ${formatBytes(r.stopCopyBytes)} at stop-copy)`,
  ];
  if (r.dirtyPages > 0 || r.pagesCopied > 0) lines.push(`  guest memory: ${r.dirtyPages} dirty page(s) logged by the device, ${r.pagesCopied} page(s) copied to the target`);
  lines.push(`  downtime ${r.downtimeMs.toFixed(2)} ms, total ${r.totalMs.toFixed(2)} ms`);
  return lines;
}

function openMemory(path: string, iova: bigint): MigrationMemory {
  const fd = openSync(path, 'r+');
  const size = fstatSync(fd).size;
  if (size === 0) {
    closeSync(fd);
    throw new Error(`${path} is empty: guest memory needs a size`);
  }
  return { fd, iova, size: BigInt(size) };
}

export async function migrateCommand(ctx: MigrateCommandContext, o: MigrateCommandOptions): Promise<MigrationResult> {
  const iova = o.iova ?? 0n;
  const mems: MigrationMemory[] = [];
  const clients: VfioUserClient[] = [];
  try {
    const memory = o.memory === undefined ? undefined : openMemory(o.memory, iova);
    if (memory !== undefined) mems.push(memory);
    const targetMemory = o.targetMemory === undefined ? undefined : openMemory(o.targetMemory, iova);
    if (targetMemory !== undefined) mems.push(targetMemory);
    const src = await VfioUserClient.connect(o.from).catch((err: Error) => {
      throw new Error(`cannot connect to the source ${o.from}: ${err.message}`);
    });
    clients.push(src);
    const dst = await VfioUserClient.connect(o.to).catch((err: Error) => {
      throw new Error(`cannot connect to the target ${o.to}: ${err.message}`);
    });
    clients.push(dst);
    const bar = ctx.progress;
    const result = await migrateDevice(src, dst, {
      ...(memory !== undefined ? { memory } : {}),
      ...(targetMemory !== undefined ? { targetMemory } : {}),
      ...(o.maxIterations !== undefined ? { maxIterations: o.maxIterations } : {}),
      ...(bar !== null ? { onProgress: (p: MigrationProgress) => bar.write(`\r\x1b[K${progressLine(p)}`) } : {}),
    }).finally(() => bar?.write('\r\x1b[K'));
    if (o.json === true) ctx.out(JSON.stringify({ from: o.from, to: o.to, ...result }));
    else for (const line of formatMigrationSummary(o.from, o.to, result)) ctx.out(line);
    return result;
  } catch (err) {
    if (err instanceof MigrationError) {
      throw new Error(`${err.message}${err.source === 'running' ? ' (the source device keeps running)' : ' (the source device state is unknown)'}`);
    }
    throw err;
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    for (const m of mems) closeSync(m.fd);
  }
}
