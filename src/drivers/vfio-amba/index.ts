// The vfio-amba driver's public surface and its registry descriptor: an AMBA-bus VFIO driver. Its module registers
// the `vfio-amba` AMBA driver (module option requestIntervalMs; the kernel's vfio-amba has no reset_required: it
// never requires a reset); devices bind to it by driver_override.
import { z } from 'zod';
import type { Host } from '../../base/host.js';
import { intRange } from '../../base/config-schema.js';
import type { DriverParams, VfioDriverDescriptor } from '../descriptor.js';
import { parseParams } from '../params.js';
import { vfioAmbaRegister } from './vfio-amba.js';

export { vfioAmbaDeviceOf, vfioAmbaOps, vfioAmbaRegister } from './vfio-amba.js';
export type { VfioAmbaModule, VfioAmbaOptions } from './vfio-amba.js';

const vfioAmbaModuleOptions = z.strictObject({
  requestIntervalMs: intRange(1, 3_600_000).optional().describe("milliseconds between the core's requests while an unbind waits for users (default 10000)"),
});

/** The registry's entry for vfio-amba. */
export const driver: VfioDriverDescriptor = Object.freeze({
  name: 'vfio-amba',
  bus: 'amba',
  busDriver: 'vfio-amba',
  summary: 'an AMBA PrimeCell device of the simulated SoC, passed through (drivers/vfio/platform/vfio_amba.c)',
  module: { shape: () => vfioAmbaModuleOptions.shape },
  guestHint: "QEMU's vfio-user client is PCI-only: drive AMBA devices with the TypeScript client or through the uAPI",
  register: (host: Host, options: DriverParams) => {
    const o = parseParams(vfioAmbaModuleOptions, options, 'vfio-amba module');
    const m = vfioAmbaRegister(host, o.requestIntervalMs !== undefined ? { requestIntervalMs: o.requestIntervalMs } : {});
    return { name: 'vfio-amba', parents: () => [], unregister: () => m.unregister() };
  },
});
