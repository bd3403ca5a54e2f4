// The life cycle of a vfio-pci-core device (drivers/vfio/pci/vfio_pci_core.c vfio_pci_core_init_dev,
// vfio_pci_core_release_dev, vfio_pci_core_register_device, vfio_pci_core_unregister_device,
// vfio_pci_core_request, vfio_pci_core_match): what a driver built on the core calls from its probe and remove.
import { PciDev } from '../../hw/pci/pci-dev.js';
import { pciResetBus } from '../../hw/pci/reset.js';
import { signalEventfd } from '../../emu/irq-triggers.js';
import { VfioError } from '../../uapi/errno.js';
import { PCI_HEADER_TYPE_MASK, PCI_HEADER_TYPE_NORMAL } from '../../uapi/pci-regs.js';
import { assignDeviceSet } from '../../vfio/device-set.js';
import { vfioPciSetHotResetPort } from '../../vfio/hot-reset.js';
import type { PciResetTarget } from '../../vfio/hot-reset.js';
import { registerGroupDev, unregisterGroupDev } from '../../vfio/registration.js';
import type { UnregisterOptions } from '../../vfio/registration.js';
import { VfioPciCoreDevice, pdevOf } from './core-device.js';
import { vfioPciDevSetResettable } from './core-enable.js';
import { PCI_D0, vfioPciProbePowerState, vfioPciSetPowerState } from './power.js';
import { slotResets, vfioPciResetScope } from './reset-scope.js';
import { vfioPciCoreSriovConfigure, vfioPciValidateVfToken, vfioPciVfInit, vfioPciVfUninit } from './sriov.js';

/** vfio_pci_core_init_dev() (ops.init): the function the device drives is the device's parent. */
export function vfioPciCoreInitDev(vdev: VfioPciCoreDevice): void {
  const dev = vdev.dev;
  if (!(dev instanceof PciDev)) throw new VfioError('EINVAL', 'vfio-pci-core drives PCI functions only');
  vdev.pdev = dev;
  vdev.triggers.type = 'none';
}

/** vfio_pci_core_release_dev() (ops.release): the last use of the device's state. */
export function vfioPciCoreReleaseDev(vdev: VfioPciCoreDevice): void {
  vdev.pmSave = null;
  vdev.pdev = null;
}

/**
 * Which functions a device set is, as vfio_pci_core_register_device() decides: a function on a root bus, or a VF
 * (today's kernel), is alone; else its slot if the slot resets as a whole; else its whole bus, reset or not
 * (a bus reset, when there is one, reaches every function on it).
 */
export function vfioPciDeviceSetId(vdev: VfioPciCoreDevice): unknown {
  const pdev = pdevOf(vdev);
  if (pdev.pciBus.parent === null || pdev.isVirtfn) return vdev;
  if (pdev.slot !== null && slotResets(pdev)) return pdev.slot;
  return pdev.pciBus;
}

/** The function's address as VFIO_DEVICE_GET_PCI_HOT_RESET_INFO reports it. */
const addressOf = (pdev: PciDev): PciResetTarget['address'] => ({ segment: pdev.pciBus.domain, bus: pdev.pciBus.number, devfn: pdev.devfn });

/**
 * vfio_pci_core_register_device(): EINVAL unless the driver set drvdata to this device first and the function has a
 * type 0 header; EBUSY for a PF with VFs enabled. The device joins its set, declares its hot reset scope, is put in
 * D0 and registered behind its function's IOMMU group.
 */
export function vfioPciCoreRegisterDevice(vdev: VfioPciCoreDevice): void {
  const pdev = pdevOf(vdev);
  if (pdev.driverData !== vdev) throw new VfioError('EINVAL', `${pdev.bdf}: drvdata must point at the vfio-pci-core device`);
  if ((pdev.hdrType & PCI_HEADER_TYPE_MASK) !== PCI_HEADER_TYPE_NORMAL) throw new VfioError('EINVAL', `${pdev.bdf} is not a type 0 function`);
  if ((pdev.sriov?.numVfs ?? 0) > 0) throw new VfioError('EBUSY', `${pdev.bdf}: cannot bind to a PF with SR-IOV enabled`);
  if (pdev.iommuGroup === null) throw new VfioError('EINVAL', `${pdev.bdf} has no IOMMU group`);
  if (vdev.devSet === null) assignDeviceSet(vdev, vfioPciDeviceSetId(vdev));
  vfioPciSetHotResetPort(vdev, {
    address: addressOf(pdev),
    resetScope: () => vfioPciResetScope(pdev)?.map((d) => ({ address: addressOf(d), dev: d })) ?? null,
    hotReset: () => {
      // vfio_pci_dev_set_hot_reset(): EINVAL unless the reset stays inside the set; every member to D0 first.
      const target = vfioPciDevSetResettable(vdev);
      if (target === null) throw new VfioError('EINVAL', 'the reset would reach functions outside the device set');
      for (const m of vdev.devSet?.devices ?? []) if (m instanceof VfioPciCoreDevice) vfioPciSetPowerState(m, PCI_D0);
      pciResetBus(target);
    },
  });
  vfioPciVfInit(vdev);
  try {
    vfioPciProbePowerState(vdev);
    vfioPciSetPowerState(vdev, PCI_D0);
    registerGroupDev(vdev);
  } catch (err) {
    // Balances vfioPciVfInit.
    vfioPciVfUninit(vdev);
    throw err;
  }
}

/**
 * vfio_pci_core_unregister_device(): VFs this PF created through vfio go first (each waiting for its driver), then
 * the device is unregistered (resolving once every user let go, the request callback asking them meanwhile), then
 * the VF token goes.
 */
export async function vfioPciCoreUnregisterDevice(vdev: VfioPciCoreDevice, opts: UnregisterOptions = {}): Promise<void> {
  await vfioPciCoreSriovConfigure(vdev, 0);
  await unregisterGroupDev(vdev, opts);
  vfioPciVfUninit(vdev);
}

/** vfio_pci_core_request() (ops.request): the REQ eventfd, or one warning that the user has no way to hear it. */
export function vfioPciCoreRequest(vdev: VfioPciCoreDevice, count: number): void {
  const pdev = pdevOf(vdev);
  const log = pdev.host?.logger;
  const req = vdev.triggers.reqTrigger;
  if (req >= 0) {
    if (count % 10 === 0) log?.info({ device: pdev.bdf, count }, 'relaying device request to user');
    signalEventfd(req);
  } else if (count === 0) {
    log?.warn({ device: pdev.bdf }, 'no device request channel registered, blocked until released by user');
  }
}

const VF_TOKEN_ARG = 'vf_token=';

/** vfio_pci_core_match_token_uuid() (ops.match_token_uuid): the token given at a cdev's BIND_IOMMUFD, checked. */
export function vfioPciCoreMatchTokenUuid(vdev: VfioPciCoreDevice, uuid: string | null): void {
  vfioPciValidateVfToken(vdev, uuid);
}

/**
 * vfio_pci_core_match() (ops.match): `0000:01:00.0` matches, with an optional ` vf_token=<uuid>`; the token is then
 * checked as vfio_pci_validate_vf_token does (EACCES, EINVAL).
 */
export function vfioPciCoreMatch(vdev: VfioPciCoreDevice, buf: string): number {
  const name = pdevOf(vdev).bdf;
  if (!buf.startsWith(name)) return 0;
  let rest = buf.slice(name.length);
  let token: string | null = null;
  if (rest !== '') {
    if (!rest.startsWith(' ')) return 0;
    for (rest = rest.trimStart(); rest !== ''; rest = rest.trimStart()) {
      if (token !== null || !rest.startsWith(VF_TOKEN_ARG)) throw new VfioError('EINVAL', 'unknown or duplicate option');
      const uuid = rest.slice(VF_TOKEN_ARG.length, VF_TOKEN_ARG.length + 36);
      if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(uuid)) throw new VfioError('EINVAL', 'malformed vf_token');
      token = uuid.toLowerCase();
      rest = rest.slice(VF_TOKEN_ARG.length + 36);
    }
  }
  vfioPciValidateVfToken(vdev, token);
  return 1;
}
