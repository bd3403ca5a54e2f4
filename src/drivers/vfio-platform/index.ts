// The vfio-platform driver's public surface and its registry descriptor: a platform-bus VFIO driver. Its module
// registers the `vfio-platform` platform driver (module options reset_required, requestIntervalMs); devices bind to
// it by driver_override, as in the kernel (it has no match table).
import { z } from 'zod';
import type { Host } from '../../base/host.js';
import { intRange } from '../../base/config-schema.js';
import type { DriverParams, VfioDriverDescriptor } from '../descriptor.js';
import { parseParams } from '../params.js';
import { vfioPlatformRegister } from './vfio-platform.js';

export { vfioPlatformDeviceOf, vfioPlatformOps, vfioPlatformRegister } from './vfio-platform.js';
export type { VfioPlatformModule, VfioPlatformOptions } from './vfio-platform.js';

const vfioPlatformModuleOptions = z.strictObject({
  reset_required: z.boolean({ error: (iss) => `must be true or false, got ${JSON.stringify(iss.input)}` }).optional().describe('refuse devices without a reset handler (module parameter reset_required, default true)'),
  requestIntervalMs: intRange(1, 3_600_000).optional().describe("milliseconds between the core's requests while an unbind waits for users (default 10000)"),
});

/** The registry's entry for vfio-platform. */
export const driver: VfioDriverDescriptor = Object.freeze({
  name: 'vfio-platform',
  bus: 'platform',
  busDriver: 'vfio-platform',
  summary: 'a platform device of the simulated SoC, passed through (drivers/vfio/platform/vfio_platform.c)',
  module: { shape: () => vfioPlatformModuleOptions.shape },
  guestHint: "QEMU's vfio-user client is PCI-only: drive platform devices with the TypeScript client or through the uAPI",
  register: (host: Host, options: DriverParams) => {
    const o = parseParams(vfioPlatformModuleOptions, options, 'vfio-platform module');
    const m = vfioPlatformRegister(host, {
      ...(o.reset_required !== undefined ? { resetRequired: o.reset_required } : {}),
      ...(o.requestIntervalMs !== undefined ? { requestIntervalMs: o.requestIntervalMs } : {}),
    });
    return { name: 'vfio-platform', parents: () => [], unregister: () => m.unregister() };
  },
});
