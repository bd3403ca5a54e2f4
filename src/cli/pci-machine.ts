// The simulated PCI machine `serve` runs (the config's `machine.pci`): its root buses built and scanned at start,
// `lspci`, and bind/unbind of a function to a PCI driver by name, done as a user does it through sysfs
// (driver_override, then the driver's bind file; the driver's unbind file, then waiting for its remove).
import type { Host } from '../base/host.js';
import type { Logger } from '../base/log.js';
import { pciBuildFromConfig } from '../hw/pci/machine-spec.js';
import type { BuiltPciMachine, PciRootConfig } from '../hw/pci/machine-spec.js';
import { pciDevices, pciGetDevice, pciRemoveRootBus, pciScanRootBus } from '../hw/pci/scan.js';
import type { PciRootBus } from '../hw/pci/scan.js';
import { pciPendingRemoval } from '../hw/pci/pci-bus-type.js';
import type { PciDev } from '../hw/pci/pci-dev.js';
import { VfioError } from '../uapi/errno.js';

/** One function as `lspci` shows it. */
export interface PciFunctionInfo {
  readonly bdf: string;
  readonly vendor: number;
  readonly device: number;
  readonly subsystemVendor: number;
  readonly subsystemDevice: number;
  /** 24 bits: base class, sub class, prog-if. */
  readonly classCode: number;
  readonly revision: number;
  readonly model: string;
  readonly driver: string | null;
  readonly iommuGroup: number | null;
}

export class PciMachine {
  readonly #host: Host;
  readonly #roots: { readonly root: PciRootBus; readonly built: BuiltPciMachine }[] = [];

  private constructor(host: Host) {
    this.#host = host;
  }

  /** Builds and scans every root of `config` (a failure removes what was built). */
  static async start(host: Host, config: readonly PciRootConfig[], log: Logger): Promise<PciMachine> {
    const m = new PciMachine(host);
    try {
      for (const rc of config) {
        const built = pciBuildFromConfig(rc, log);
        try {
          m.#roots.push({ root: pciScanRootBus(host, built.spec), built });
        } catch (err) {
          built.close();
          throw err;
        }
      }
    } catch (err) {
      await m.close();
      throw err;
    }
    return m;
  }

  /** Every function, in bus order. */
  lspci(): PciFunctionInfo[] {
    return pciDevices(this.#host).map((p) => ({
      bdf: p.bdf,
      vendor: p.vendor,
      device: p.device,
      subsystemVendor: p.subsystemVendor,
      subsystemDevice: p.subsystemDevice,
      classCode: p.classCode,
      revision: p.revision,
      model: p.hw.model,
      driver: p.driver?.name ?? null,
      iommuGroup: p.iommuGroup?.id ?? null,
    }));
  }

  /** Every function, in bus order. */
  functions(): PciDev[] {
    return pciDevices(this.#host);
  }

  /** The function at `bdf`; ENODEV if none. */
  device(bdf: string): PciDev {
    const p = pciGetDevice(this.#host, bdf);
    if (p === undefined) throw new VfioError('ENODEV', `no PCI function ${bdf} (see 'vfio-ts lspci')`);
    return p;
  }

  /** Binds `bdf` to the PCI driver `driver`: driver_override, then the driver's bind file. EBUSY if bound. */
  bind(bdf: string, driver: string): PciDev {
    const p = this.device(bdf);
    if (p.driver !== null) throw new VfioError('EBUSY', `${p.bdf} is bound to ${p.driver.name} (unbind it first)`);
    const sysfs = this.#host.sysfs;
    if (!sysfs.exists(`/sys/bus/pci/drivers/${driver}`)) throw new VfioError('ENODEV', `no PCI driver '${driver}'`);
    sysfs.write(`/sys/bus/pci/devices/${p.bdf}/driver_override`, driver);
    sysfs.write(`/sys/bus/pci/drivers/${driver}/bind`, p.bdf);
    return p;
  }

  /** Unbinds `bdf` from its driver and waits for the driver's remove (a VFIO driver waits for its users). */
  async unbind(bdf: string): Promise<void> {
    const p = this.device(bdf);
    const drv = p.driver;
    if (drv === null) throw new VfioError('ENODEV', `${p.bdf} has no driver`);
    this.#host.sysfs.write(`/sys/bus/pci/drivers/${drv.name}/unbind`, p.bdf);
    await pciPendingRemoval(p);
    // Balances the driver_override bind set, so the function is free for any driver again.
    this.#host.sysfs.write(`/sys/bus/pci/devices/${p.bdf}/driver_override`, '\n');
  }

  /** Removes every root bus (unbinding drivers, waiting for them) and closes the models' host ends. Idempotent. */
  async close(): Promise<void> {
    for (const { root, built } of this.#roots.splice(0).reverse()) {
      await pciRemoveRootBus(root);
      built.close();
    }
  }
}
