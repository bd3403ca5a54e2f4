// The fuzz corpora on disk: `fuzz/corpus/<target>/<sha1>` (inputs that found new coverage, replayed by `npm test`)
// and `fuzz/crashers/<target>/<sha1>` (findings: fixed, then kept as regression inputs).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's `fuzz/` folder (two levels above the compiled dist-test/fuzz/). */
export const FUZZ_DIR = fileURLToPath(new URL('../../fuzz/', import.meta.url));

export type CorpusKind = 'corpus' | 'crashers';

export function corpusDir(kind: CorpusKind, target: string): string {
  return join(FUZZ_DIR, kind, target);
}

/** Every input stored for `target`. */
export function readCorpus(kind: CorpusKind, target: string): { name: string; data: Uint8Array }[] {
  const dir = corpusDir(kind, target);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .map((name) => ({ name, data: new Uint8Array(readFileSync(join(dir, name))) }));
}

/** Stores `data` under its hash; returns the path. */
export function writeCorpus(kind: CorpusKind, target: string, data: Uint8Array): string {
  const dir = corpusDir(kind, target);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, createHash('sha1').update(data).digest('hex'));
  writeFileSync(path, data);
  return path;
}
