// The simulated DPAA2 management complex `serve` runs (the config's `machine.fslMc`) as one bus of the machine:
// built and probed at start (the root DPRC scanned by fsl_mc_dprc), its devices bound like any other.
import type { Device } from '../base/device.js';
import type { Host } from '../base/host.js';
import type { Logger } from '../base/log.js';
import { fslMcPendingRemoval } from '../hw/fsl-mc/fsl-mc-bus.js';
import { FslMcDevice } from '../hw/fsl-mc/fsl-mc-device.js';
import { fslMcBuildMachine } from '../hw/fsl-mc/machine-spec.js';
import type { FslMcConfig } from '../hw/fsl-mc/machine-spec.js';
import type { MachineBus } from './machine.js';

export function fslMcMachineBus(host: Host, config: FslMcConfig, log: Logger): MachineBus {
  const built = fslMcBuildMachine(host, config, log);
  return {
    name: 'fsl-mc',
    title: 'fsl-mc',
    devices: () => built.devices(),
    // The object type, as the device's name starts (dprc, dpni, dpio...).
    model: (dev: Device) => (dev instanceof FslMcDevice ? dev.name.replace(/\.\d+$/, '') : ''),
    pendingRemoval: (dev: Device) => (dev instanceof FslMcDevice ? fslMcPendingRemoval(dev) : Promise.resolve()),
    close: () => built.remove(),
  };
}
