// The three samples/vfio-mdev modules (mtty, mdpy, mbochs) registered on a host by name: each one's init
// (class-device parent, mdev driver, mdev_register_parent) and exit. An integration hook above the mdev core:
// unlike the rest of src/mdev it imports the sample drivers it names.
import type { Host } from '../base/host.js';
import { VfioError } from '../uapi/errno.js';
import { mdpyRegister } from '../drivers/mdpy/mdpy-driver.js';
import { mbochsRegister } from '../drivers/mbochs/mbochs-driver.js';
import { MTTY_TYPES, mttyAvailableInstances, mttyCreate, mttyType } from '../drivers/mtty/index.js';
import type { MttyOptions } from '../drivers/mtty/index.js';
import type { MdevDriver } from './mdev-objects.js';
import { mdevVfioDriver } from './mdev-vfio.js';
import { mdevRegisterSample } from './sample-parent.js';
import type { MdevSample } from './sample-parent.js';

export const MDEV_SAMPLE_NAMES = Object.freeze(['mtty', 'mdpy', 'mbochs'] as const);
export type MdevSampleName = (typeof MDEV_SAMPLE_NAMES)[number];

export interface MdevSampleOptions {
  /** mdpy: max_instances (default 4). */
  readonly mdpyMaxDevices?: number;
  /** mbochs: megabytes shared by its devices (default 256). */
  readonly mbochsMaxMbytes?: number;
  /** mtty: the options each new card gets (its UART backends), by mdev UUID. */
  readonly mttyOptions?: (uuid: string) => MttyOptions;
}

/** mtty's mdev driver (mtty.c mtty_driver): the host's shared port budget decides available instances. */
export function mttyMdevDriver(host: Host, opts: MdevSampleOptions = {}): MdevDriver {
  return mdevVfioDriver({
    name: 'mtty',
    getAvailable: (type) => mttyAvailableInstances(host, mttyType(type.sysfsName)),
    create: (mdev, type) => mttyCreate(mdev, mttyType(type.sysfsName).sysfsName, opts.mttyOptions?.(mdev.uuid) ?? {}),
  });
}

/** One sample module's init on `host`: `/sys/devices/virtual/<name>/<name>` with its types. */
export function mdevRegisterSampleByName(host: Host, name: string, opts: MdevSampleOptions = {}): MdevSample {
  switch (name) {
    case 'mtty':
      return mdevRegisterSample(host, 'mtty', mttyMdevDriver(host, opts), MTTY_TYPES);
    case 'mdpy':
      return mdpyRegister(host, opts.mdpyMaxDevices === undefined ? {} : { maxDevices: opts.mdpyMaxDevices });
    case 'mbochs':
      return mbochsRegister(host, opts.mbochsMaxMbytes === undefined ? {} : { maxMbytes: opts.mbochsMaxMbytes });
    default:
      throw new VfioError('ENODEV', `no mdev sample '${name}'`);
  }
}

/** Several sample inits in order (all three by default); a failure unwinds the ones done. */
export async function mdevRegisterSamples(
  host: Host,
  names: readonly string[] = MDEV_SAMPLE_NAMES,
  opts: MdevSampleOptions = {},
): Promise<MdevSample[]> {
  const done: MdevSample[] = [];
  try {
    for (const name of names) done.push(mdevRegisterSampleByName(host, name, opts));
  } catch (err) {
    for (const s of done.reverse()) await s.unregister();
    throw err;
  }
  return done;
}

/** The module exits, in reverse order of init. */
export async function mdevUnregisterSamples(samples: readonly MdevSample[]): Promise<void> {
  for (const s of [...samples].reverse()) await s.unregister();
}
