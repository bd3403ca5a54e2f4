// mbochs's mdev driver, module init and registry descriptor (mbochs.c mbochs_driver, mbochs_dev_init/exit): the
// module keeps the memory budget (get_available = remaining MB / type MB); a create past it fails in init with ENOSPC.
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
import { MBOCHS_TYPES, MbochsBudget, mbochsDropBudget, mbochsSetBudget, mbochsType } from './mbochs-defs.js';
import { MbochsState, mbochsCreate, screenshot } from './mbochs.js';

export interface MbochsDriverOptions {
  /** The memory all mbochs devices of the host share, in MB (module parameter). Default 256. */
  readonly maxMbytes?: number;
}

/** The mbochs mdev driver over `budget`. */
export function mbochsMdevDriver(budget: MbochsBudget): MdevDriver {
  return mdevVfioDriver({
    name: 'mbochs',
    getAvailable: (type: MdevType) => budget.availableInstances(mbochsType(type.sysfsName)),
    showDescription: (type: MdevType) => `virtual display, ${mbochsType(type.sysfsName).mbytes} MB video memory\n`,
    create: (mdev) => mbochsCreate(mdev),
  });
}

/** mbochs_dev_init(): `/sys/devices/virtual/mbochs/mbochs` with types mbochs-small, -medium, -large. */
export function mbochsRegister(host: Host, opts: MbochsDriverOptions = {}): MdevSample {
  const budget = new MbochsBudget(opts.maxMbytes);
  const sample = mdevRegisterSample(host, 'mbochs', mbochsMdevDriver(budget), MBOCHS_TYPES);
  mbochsSetBudget(host, budget);
  return {
    ...sample,
    unregister: async () => {
      await sample.unregister();
      // Balances mbochsSetBudget: every mbochs device is gone.
      mbochsDropBudget(host);
    },
  };
}

/** The module's parameter: `count`, the video memory all mbochs devices share in MB (mbochs.c module_param_named(count, ...)). */
const mbochsModuleOptions = z.strictObject({
  count: intRange(1, 65536).optional().describe('MB of video memory all mbochs devices share (module parameter count, default 256)'),
});

/** The registry's entry for mbochs. */
export const driver: VfioDriverDescriptor = Object.freeze({
  name: 'mbochs',
  bus: 'mdev',
  summary: 'bochs dispi display 1234:1111 with an EDID region (samples/vfio-mdev/mbochs.c)',
  guestHint: "the guest's bochs-drm driver binds 1234:1111; try: modprobe bochs, then look at /dev/dri/card*",
  module: { shape: () => mbochsModuleOptions.shape },
  register: (host: Host, options: DriverParams) => {
    const { count } = parseParams(mbochsModuleOptions, options, 'mbochs module');
    return sampleModule(mbochsRegister(host, count === undefined ? {} : { maxMbytes: count }));
  },
  screenshot: (dev: VfioDevice) => {
    if (!(dev instanceof MbochsState)) throw new VfioError('EINVAL', `${dev.name} is not an mbochs device`);
    return screenshot(dev);
  },
});
