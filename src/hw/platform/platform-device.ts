// Platform devices made from device-tree nodes (drivers/of/platform.c of_platform_device_create_pdata,
// drivers/base/platform.c platform_device_unregister): `/sys/bus/platform/devices/<addr>.<name>`.
import type { Host } from '../../base/host.js';
import { mmioDeviceAdd, mmioDeviceRemove } from './device-add.js';
import type { MmioHw, OfNode } from './mmio-device.js';
import { PlatformDevice, platformBusType, platformDevAttrs } from './platform-bus.js';

/** Creates the platform device `node` describes, with `hw` behind its windows; a matching driver binds at once. */
export function platformDeviceRegister(host: Host, node: OfNode, hw: MmioHw): PlatformDevice {
  const pdev = new PlatformDevice();
  mmioDeviceAdd(host, platformBusType(host), pdev, node, hw, [platformDevAttrs], 'platform_device');
  return pdev;
}

/** platform_device_unregister(): resolves once the driver's remove (which may wait for users) has finished. */
export function platformDeviceUnregister(pdev: PlatformDevice): Promise<void> {
  return mmioDeviceRemove(pdev);
}
