// The device-tree described buses `serve` runs (the config's `machine.platform` and `machine.amba`) as buses of
// the machine: their devices built from the nodes at start, bound like any other.
import type { Device } from '../base/device.js';
import type { Host } from '../base/host.js';
import type { Logger } from '../base/log.js';
import { ambaBuildFromConfig } from '../hw/amba/machine-spec.js';
import type { AmbaNodeConfig } from '../hw/amba/machine-spec.js';
import { platformBuildFromConfig } from '../hw/platform/machine-spec.js';
import type { PlatformNodeConfig } from '../hw/platform/machine-spec.js';
import { devicePropertyReadCompatible } from '../hw/platform/mmio-device.js';
import { pendingRemoval } from '../hw/platform/pending-remove.js';
import type { MachineBus } from './machine.js';

function mmioBus(name: 'platform' | 'amba', title: string, built: { devices(): readonly Device[]; remove(): Promise<void> }): MachineBus {
  return {
    name,
    title,
    devices: () => built.devices(),
    // The node's first compatible string (the model), as `of_node/compatible` shows it.
    model: (dev: Device) => devicePropertyReadCompatible(dev) ?? '',
    pendingRemoval: (dev: Device) => pendingRemoval(dev),
    close: () => built.remove(),
  };
}

export async function platformMachineBus(host: Host, nodes: readonly PlatformNodeConfig[], log: Logger): Promise<MachineBus> {
  return mmioBus('platform', 'platform', await platformBuildFromConfig(host, nodes, log));
}

export async function ambaMachineBus(host: Host, nodes: readonly AmbaNodeConfig[], log: Logger): Promise<MachineBus> {
  return mmioBus('amba', 'AMBA', await ambaBuildFromConfig(host, nodes, log));
}
