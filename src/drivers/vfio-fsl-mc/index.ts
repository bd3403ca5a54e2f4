// The vfio-fsl-mc driver's public surface and its registry descriptor: a VFIO driver on the fsl-mc bus. Its module
// registers the `vfio-fsl-mc` fsl-mc driver; a serve config entry `{"driver": "vfio-fsl-mc", "device": "dprc.2"}`
// binds that DPRC to it (its objects follow, by driver_override) and exports the VFIO devices.
import { z } from 'zod';
import type { Host } from '../../base/host.js';
import { intRange } from '../../base/config-schema.js';
import type { DriverParams, VfioDriverDescriptor } from '../descriptor.js';
import { parseParams } from '../params.js';
import { VFIO_FSL_MC_DRIVER, vfioFslMcRegister } from './vfio-fsl-mc.js';

export { VFIO_FSL_MC_DRIVER, vfioFslMcDeviceOf, vfioFslMcOps, vfioFslMcRegister } from './vfio-fsl-mc.js';
export type { VfioFslMcModule, VfioFslMcOptions } from './vfio-fsl-mc.js';
export { VfioFslMcDevice, VFIO_FSL_MC_OFFSET_SHIFT, vfioFslMcIndexToOffset } from './vfio-fsl-mc-private.js';

const vfioFslMcModuleOptions = z.strictObject({
  requestIntervalMs: intRange(1, 3_600_000).optional().describe('milliseconds between request steps while an unbind waits for users (default 10000, as the kernel)'),
});

/** The registry's entry for vfio-fsl-mc. */
export const driver: VfioDriverDescriptor = Object.freeze({
  name: VFIO_FSL_MC_DRIVER,
  bus: 'fsl-mc',
  busDriver: VFIO_FSL_MC_DRIVER,
  summary: 'DPAA2 objects of a DPRC on the simulated fsl-mc bus, the container as the device set (drivers/vfio/fsl-mc/vfio_fsl_mc.c)',
  module: { shape: () => vfioFslMcModuleOptions.shape },
  guestHint: "fsl-mc devices are not PCI: QEMU's vfio-user-pci cannot attach them; drive them with the TypeScript vfio-user client (or DPDK's fslmc bus on the uAPI)",
  register: (host: Host, options: DriverParams) => {
    const { requestIntervalMs } = parseParams(vfioFslMcModuleOptions, options, 'vfio-fsl-mc module');
    const m = vfioFslMcRegister(host, requestIntervalMs === undefined ? {} : { requestIntervalMs });
    return { name: VFIO_FSL_MC_DRIVER, parents: () => [], unregister: () => m.unregister() };
  },
});
