// What a driver folder exports (`export const driver`) so that the registry, the CLI and the library can use the
// driver without code of their own for it: its name, its bus, the keys it adds to a config entry, its module
// init, and optional capabilities. The kernel's counterpart is a module's init/exit plus its driver struct.
import type { z } from 'zod';
import type { Host } from '../base/host.js';
import type { MdevParent } from '../mdev/mdev-objects.js';
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

/** A driver's module loaded on a host: the mdev parents it offers, and its exit. */
export interface VfioDriverModule {
  readonly name: string;
  /** The mdev parents the module registered (a sample: one; a driver of real hardware: one per device it drives). */
  parents(): readonly MdevParent[];
  /** The module exit: every mdev removed (waiting for users), then its parents, drivers and hardware. Idempotent. */
  unregister(): Promise<void>;
}

/** Module options: the `modules.<driver>` object of the serve config (the hardware it simulates, budgets). */
export interface DriverModuleOptions {
  /** zod shape of the options, all optional (a module loads with `{}`); parsed values go to register. */
  shape(ctx: ConfigContext): z.ZodRawShape;
}

/** The buses a VFIO driver binds on: mediated devices, or a bus of the simulated machine. */
export const VFIO_DRIVER_BUSES = ['mdev', 'pci', 'platform', 'amba', 'fsl-mc'] as const;
export type VfioDriverBus = (typeof VFIO_DRIVER_BUSES)[number];

/**
 * A VFIO driver. On the `mdev` bus its module init registers mdev parents with types and an mdev driver, and a
 * config entry creates an mdev; on the `pci` bus its module init registers a PCI driver, and a config entry binds
 * a function of the simulated machine to it (its probe makes the VFIO device, the function's drvdata); the
 * `platform`, `amba` and `fsl-mc` buses work as `pci` does, with the bus's device names.
 */
export interface VfioDriverDescriptor {
  /** The driver's name: the config's `driver` value (and the mdev parent's name for the samples: `mtty`). */
  readonly name: string;
  readonly bus: VfioDriverBus;
  /** A bus other than `mdev`: the bus driver's name in `/sys/bus/<bus>/drivers/` (default: `name`). */
  readonly busDriver?: string;
  /** One line for listings. */
  readonly summary: string;
  /** The keys it adds to a `devices[]` entry; none when absent. */
  readonly config?: DriverConfigKeys;
  /** The options its module takes from the config's `modules.<name>`; none when absent. */
  readonly module?: DriverModuleOptions;
  /** What to tell the user about the guest side (printed after the QEMU command line). */
  readonly guestHint?: string;
  /** Module init on `host` with its parsed options (`{}` when the config has none); the module's unregister is the exit. */
  register(host: Host, options: DriverParams): VfioDriverModule;
  /** A PNG of `dev`'s display; EINVAL when `dev` is not this driver's, ENODATA when nothing is shown. */
  screenshot?(dev: VfioDevice): Buffer;
}

/** A sample module (one parent, samples/vfio-mdev style) as a VfioDriverModule. */
export function sampleModule(sample: MdevSample): VfioDriverModule {
  return { name: sample.name, parents: () => [sample.parent], unregister: () => sample.unregister() };
}

/** Whether `x` has a descriptor's shape (for modules loaded by path). */
export function isVfioDriverDescriptor(x: unknown): x is VfioDriverDescriptor {
  if (typeof x !== 'object' || x === null) return false;
  const d = new Map<string, unknown>(Object.entries(x));
  return (
    typeof d.get('name') === 'string' &&
    d.get('name') !== '' &&
    VFIO_DRIVER_BUSES.some((b) => b === d.get('bus')) &&
    typeof d.get('summary') === 'string' &&
    typeof d.get('register') === 'function'
  );
}
