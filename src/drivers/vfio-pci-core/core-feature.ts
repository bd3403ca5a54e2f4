// VFIO_DEVICE_FEATURE for vfio-pci devices (drivers/vfio/pci/vfio_pci_core.c vfio_pci_core_ioctl_feature): the
// features the core answers after the VFIO core took migration and DMA logging (low power, the VF token); ENOTTY
// for the rest.
import { VfioError } from '../../uapi/errno.js';
import {
  VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY,
  VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP,
  VFIO_DEVICE_FEATURE_LOW_POWER_EXIT,
  VFIO_DEVICE_FEATURE_PCI_VF_TOKEN,
  vfioDeviceFeatureId,
} from '../../uapi/feature.js';
import { vfioPciCorePmEntry, vfioPciCorePmEntryWithWakeup, vfioPciCorePmExit, vfioPciPmRuntimeCall } from './low-power.js';
import type { VfioPciCoreDevice } from './core-device.js';
import { vfioPciCoreFeatureToken } from './sriov.js';

type FeatureHandler = (vdev: VfioPciCoreDevice, flags: number, data: Uint8Array) => number;

const FEATURES: ReadonlyMap<number, FeatureHandler> = new Map<number, FeatureHandler>([
  [VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY, vfioPciCorePmEntry],
  [VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP, vfioPciCorePmEntryWithWakeup],
  [VFIO_DEVICE_FEATURE_LOW_POWER_EXIT, vfioPciCorePmExit],
  [VFIO_DEVICE_FEATURE_PCI_VF_TOKEN, vfioPciCoreFeatureToken],
]);

/**
 * vfio_pci_core_ioctl_feature() (ops.deviceFeature): `data` is the payload after struct vfio_device_feature. The
 * ioctl holds the device awake as vfio_device_fops_unl_ioctl's runtime PM get/put does.
 */
export function vfioPciCoreIoctlFeature(vdev: VfioPciCoreDevice, flags: number, data: Uint8Array): number {
  const handler = FEATURES.get(vfioDeviceFeatureId(flags));
  if (handler === undefined) throw new VfioError('ENOTTY', `device feature ${vfioDeviceFeatureId(flags)}`);
  return vfioPciPmRuntimeCall(vdev, () => handler(vdev, flags, data));
}
