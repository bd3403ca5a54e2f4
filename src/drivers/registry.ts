// The one registry of VFIO drivers that the CLI and the library read: built-in drivers are the folders beside
// this file whose index exports `driver` (so adding a driver is adding a folder), and more can be loaded from a
// module path (`vfio-ts serve --driver FILE`).
import { readdirSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { VfioError } from '../uapi/errno.js';
import { isVfioDriverDescriptor } from './descriptor.js';
import type { VfioDriverDescriptor } from './descriptor.js';

/** Driver descriptors by name, in the order they were added. */
export class DriverRegistry {
  readonly #byName = new Map<string, VfioDriverDescriptor>();

  constructor(descriptors: Iterable<VfioDriverDescriptor> = []) {
    for (const d of descriptors) this.add(d);
  }

  /** Adds `d`; EEXIST when a driver of that name is already there. */
  add(d: VfioDriverDescriptor): void {
    if (this.#byName.has(d.name)) throw new VfioError('EEXIST', `a driver named '${d.name}' is already registered`);
    this.#byName.set(d.name, d);
  }

  get(name: string): VfioDriverDescriptor | undefined {
    return this.#byName.get(name);
  }

  get names(): string[] {
    return [...this.#byName.keys()];
  }

  list(): VfioDriverDescriptor[] {
    return [...this.#byName.values()];
  }
}

/** The folder holding the built-in driver folders (this file's). */
const DRIVERS_DIR = dirname(fileURLToPath(import.meta.url));

/** A module namespace's `driver` export, if it is a descriptor. */
function driverExportOf(mod: unknown): VfioDriverDescriptor | undefined {
  const d = typeof mod === 'object' && mod !== null ? new Map<string, unknown>(Object.entries(mod)).get('driver') : undefined;
  return isVfioDriverDescriptor(d) ? d : undefined;
}

/** The `driver` export of the module at `file` (a path or file URL); EINVAL when it has none. */
export async function loadDriverModule(file: string): Promise<VfioDriverDescriptor> {
  const url = file.startsWith('file:') ? file : pathToFileURL(resolve(file)).href;
  let mod: unknown;
  try {
    mod = await import(url);
  } catch (err) {
    throw new VfioError('ENOENT', `cannot load driver module ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const d = driverExportOf(mod);
  if (d === undefined) throw new VfioError('EINVAL', `${file} exports no driver descriptor (export const driver = { name, bus, summary, register })`);
  return d;
}

/** Every built-in driver: each folder beside this file with an index that exports `driver`, by folder name. */
export async function builtinDrivers(): Promise<VfioDriverDescriptor[]> {
  const out: VfioDriverDescriptor[] = [];
  const folders = readdirSync(DRIVERS_DIR, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  for (const name of folders) {
    const index = join(DRIVERS_DIR, name, 'index.js');
    if (!existsSync(index)) continue;
    const d = driverExportOf(await import(pathToFileURL(index).href));
    // A folder without a descriptor is a library the drivers share, not a driver.
    if (d !== undefined) out.push(d);
  }
  return out;
}

/** A registry of the built-in drivers plus those loaded from `extraModules` (paths or file URLs). */
export async function loadDriverRegistry(extraModules: readonly string[] = []): Promise<DriverRegistry> {
  const reg = new DriverRegistry(await builtinDrivers());
  for (const m of extraModules) reg.add(await loadDriverModule(m));
  return reg;
}
