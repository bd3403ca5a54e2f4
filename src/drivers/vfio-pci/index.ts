// The vfio-pci driver's public surface and its registry descriptor: a PCI-bus VFIO driver. Its module registers
// the `vfio-pci` PCI driver (the module parameter `ids` adds an id table); a serve config entry
// `{"driver": "vfio-pci", "device": "0000:00:03.0"}` binds that function to it and exports the VFIO device.
import { z } from 'zod';
import type { Host } from '../../base/host.js';
import type { DriverParams, VfioDriverDescriptor } from '../descriptor.js';
import { parseParams } from '../params.js';
import { vfioPciParseIds, vfioPciRegister } from './vfio-pci.js';

export { vfioPciDeviceOf, vfioPciOps, vfioPciParseIds, vfioPciRegister } from './vfio-pci.js';
export type { VfioPciModule, VfioPciOptions } from './vfio-pci.js';

/** The module parameter `ids`: "vendor:device[:subvendor[:subdevice[:class[:class_mask]]]]", comma separated. */
const vfioPciModuleOptions = z.strictObject({
  ids: z
    .string()
    .refine(
      (ids) => {
        let ok = true;
        vfioPciParseIds(ids, () => (ok = false));
        return ok;
      },
      { error: (iss) => `must be "vendor:device[:subvendor[:subdevice[:class[:class_mask]]]]", comma separated (hex), got ${JSON.stringify(iss.input)}` },
    )
    .optional()
    .describe('PCI ids vfio-pci binds at once (module parameter ids), e.g. "1b36:0002"'),
  enable_sriov: z
    .boolean()
    .optional()
    .describe('let sriov_numvfs of a PF bound to vfio-pci create VFs (module parameter enable_sriov, off by default)'),
  disable_vga: z.boolean().optional().describe('no VGA region for VGA-class functions (module parameter disable_vga, off by default)'),
});

/** The registry's entry for vfio-pci. */
export const driver: VfioDriverDescriptor = Object.freeze({
  name: 'vfio-pci',
  bus: 'pci',
  summary: 'any PCI function of the simulated machine, passed through (drivers/vfio/pci/vfio_pci.c on vfio-pci-core)',
  module: { shape: () => vfioPciModuleOptions.shape },
  guestHint: "the guest's own driver binds the function's ids (for the 1b36:0002 serial card: 8250_pci, with 8250.nr_uarts=8)",
  register: (host: Host, options: DriverParams) => {
    const { ids, enable_sriov: enableSriov, disable_vga: disableVga } = parseParams(vfioPciModuleOptions, options, 'vfio-pci module');
    const m = vfioPciRegister(host, {
      ...(ids === undefined ? {} : { ids }),
      ...(enableSriov === undefined ? {} : { enableSriov }),
      ...(disableVga === undefined ? {} : { disableVga }),
    });
    return { name: 'vfio-pci', parents: () => [], unregister: () => m.unregister() };
  },
});
