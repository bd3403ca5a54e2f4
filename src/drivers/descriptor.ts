// What a driver folder exports (`export const driver`) so that the registry, the CLI and the library can use the
// driver without code of their own for it: its name, its bus, the keys it adds to a config entry, its module
// init, and optional capabilities. The kernel's counterpart is a module's init/exit plus its driver struct.
import type { z } from 'zod';
import type { Host } from '../base/host.js';
import type { MdevSample } from '../mdev/sample-parent.js';
import type { VfioDevice } from '../vfio/vfio-device.js';

/** Where a config entry is read: relative paths in it resolve against `baseDir` (the config file's directory). */
export interface ConfigContext {
  readonly baseDir: string;
}

/** A driver's parsed config keys: what a new instance is created with (an mdev carries them as `params`). */
export type DriverParams = Readonly<Record<string, unknown>>;

/** A host resource a config entry takes (a listening socket path, a TCP port): no two entries may share one. */
export type ConfigClaim =
  /** `key` holds it, relative to the entry (`ports[1].tcp`). */
  | { readonly key: string; readonly kind: 'socket'; readonly value: string }
  | { readonly key: string; readonly kind: 'tcp'; readonly value: number };

/** The keys a driver adds to a `devices[]` entry of the serve config. */
export interface DriverConfigKeys {
  /** zod shape of the keys, all optional; the parsed values are the instance's params. */
  shape(ctx: ConfigContext): z.ZodRawShape;
  /** The host resources parsed params take. */
  claims?(params: DriverParams): readonly ConfigClaim[];
}

/** A VFIO driver on the mdev bus: its module init registers a parent with types and an mdev driver. */
export interface VfioDriverDescriptor {
  /** The driver's name: the config's `driver` value and its mdev parent's name (`mtty`). */
  readonly name: string;
  readonly bus: 'mdev';
  /** One line for listings. */
  readonly summary: string;
  /** The keys it adds to a config entry; none when absent. */
  readonly config?: DriverConfigKeys;
  /** What to tell the user about the guest side (printed after the QEMU command line). */
  readonly guestHint?: string;
  /** Module init on `host` (mdev_register_parent and the mdev driver); the returned sample's unregister is the exit. */
  register(host: Host): MdevSample;
  /** A PNG of `dev`'s display; EINVAL when `dev` is not this driver's, ENODATA when nothing is shown. */
  screenshot?(dev: VfioDevice): Buffer;
}

/** Whether `x` has a descriptor's shape (for modules loaded by path). */
export function isVfioDriverDescriptor(x: unknown): x is VfioDriverDescriptor {
  if (typeof x !== 'object' || x === null) return false;
  const d = new Map<string, unknown>(Object.entries(x));
  return (
    typeof d.get('name') === 'string' &&
    d.get('name') !== '' &&
    d.get('bus') === 'mdev' &&
    typeof d.get('summary') === 'string' &&
    typeof d.get('register') === 'function'
  );
}
