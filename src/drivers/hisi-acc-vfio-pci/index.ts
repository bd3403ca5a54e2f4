// The hisi-acc-vfio-pci driver's public surface and its registry descriptor: a PCI-bus VFIO variant driver for the
// HiSilicon ZIP/SEC/HPRE VFs, migration-capable when the VF's PF driver is there. Its module registers the
// `hisi_acc_vfio_pci` PCI driver (and the PF drivers it depends on); a config entry binds a VF to it by driver_override.
import { z } from 'zod';
import type { Host } from '../../base/host.js';
import { intRange } from '../../base/config-schema.js';
import type { DriverParams, VfioDriverDescriptor } from '../descriptor.js';
import { parseParams } from '../params.js';
import { hisiAccVfioPciRegister } from './hisi-acc-vfio-pci.js';

export { hisiAccDeviceOf, hisiAccGetPfQm, hisiAccVfioPciMigrnOps, hisiAccVfioPciOps, hisiAccVfioPciRegister } from './hisi-acc-vfio-pci.js';
export type { HisiAccVfioPciModule, HisiAccVfioPciOptions } from './hisi-acc-vfio-pci.js';
export { ACC_DEV_MAGIC, HisiAccVfCoreDevice, QM_MATCH_SIZE, VF_DATA } from './hisi-acc-device.js';

const moduleOptions = z.strictObject({
  requestIntervalMs: intRange(1, 600_000)
    .optional()
    .describe('milliseconds between the requests a remove sends to the user of an open device (default 10000, the kernel\'s)'),
});

/** The registry's entry for hisi-acc-vfio-pci. */
export const driver: VfioDriverDescriptor = Object.freeze({
  name: 'hisi-acc-vfio-pci',
  bus: 'pci',
  busDriver: 'hisi_acc_vfio_pci',
  summary: 'HiSilicon ZIP/SEC/HPRE accelerator VFs with live migration (drivers/vfio/pci/hisilicon/hisi_acc_vfio_pci.c on vfio-pci-core)',
  module: { shape: () => moduleOptions.shape },
  guestHint: "the guest's hisi_zip / hisi_sec2 / hisi_hpre VF driver binds the VF's ids",
  register: (host: Host, options: DriverParams) => {
    const { requestIntervalMs } = parseParams(moduleOptions, options, 'hisi-acc-vfio-pci module');
    const m = hisiAccVfioPciRegister(host, requestIntervalMs === undefined ? {} : { requestIntervalMs });
    return { name: 'hisi-acc-vfio-pci', parents: () => [], unregister: () => m.unregister() };
  },
});
