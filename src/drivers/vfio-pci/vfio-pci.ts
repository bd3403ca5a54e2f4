// The vfio-pci driver (drivers/vfio/pci/vfio_pci.c): a PCI driver whose probe allocates a vfio-pci-core device with
// vfio_pci_core_init_dev/release_dev, points drvdata at it and registers it; whose remove unregisters (waiting,
// with requests, while the device is open) and puts it. It binds by driver_override, new_id or its `ids` option.
import type { Driver } from '../../base/driver.js';
import type { Host } from '../../base/host.js';
import { PCI_ANY_ID } from '../../hw/pci/pci-bus-type.js';
import type { PciDeviceId, PciDriver } from '../../hw/pci/pci-bus-type.js';
import type { PciDev } from '../../hw/pci/pci-dev.js';
import { pciRegisterDriver, pciUnregisterDriver } from '../../hw/pci/pci-driver.js';
import { VfioError } from '../../uapi/errno.js';
import { allocDevice, putVfioDevice } from '../../vfio/vfio-device.js';
import type { VfioDeviceOps } from '../../vfio/vfio-ops.js';
import { VfioPciCoreDevice } from '../vfio-pci-core/core-device.js';
import { vfioPciCoreInitDev, vfioPciCoreRegisterDevice, vfioPciCoreReleaseDev, vfioPciCoreUnregisterDevice } from '../vfio-pci-core/core.js';
import { vfioPciCoreOps } from '../vfio-pci-core/core-ioctl.js';
import { vfioPciCoreSriovConfigure } from '../vfio-pci-core/sriov.js';

/** vfio_pci_ops. */
export const vfioPciOps: VfioDeviceOps<VfioPciCoreDevice> = Object.freeze({
  ...vfioPciCoreOps,
  name: 'vfio-pci',
  init: vfioPciCoreInitDev,
  release: vfioPciCoreReleaseDev,
});

export interface VfioPciOptions {
  /** The module parameter `ids`: "vendor:device[:subvendor[:subdevice[:class[:class_mask]]]]", comma separated. */
  readonly ids?: string;
  /** Milliseconds between the requests a remove sends while the device is open (the kernel's 10 s by default). */
  readonly requestIntervalMs?: number;
  /** The module parameter `enable_sriov` (off by default): writing sriov_numvfs of a bound PF creates VFs. */
  readonly enableSriov?: boolean;
  /** The module parameter `disable_vga` (off by default): no VGA region even for VGA-class functions. */
  readonly disableVga?: boolean;
}

/** A registered vfio-pci driver (the module loaded); `unregister` is the module exit. */
export interface VfioPciModule {
  readonly pdrv: PciDriver;
  readonly driver: Driver;
  /** pci_unregister_driver(): every bound function is removed, each waiting for its users. */
  unregister(): Promise<void>;
}

/**
 * vfio_pci_fill_ids(): parses the `ids` option. Entries that do not parse are skipped with a warning, as the kernel
 * does; hex fields, absent ones match anything (class and mask default to 0).
 */
export function vfioPciParseIds(ids: string, warn: (msg: string) => void = () => {}): PciDeviceId[] {
  const out: PciDeviceId[] = [];
  for (const entry of ids.split(',')) {
    const s = entry.trim();
    if (s === '') continue;
    const f = s.split(':');
    if (f.length < 2 || f.length > 6 || !f.every((x) => /^[0-9a-fA-F]{1,8}$/.test(x))) {
      warn(`invalid id string "${s.slice(0, 64)}"`);
      continue;
    }
    const n = f.map((x) => parseInt(x, 16) >>> 0);
    out.push({
      vendor: n[0] ?? PCI_ANY_ID,
      device: n[1] ?? PCI_ANY_ID,
      subvendor: n[2] ?? PCI_ANY_ID,
      subdevice: n[3] ?? PCI_ANY_ID,
      class: n[4] ?? 0,
      classMask: n[5] ?? 0,
    });
  }
  return out;
}

/** The vfio-pci device a bound function's drvdata points at. */
export function vfioPciDeviceOf(pdev: PciDev): VfioPciCoreDevice | null {
  return pdev.driverData instanceof VfioPciCoreDevice ? pdev.driverData : null;
}

/** vfio_pci_probe(): alloc with the core's init, drvdata, register; any failure puts the device again. */
function vfioPciProbe(pdev: PciDev, opts: VfioPciOptions): void {
  const vdev = allocDevice(VfioPciCoreDevice, pdev, vfioPciOps);
  // vfio_pci_core_set_params(): the module's disable_vga, as the core sees it.
  vdev.disableVga = opts.disableVga === true;
  pdev.driverData = vdev;
  try {
    vfioPciCoreRegisterDevice(vdev);
  } catch (err) {
    pdev.driverData = null;
    // Balances allocDevice: release runs, the index is free again.
    putVfioDevice(vdev);
    throw err;
  }
}

/** vfio_pci_remove(): unregister (the bus's unbind or removal waits on the promise), then the last put. */
async function vfioPciRemove(pdev: PciDev, opts: VfioPciOptions): Promise<void> {
  const vdev = vfioPciDeviceOf(pdev);
  if (vdev === null) throw new VfioError('ENODEV', `${pdev.bdf} has no vfio-pci device`);
  await vfioPciCoreUnregisterDevice(vdev, opts.requestIntervalMs !== undefined ? { requestIntervalMs: opts.requestIntervalMs } : {});
  // Balances allocDevice in probe.
  putVfioDevice(vdev);
}

/** vfio_pci_sriov_configure(): ENOENT unless the module was loaded with enable_sriov. */
async function vfioPciSriovConfigure(pdev: PciDev, n: number, opts: VfioPciOptions): Promise<number> {
  if (opts.enableSriov !== true) throw new VfioError('ENOENT', 'vfio-pci was loaded without enable_sriov');
  const vdev = vfioPciDeviceOf(pdev);
  if (vdev === null) throw new VfioError('ENODEV', `${pdev.bdf} has no vfio-pci device`);
  return vfioPciCoreSriovConfigure(vdev, n);
}

/** vfio_pci_init(): registers the `vfio-pci` PCI driver; functions with a matching id or driver_override bind at once. */
export function vfioPciRegister(host: Host, opts: VfioPciOptions = {}): VfioPciModule {
  const idTable = vfioPciParseIds(opts.ids ?? '', (msg) => host.logger.warn({ driver: 'vfio-pci' }, msg));
  const pdrv: PciDriver = Object.freeze({
    name: 'vfio-pci',
    idTable,
    probe: (pdev: PciDev) => vfioPciProbe(pdev, opts),
    remove: (pdev: PciDev) => vfioPciRemove(pdev, opts),
    sriovConfigure: (pdev: PciDev, n: number) => vfioPciSriovConfigure(pdev, n, opts),
  });
  const driver = pciRegisterDriver(host, pdrv);
  let gone: Promise<void> | null = null;
  return {
    pdrv,
    driver,
    unregister: () => (gone ??= pciUnregisterDriver(host, pdrv)),
  };
}
