// mtty's mdev driver, module init and registry descriptor (mtty.c mtty_driver, mtty_dev_init/exit): the
// host's shared port budget decides available instances; each create is mttyCreate of the new mdev.
import type { Host } from '../../base/host.js';
import type { MdevDriver } from '../../mdev/mdev-objects.js';
import { mdevVfioDriver } from '../../mdev/mdev-vfio.js';
import { mdevRegisterSample } from '../../mdev/sample-parent.js';
import type { MdevSample } from '../../mdev/sample-parent.js';
import { sampleModule } from '../descriptor.js';
import type { VfioDriverDescriptor } from '../descriptor.js';
import { mttyCreate } from './mtty.js';
import { mttyConfigKeys } from './mtty-params.js';
import { MTTY_TYPES, mttyAvailableInstances, mttyType } from './mtty-types.js';

/** The mtty mdev driver (struct mdev_driver mtty_driver) of `host`. */
export function mttyMdevDriver(host: Host): MdevDriver {
  return mdevVfioDriver({
    name: 'mtty',
    getAvailable: (type) => mttyAvailableInstances(host, mttyType(type.sysfsName)),
    create: (mdev) => mttyCreate(mdev),
  });
}

/** mtty_dev_init(): `/sys/devices/virtual/mtty/mtty` with types mtty-1 and mtty-2. */
export function mttyRegister(host: Host): MdevSample {
  return mdevRegisterSample(host, 'mtty', mttyMdevDriver(host), MTTY_TYPES);
}

/** The registry's entry for mtty. */
export const driver: VfioDriverDescriptor = Object.freeze({
  name: 'mtty',
  bus: 'mdev',
  summary: 'virtual PCI serial card with one or two 16550A UARTs (samples/vfio-mdev/mtty.c)',
  config: mttyConfigKeys,
  guestHint:
    "the guest's 8250_pci driver binds 4348:3253, one ttyS per port after the legacy ones (boot the guest with " +
    '8250.nr_uarts=8: most kernels register only 4 UARTs); find them with: dmesg | grep 16550A; ' +
    'the default loopback backend echoes what the guest writes',
  register: (host: Host) => sampleModule(mttyRegister(host)),
});
