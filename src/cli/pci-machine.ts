// The simulated PCI machine `serve` runs (the config's `machine.pci`): its root buses built and scanned at start,
// and `lspci`; binding goes through the machine's sysfs as on any bus (machine.ts).
import type { Host } from '../base/host.js';
import type { Logger } from '../base/log.js';
import { pciBuildFromConfig } from '../hw/pci/machine-spec.js';
import type { BuiltPciMachine, PciRootConfig } from '../hw/pci/machine-spec.js';
import { pciDevices, pciRemoveRootBus, pciScanRootBus } from '../hw/pci/scan.js';
import type { PciRootBus } from '../hw/pci/scan.js';
import { pciPendingRemoval } from '../hw/pci/pci-bus-type.js';
import type { PciDriver } from '../hw/pci/pci-bus-type.js';
import { pciRegisterDriver, pciUnregisterDriver } from '../hw/pci/pci-driver.js';
import { pciPfStubDriver } from '../hw/pci/pf-stub.js';
import type { PciFunction } from '../hw/pci/pci-function.js';
import { VfioError } from '../uapi/errno.js';
import { PciDev } from '../hw/pci/pci-dev.js';
import type { Device } from '../base/device.js';
import type { MachineBus } from './machine.js';

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

export class PciMachine implements MachineBus {
  readonly name = 'pci';
  readonly title = 'PCI';
  readonly #host: Host;
  readonly #roots: { readonly root: PciRootBus; readonly built: BuiltPciMachine }[] = [];
  /** pci-pf-stub, registered when a PF's VFs are enabled at start (binds by driver_override only). */
  #pfStub: PciDriver | null = null;

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

  /**
   * Enables the VFs the config asks for, once the driver modules are loaded (a PF's own driver, hisi_zip say, may
   * have bound it): sriov_numvfs written through the PF's driver, or through pci-pf-stub for a PF no driver took,
   * as a user does.
   */
  enableVfsAtStart(): void {
    for (const { built } of this.#roots) for (const { hw, numVfs } of built.vfsAtStart) this.#enableVfs(hw, numVfs);
  }

  #enableVfs(hw: PciFunction, numVfs: number): void {
    const pf = pciDevices(this.#host).find((p) => p.hw === hw);
    if (pf === undefined) throw new VfioError('ENODEV', `the ${hw.model} was not found on the bus`);
    if (pf.driver === null && this.#pfStub === null) {
      this.#pfStub = pciPfStubDriver([]);
      pciRegisterDriver(this.#host, this.#pfStub);
    }
    const sysfs = this.#host.sysfs;
    if (pf.driver === null) {
      sysfs.write(`/sys/bus/pci/devices/${pf.bdf}/driver_override`, 'pci-pf-stub');
      sysfs.write('/sys/bus/pci/drivers/pci-pf-stub/bind', pf.bdf);
    }
    sysfs.write(`/sys/bus/pci/devices/${pf.bdf}/sriov_numvfs`, String(numVfs));
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
  devices(): PciDev[] {
    return pciDevices(this.#host);
  }

  model(dev: Device): string {
    return dev instanceof PciDev ? dev.hw.model : '';
  }

  pendingRemoval(dev: Device): Promise<void> {
    return dev instanceof PciDev ? pciPendingRemoval(dev) : Promise.resolve();
  }

  /** Removes every root bus (unbinding drivers, waiting for them) and closes the models' host ends. Idempotent. */
  async close(): Promise<void> {
    for (const { root, built } of this.#roots.splice(0).reverse()) {
      await pciRemoveRootBus(root);
      built.close();
    }
    if (this.#pfStub !== null) await pciUnregisterDriver(this.#host, this.#pfStub);
    this.#pfStub = null;
  }
}
