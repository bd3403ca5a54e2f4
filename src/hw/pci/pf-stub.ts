// pci-pf-stub (drivers/pci/pci-pf-stub.c): binds a PF only to let its VFs be enabled through sriov_numvfs.
import type { PciDeviceId, PciDriver } from './pci-bus-type.js';
import { pciSriovConfigureSimple } from './iov.js';

/** A pci-pf-stub for the given ids (the kernel's table is a list of PFs known to need no driver). */
export function pciPfStubDriver(idTable: readonly PciDeviceId[]): PciDriver {
  return Object.freeze({
    name: 'pci-pf-stub',
    idTable,
    probe: () => {},
    sriovConfigure: pciSriovConfigureSimple,
  });
}
