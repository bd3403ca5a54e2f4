// The mlx5-vfio-pci driver's public surface and registry descriptor: a PCI-bus VFIO variant driver for ConnectX VFs
// (drivers/vfio/pci/mlx5/) with migration and device dirty tracking. It binds only through driver_override:
// `{"driver": "mlx5-vfio-pci", "device": "0000:00:01.1"}` names a VF of an mlx5 PF in the simulated machine.
import { z } from 'zod';
import type { Host } from '../../base/host.js';
import type { DriverParams, VfioDriverDescriptor } from '../descriptor.js';
import { parseParams } from '../params.js';
import { MLX5_VFIO_PCI_DRIVER, mlx5VfioPciRegister } from './mlx5-vfio-pci.js';

export { MLX5_VFIO_PCI_DRIVER, mlx5VfioPciRegister, mlx5vfDeviceOf, mlx5vfPciOps, mlx5vfPciMigOps, mlx5vfPciMigLogOps } from './mlx5-vfio-pci.js';
export type { Mlx5VfioPciModule, Mlx5VfioPciOptions } from './mlx5-vfio-pci.js';
export { Mlx5VfPciCoreDevice, MLX5VF_MAX_CHUNK_SIZE } from './device.js';
export { mlx5vfCombineRanges } from './cmd.js';

const moduleOptions = z.strictObject({
  requestIntervalMs: z.number().int().min(1).max(600_000).optional().describe('milliseconds between the requests a remove sends to users of an open device (default 10000)'),
  maxChunkSize: z.number().int().min(8192).max(1 << 30).optional().describe('largest buffer one chunked state save fills (MAX_CHUNK_SIZE, default 8 MiB)'),
});

/** The registry's entry for mlx5-vfio-pci. */
export const driver: VfioDriverDescriptor = Object.freeze({
  name: 'mlx5-vfio-pci',
  bus: 'pci',
  busDriver: MLX5_VFIO_PCI_DRIVER,
  summary: 'ConnectX VFs with live migration and dirty page tracking (drivers/vfio/pci/mlx5/ on vfio-pci-core)',
  module: { shape: () => moduleOptions.shape },
  register: (host: Host, options: DriverParams) => {
    const o = parseParams(moduleOptions, options, 'mlx5-vfio-pci module');
    const m = mlx5VfioPciRegister(host, {
      ...(o.requestIntervalMs !== undefined ? { requestIntervalMs: o.requestIntervalMs } : {}),
      ...(o.maxChunkSize !== undefined ? { maxChunkSize: o.maxChunkSize } : {}),
    });
    return { name: 'mlx5-vfio-pci', parents: () => [], unregister: () => m.unregister() };
  },
});
