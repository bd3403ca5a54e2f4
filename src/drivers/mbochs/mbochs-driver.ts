// mbochs's mdev driver and module init (mbochs.c mbochs_driver, mbochs_dev_init/exit): the driver keeps the
// memory budget (get_available = remaining MB / type MB), and a create past it fails in init with ENOSPC.
import type { Host } from '../../base/host.js';
import type { MdevDriver, MdevType } from '../../mdev/mdev-objects.js';
import { mdevVfioDriver } from '../../mdev/mdev-vfio.js';
import { mdevRegisterSample } from '../../mdev/sample-parent.js';
import type { MdevSample } from '../../mdev/sample-parent.js';
import { MBOCHS_TYPES, MbochsBudget, mbochsType } from './mbochs-defs.js';
import { mbochsCreate } from './mbochs.js';

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
    create: (mdev, type) => mbochsCreate(mdev, mbochsType(type.sysfsName), budget),
  });
}

/** mbochs_dev_init(): `/sys/devices/virtual/mbochs/mbochs` with types mbochs-small, -medium, -large. */
export function mbochsRegister(host: Host, opts: MbochsDriverOptions = {}): MdevSample {
  return mdevRegisterSample(host, 'mbochs', mbochsMdevDriver(new MbochsBudget(opts.maxMbytes)), MBOCHS_TYPES);
}
