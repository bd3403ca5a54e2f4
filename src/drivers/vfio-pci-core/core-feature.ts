// VFIO_DEVICE_FEATURE for vfio-pci devices (drivers/vfio/pci/vfio_pci_core.c vfio_pci_core_ioctl_feature): the
// features the core answers after the VFIO core took migration and DMA logging; ENOTTY for the rest.
import { VfioError } from '../../uapi/errno.js';
import { VFIO_DEVICE_FEATURE_PCI_VF_TOKEN, vfioDeviceFeatureId } from '../../uapi/feature.js';
import type { VfioPciCoreDevice } from './core-device.js';
import { vfioPciCoreFeatureToken } from './sriov.js';

type FeatureHandler = (vdev: VfioPciCoreDevice, flags: number, data: Uint8Array) => number;

const FEATURES: ReadonlyMap<number, FeatureHandler> = new Map<number, FeatureHandler>([[VFIO_DEVICE_FEATURE_PCI_VF_TOKEN, vfioPciCoreFeatureToken]]);

/** vfio_pci_core_ioctl_feature() (ops.deviceFeature): `data` is the payload after struct vfio_device_feature. */
export function vfioPciCoreIoctlFeature(vdev: VfioPciCoreDevice, flags: number, data: Uint8Array): number {
  const handler = FEATURES.get(vfioDeviceFeatureId(flags));
  if (handler === undefined) throw new VfioError('ENOTTY', `device feature ${vfioDeviceFeatureId(flags)}`);
  return handler(vdev, flags, data);
}
