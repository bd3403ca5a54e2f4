// The commands serve's banner suggests, written so a user can paste them: the way to run this very CLI from the
// directory serve runs in (`npx vfio-ts` where the package is installed as a dependency; `node dist/cli/main.js`
// in a clone, where `vfio-ts` is not on PATH), with `--ctl` when the control socket is not the default one.
import { relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CONTROL_NAME, DEFAULT_RUN_DIR } from './config.js';

/** The compiled CLI entry next to this file. */
const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

/** A word as a POSIX shell reads it back unchanged. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** How to run the CLI from `cwd`: `npx vfio-ts` for an installed package, else `node <path to main.js>`. */
export function cliInvocation(cwd: string, main = MAIN): string {
  if (main.split(sep).includes('node_modules')) return 'npx vfio-ts';
  const rel = relative(cwd, main);
  return `node ${shellQuote(rel.startsWith('..') || rel === '' ? main : rel)}`;
}

/** The inspection commands, one per line, for a server whose control socket is `ctl`. */
export function inspectCommands(cwd: string, ctl: string, main = MAIN): string[] {
  const ctlArg = resolve(ctl) === resolve(cwd, DEFAULT_RUN_DIR, DEFAULT_CONTROL_NAME) ? '' : ` --ctl ${shellQuote(ctl)}`;
  const run = `${cliInvocation(cwd, main)}${ctlArg}`;
  return [`${run} status`, `${run} ls /sys/class/vfio-dev`, `${run} trace`];
}
