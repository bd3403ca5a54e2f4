// Adding and removing a firmware-described device (drivers/of/platform.c of_platform_device_create_pdata,
// drivers/base/platform.c platform_device_add/platform_device_unregister, drivers/iommu/of_iommu.c): the node's
// windows become resources and its interrupts lines, the device gets its sysfs node under `/sys/devices/platform`,
// an IOMMU group of its own (each device sits behind its own SMMU stream here), and then joins its bus, where a
// driver may bind it. Shared by the platform and AMBA buses.
import type { Bus } from '../../base/bus.js';
import { busAddDevice } from '../../base/bus.js';
import { deviceAttach } from '../../base/dd.js';
import type { Device } from '../../base/device.js';
import { deviceAdd, deviceDel, deviceInitialize, putDevice } from '../../base/device.js';
import type { Host } from '../../base/host.js';
import { iommuGroupAddDevice, iommuGroupAlloc, iommuGroupPut, iommuGroupRemoveDevice } from '../../base/iommu-group.js';
import type { SysfsAttrTable } from '../../base/sysfs.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { VfioError } from '../../uapi/errno.js';
import { IrqLine } from './irq-line.js';
import { IORESOURCE_MEM, ofDeviceMakeBusId } from './mmio-device.js';
import type { MmioDevice, MmioHw, OfNode } from './mmio-device.js';
import { ofNodeAttrs, platformRootDevice } from './platform-bus.js';
import { pendingRemoval } from './pending-remove.js';

/** Checks a node as the kernel's OF parsing would reject it: EINVAL naming what is wrong. */
export function checkOfNode(node: OfNode): void {
  if (!/^[A-Za-z0-9,._+-]+$/.test(node.name)) throw new VfioError('EINVAL', `bad node name ${JSON.stringify(node.name)}`);
  if (node.compatible.length === 0) throw new VfioError('EINVAL', `${node.name}: no compatible string`);
  for (const r of node.reg) {
    if (!Number.isSafeInteger(r.base) || r.base < 0 || !Number.isSafeInteger(r.size) || r.size <= 0) {
      throw new VfioError('EINVAL', `${node.name}: bad reg {base: ${r.base}, size: ${r.size}}`);
    }
  }
}

/**
 * Builds `dev` from `node` with `hw` behind it and adds it to `bus` (a matching driver may bind at once). The caller
 * made `dev` and holds its reference; `groups` are the bus's device attributes. Unwinds on failure.
 */
export function mmioDeviceAdd(host: Host, bus: Bus, dev: MmioDevice, node: OfNode, hw: MmioHw, groups: readonly SysfsAttrTable<Device>[], kind: string): void {
  checkOfNode(node);
  dev.name = ofDeviceMakeBusId(node);
  if (bus.find(dev.name) !== undefined) throw new VfioError('EEXIST', `${bus.name} device ${dev.name} exists`);
  dev.ofNode = node;
  dev.resources = node.reg.map((r, window) => ({ start: r.base, size: r.size, flags: IORESOURCE_MEM, window }));
  dev.irqLines = node.interrupts.map((i) => new IrqLine(i.line, i.trigger));
  dev.hw = hw;
  hw.connectIrqs(dev.irqLines);
  sanitizer.track(dev, kind, dev.name);
  deviceInitialize(dev, host);
  dev.release = (d) => sanitizer.free(d);
  dev.parent = platformRootDevice(host);
  dev.groups = [...groups];
  try {
    deviceAdd(dev);
  } catch (err) {
    // Balances deviceInitialize: the release frees it.
    putDevice(dev);
    throw err;
  }
  if (dev.kobj !== null) host.sysfs.mkdir(dev.kobj, 'of_node', dev, ofNodeAttrs);
  const group = iommuGroupAlloc(host);
  try {
    iommuGroupAddDevice(group, dev);
  } finally {
    // The device holds its own reference now.
    iommuGroupPut(group);
  }
  // bus_add_device(), then bus_probe_device(): a matching driver may bind.
  dev.bus = bus;
  if (busAddDevice(dev)) deviceAttach(dev);
}

/**
 * The opposite of mmioDeviceAdd: the driver is unbound (its remove may wait for users: awaited here), the node
 * leaves sysfs, the IOMMU group and the bus, and the initial reference is dropped.
 */
export async function mmioDeviceRemove(dev: MmioDevice): Promise<void> {
  sanitizer.assertLive(dev, 'mmioDeviceRemove');
  deviceDel(dev);
  await pendingRemoval(dev);
  iommuGroupRemoveDevice(dev);
  // Balances deviceInitialize in mmioDeviceAdd.
  putDevice(dev);
}
