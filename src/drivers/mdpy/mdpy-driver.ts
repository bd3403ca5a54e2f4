// mdpy's mdev driver, module init and registry descriptor (mdpy.c mdpy_driver, mdpy_dev_init/exit): the core
// counts instances (max_instances, default 4, EUSERS past it), each create is mdpyCreate of the new mdev.
import type { Host } from '../../base/host.js';
import type { MdevDriver, MdevType } from '../../mdev/mdev-objects.js';
import { mdevVfioDriver } from '../../mdev/mdev-vfio.js';
import { mdevRegisterSample } from '../../mdev/sample-parent.js';
import type { MdevSample } from '../../mdev/sample-parent.js';
import { VfioError } from '../../uapi/errno.js';
import type { VfioDevice } from '../../vfio/vfio-device.js';
import { z } from 'zod';
import { intRange } from '../../base/config-schema.js';
import { sampleModule } from '../descriptor.js';
import type { DriverParams, VfioDriverDescriptor } from '../descriptor.js';
import { parseParams } from '../params.js';
import { MDPY_MAX_DEVICES, MDPY_TYPES } from './mdpy-defs.js';
import { MdpyState, mdpyCreate, mdpyType, screenshot } from './mdpy.js';

export interface MdpyDriverOptions {
  /** max_instances (the module's `count` parameter). Default 4. */
  readonly maxDevices?: number;
}

/** mdpy_show_description(). */
function mdpyShowDescription(type: MdevType): string {
  const t = mdpyType(type.sysfsName);
  return `virtual display, ${t.width}x${t.height} framebuffer\n`;
}

/** The mdpy mdev driver (struct mdev_driver mdpy_driver). */
export function mdpyMdevDriver(opts: MdpyDriverOptions = {}): MdevDriver {
  return mdevVfioDriver({
    name: 'mdpy',
    maxInstances: opts.maxDevices ?? MDPY_MAX_DEVICES,
    showDescription: mdpyShowDescription,
    create: (mdev) => mdpyCreate(mdev),
  });
}

/** mdpy_dev_init(): `/sys/devices/virtual/mdpy/mdpy` with types mdpy-vga, mdpy-xga, mdpy-hd. */
export function mdpyRegister(host: Host, opts: MdpyDriverOptions = {}): MdevSample {
  return mdevRegisterSample(host, 'mdpy', mdpyMdevDriver(opts), MDPY_TYPES);
}

/** The module's parameter: `count`, the most mdpy devices at once (mdpy.c module_param_named(count, ...)). */
const mdpyModuleOptions = z.strictObject({
  count: intRange(1, 1024).optional().describe('the most mdpy devices at once (module parameter count, default 4)'),
});

/** The registry's entry for mdpy. */
export const driver: VfioDriverDescriptor = Object.freeze({
  name: 'mdpy',
  bus: 'mdev',
  summary: 'mediated framebuffer display 1b36:000f (samples/vfio-mdev/mdpy.c)',
  guestHint: 'the guest sees a 1b36:000f display; the mdpy-fb sample driver binds it (try: cat /dev/urandom > /dev/fb1)',
  module: { shape: () => mdpyModuleOptions.shape },
  register: (host: Host, options: DriverParams) => {
    const { count } = parseParams(mdpyModuleOptions, options, 'mdpy module');
    return sampleModule(mdpyRegister(host, count === undefined ? {} : { maxDevices: count }));
  },
  screenshot: (dev: VfioDevice) => {
    if (!(dev instanceof MdpyState)) throw new VfioError('EINVAL', `${dev.name} is not an mdpy device`);
    return screenshot(dev);
  },
});
