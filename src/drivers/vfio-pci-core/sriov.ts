// SR-IOV under vfio-pci (drivers/vfio/pci/vfio_pci_core.c vfio_pci_vf_init/uninit, vfio_pci_bus_notifier,
// vfio_pci_validate_vf_token, vfio_pci_vf_token_user_add, vfio_pci_core_sriov_configure,
// vfio_pci_core_feature_token): a PF bound to a vfio-pci driver holds a VF token (a UUID its user sets with
// VFIO_DEVICE_FEATURE_PCI_VF_TOKEN); VFs it creates are steered to the same driver, and their users must present
// the PF's token in the device name ("0000:01:00.1 vf_token=<uuid>"), proving they collaborate with the PF's user.
import { randomUUID } from 'node:crypto';
import type { BusNotifier } from '../../base/bus.js';
import { pciBusType } from '../../hw/pci/pci-bus-type.js';
import { PciDev } from '../../hw/pci/pci-dev.js';
import { pciDisableSriov, pciEnableSriov } from '../../hw/pci/iov.js';
import { VfioError } from '../../uapi/errno.js';
import { VFIO_DEVICE_FEATURE_SET, vfioCheckFeature } from '../../uapi/feature.js';
import { opsOf } from '../../vfio/vfio-device.js';
import { VfioPciCoreDevice, pdevOf } from './core-device.js';
import { PCI_D0, vfioPciSetPowerState } from './power.js';

/** struct vfio_pci_vf_token: the PF's token and how many VF devices are open. */
export interface VfioPciVfToken {
  uuid: string;
  users: number;
}

/** sizeof(uuid_t). */
const UUID_SIZE = 16;

/** A UUID's 16 bytes in the string form uuid_parse reads (lower case). */
export function uuidFromBytes(b: Uint8Array): string {
  const hex = Array.from(b.subarray(0, UUID_SIZE), (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The PF vfio-pci device a VF's device answers to, when the PF made its VFs through vfio (sriov_pf_core_dev). */
function sriovPfOf(pdev: PciDev): VfioPciCoreDevice | null {
  const pf = pdev.physfn?.driverData;
  return pf instanceof VfioPciCoreDevice && pf.sriovPfsItem ? pf : null;
}

/**
 * vfio_pci_vf_init() (from register): a VF finds the vfio-pci PF that created it; a PF gets a fresh random token
 * and a bus notifier that sets driver_override on each VF it adds to this driver's name (vfio_pci_bus_notifier).
 */
export function vfioPciVfInit(vdev: VfioPciCoreDevice): void {
  const pdev = pdevOf(vdev);
  if (pdev.isVirtfn) {
    vdev.sriovPfCoreDev = sriovPfOf(pdev);
    return;
  }
  if (pdev.sriov === null || pdev.host === null) return;
  vdev.vfToken = { uuid: randomUUID(), users: 0 };
  const name = opsOf(vdev).name;
  const nb: BusNotifier = (action, dev) => {
    if (action === 'add-device' && dev instanceof PciDev && dev.isVirtfn && dev.physfn === pdev) {
      pdev.host?.logger.info({ device: pdev.bdf, vf: dev.bdf }, 'captured SR-IOV VF driver_override');
      dev.driverOverride = name;
    }
  };
  vdev.busNotifier = nb;
  pciBusType(pdev.host).notifiers.add(nb);
}

/** vfio_pci_vf_uninit() (from unregister): balances vfioPciVfInit. */
export function vfioPciVfUninit(vdev: VfioPciCoreDevice): void {
  const pdev = pdevOf(vdev);
  vdev.sriovPfCoreDev = null;
  if (vdev.vfToken === null) return;
  if (vdev.busNotifier !== null && pdev.host !== null) pciBusType(pdev.host).notifiers.delete(vdev.busNotifier);
  vdev.busNotifier = null;
  if (vdev.vfToken.users !== 0) pdev.host?.logger.warn({ device: pdev.bdf, users: vdev.vfToken.users }, 'VF token still has users');
  vdev.vfToken = null;
}

/** vfio_pci_vf_token_user_add(): a VF device of a vfio-pci PF opened (+1) or closed (-1). */
export function vfioPciVfTokenUserAdd(vdev: VfioPciCoreDevice, val: 1 | -1): void {
  const pf = vdev.sriovPfCoreDev;
  if (!pdevOf(vdev).isVirtfn || pf === null || pf.vfToken === null) return;
  pf.vfToken.users += val;
}

/**
 * vfio_pci_validate_vf_token(): `token` is the vf_token the device name carried (null: none). A VF of a vfio-pci PF
 * needs the PF's token (EACCES); a token for a VF whose PF is not vfio's is EINVAL. A PF whose VFs are in use needs
 * the current token (EACCES); a PF without VF users takes the token given as its new token. A token for anything
 * else is EINVAL.
 */
export function vfioPciValidateVfToken(vdev: VfioPciCoreDevice, token: string | null): void {
  const pdev = pdevOf(vdev);
  if (pdev.isVirtfn) {
    const pf = vdev.sriovPfCoreDev;
    if (pf === null || pf.vfToken === null) {
      if (token === null) return;
      throw new VfioError('EINVAL', 'VF token incorrectly provided, PF not bound to vfio-pci');
    }
    if (token === null) throw new VfioError('EACCES', 'VF token required to access device');
    if (token !== pf.vfToken.uuid) throw new VfioError('EACCES', 'Incorrect VF token provided for device');
    return;
  }
  const own = vdev.vfToken;
  if (own !== null) {
    if (own.users > 0) {
      if (token === null) throw new VfioError('EACCES', 'VF token required to access device');
      if (token !== own.uuid) throw new VfioError('EACCES', 'Incorrect VF token provided for device');
    } else if (token !== null) {
      own.uuid = token;
    }
    return;
  }
  if (token !== null) throw new VfioError('EINVAL', 'VF token incorrectly provided, not a PF or VF');
}

/**
 * vfio_pci_core_sriov_configure(): `n` VFs enabled (EINVAL if this PF already enabled them through vfio), with the
 * PF in D0 first; 0 disables them (each VF's driver is waited for). Resolves to the number of VFs.
 */
export async function vfioPciCoreSriovConfigure(vdev: VfioPciCoreDevice, n: number): Promise<number> {
  const pdev = pdevOf(vdev);
  if (n !== 0) {
    if (vdev.sriovPfsItem) throw new VfioError('EINVAL', `${pdev.bdf}: SR-IOV already enabled through vfio-pci`);
    vdev.sriovPfsItem = true;
    try {
      vfioPciSetPowerState(vdev, PCI_D0);
      await pciEnableSriov(pdev, n);
    } catch (err) {
      vdev.sriovPfsItem = false;
      throw err;
    }
    return n;
  }
  if ((pdev.sriov?.numVfs ?? 0) > 0) await pciDisableSriov(pdev);
  vdev.sriovPfsItem = false;
  return 0;
}

/** vfio_pci_core_feature_token(): SET only (a GET would expose the previous user's token); ENOTTY unless a PF. */
export function vfioPciCoreFeatureToken(vdev: VfioPciCoreDevice, flags: number, data: Uint8Array): number {
  const own = vdev.vfToken;
  if (own === null) throw new VfioError('ENOTTY', 'not an SR-IOV PF');
  if (vfioCheckFeature(flags, data.length, VFIO_DEVICE_FEATURE_SET, UUID_SIZE) !== 1) return 0;
  own.uuid = uuidFromBytes(data);
  return 0;
}
