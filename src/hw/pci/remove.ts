// Removing PCI functions (drivers/pci/remove.c pci_stop_and_remove_bus_device) and the `remove` file:
// children first, the driver unbound (its remove awaited: it may wait for users), then out of the
// IOMMU group and the bus, and the last put.
import { deviceDel, hostOf, putDevice } from '../../base/device.js';
import type { Device } from '../../base/device.js';
import { iommuGroupRemoveDevice } from '../../base/iommu-group.js';
import type { SysfsAttrTable } from '../../base/sysfs.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { pciPendingRemoval } from './pci-bus-type.js';
import type { PciDev } from './pci-dev.js';
import { pciWriteOnlyAttr } from './pci-sysfs.js';
import { pciDestroySlot } from './slot.js';
import { kstrtoulMax } from '../../base/kstrtox.js';

const removals = new WeakMap<PciDev, Promise<void>>();

async function stopAndRemove(pdev: PciDev): Promise<void> {
  const host = hostOf(pdev);
  const sub = pdev.subordinate;
  if (sub !== null) {
    for (const child of [...sub.devices].reverse()) await pciStopAndRemoveBusDevice(child);
    for (const slot of [...sub.slots.values()]) pciDestroySlot(host, slot);
  }
  // Unbinds the driver (its remove starts) and takes the node out of sysfs.
  deviceDel(pdev);
  await pciPendingRemoval(pdev);
  const sriov = pdev.sriov;
  if (sriov !== null && sriov.numVfs > 0) {
    host.logger.warn({ device: pdev.bdf }, 'driver left SR-IOV enabled after remove');
    await sriov.disable();
  }
  iommuGroupRemoveDevice(pdev);
  const list = pdev.pciBus.devices;
  const i = list.indexOf(pdev);
  if (i >= 0) list.splice(i, 1);
  if (sub !== null && sub.parent !== null) {
    const j = sub.parent.children.indexOf(sub);
    if (j >= 0) sub.parent.children.splice(j, 1);
  }
  // Balances deviceInitialize in pciScanDevice.
  putDevice(pdev);
}

/**
 * pci_stop_and_remove_bus_device(): resolves once the function (and everything below a bridge) is gone.
 * The node leaves sysfs at once; a second call while one is under way returns the same promise.
 */
export function pciStopAndRemoveBusDevice(pdev: PciDev): Promise<void> {
  sanitizer.assertLive(pdev, 'pciStopAndRemoveBusDevice');
  const under = removals.get(pdev);
  if (under !== undefined) return under;
  const done = stopAndRemove(pdev);
  removals.set(pdev, done);
  return done;
}

/** Resolves when a removal of `pdev` (through `remove` or the API) has finished; at once if none started. */
export function pciWaitRemoved(pdev: PciDev): Promise<void> {
  return removals.get(pdev) ?? Promise.resolve();
}

/** remove_store(): any non-zero number removes the function (the removal finishes asynchronously). */
export const pciRemoveAttrs: SysfsAttrTable<Device> = Object.freeze({
  remove: pciWriteOnlyAttr((pdev, value) => {
    if (kstrtoulMax(value) === 0) return;
    pciStopAndRemoveBusDevice(pdev).catch((err: unknown) => {
      hostOf(pdev).logger.error({ device: pdev.bdf, err: String(err) }, 'pci remove failed');
    });
  }),
});
