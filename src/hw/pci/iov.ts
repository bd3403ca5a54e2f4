// SR-IOV, the kernel side (drivers/pci/iov.c): a PF's capability read at enumeration, pci_enable_sriov /
// pci_disable_sriov adding and removing VFs at the routing IDs First VF Offset and VF Stride give, the
// virtfnN / physfn links, and the sriov_* files with sriov_numvfs_store's rules.
import type { Device } from '../../base/device.js';
import type { SysfsAttrTable } from '../../base/sysfs.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { VfioError } from '../../uapi/errno.js';
import {
  PCI_EXT_CAP_ID_SRIOV,
  PCI_SRIOV_CTRL,
  PCI_SRIOV_CTRL_MSE,
  PCI_SRIOV_CTRL_VFE,
  PCI_SRIOV_NUM_VF,
  PCI_SRIOV_TOTAL_VF,
  PCI_SRIOV_VF_DID,
  PCI_SRIOV_VF_OFFSET,
  PCI_SRIOV_VF_STRIDE,
} from '../../uapi/pci-regs-ext.js';
import { pciFindExtCapability, pciReadConfig, pciWriteConfig } from './pci-dev.js';
import type { PciDev, PciSriovState } from './pci-dev.js';
import { pciDriverOf, sriovAutoprobe } from './pci-driver.js';
import { pciBusAddDevice, pciDeviceAdd, pciScanDevice } from './probe.js';
import { pciAssignResources } from './resources.js';
import { pciRemoveAttrs, pciStopAndRemoveBusDevice } from './remove.js';
import { pciAttr } from './pci-sysfs.js';
import { kstrtoulMax } from '../../base/kstrtox.js';

/** struct pci_sriov. */
export class PciSriov implements PciSriovState {
  readonly totalVfs: number;
  readonly vfDevice: number;
  offset: number;
  stride: number;
  vfs: PciDev[] = [];
  /** A sriov_numvfs change under way. */
  pending: Promise<void> | null = null;

  constructor(
    readonly pf: PciDev,
    readonly pos: number,
  ) {
    this.totalVfs = pciReadConfig(pf, pos + PCI_SRIOV_TOTAL_VF, 2);
    this.vfDevice = pciReadConfig(pf, pos + PCI_SRIOV_VF_DID, 2);
    this.offset = pciReadConfig(pf, pos + PCI_SRIOV_VF_OFFSET, 2);
    this.stride = pciReadConfig(pf, pos + PCI_SRIOV_VF_STRIDE, 2);
  }

  get numVfs(): number {
    return this.vfs.length;
  }

  disable(): Promise<void> {
    return pciDisableSriov(this.pf);
  }
}

/** pci_iov_init(): a PF gets its sriov state. */
export function pciIovInit(pdev: PciDev): void {
  const pos = pciFindExtCapability(pdev, PCI_EXT_CAP_ID_SRIOV);
  if (pos !== 0 && !pdev.isVirtfn) pdev.sriov = new PciSriov(pdev, pos);
}

function sriovOf(pdev: PciDev): PciSriov {
  const s = pdev.sriov;
  if (!(s instanceof PciSriov)) throw new VfioError('ENODEV', `${pdev.bdf} is not an SR-IOV PF`);
  return s;
}

/** pci_iov_virtfn_devfn() on the PF's bus; VFs that would need another bus number are not modelled (ENOMEM). */
function virtfnDevfn(pf: PciDev, s: PciSriov, id: number): number {
  const rid = pf.devfn + s.offset + s.stride * id;
  if (rid > 0xff) throw new VfioError('ENOMEM', `VF ${id} of ${pf.bdf} would need another bus number`);
  return rid;
}

/** pci_iov_add_virtfn(): scan the VF's routing ID, set it up as the PF's VF, add it and offer it to drivers. */
function pciIovAddVirtfn(pf: PciDev, s: PciSriov, id: number): PciDev {
  const host = pf.host;
  if (host === null) throw new VfioError('ENODEV', `${pf.bdf} is not initialized`);
  const vf = pciScanDevice(host, pf.pciBus, virtfnDevfn(pf, s, id), pf);
  if (vf === null) throw new VfioError('EIO', `VF ${id} of ${pf.bdf} does not answer`);
  vf.vendor = pf.vendor;
  vf.device = s.vfDevice;
  pciDeviceAdd(vf, [pciRemoveAttrs]);
  pciAssignResources(vf, pf.pciBus.root);
  if (pf.kobj !== null && vf.kobj !== null) {
    host.sysfs.symlink(pf.kobj, `virtfn${id}`, vf.kobj);
    host.sysfs.symlink(vf.kobj, 'physfn', pf.kobj);
  }
  s.vfs.push(vf);
  pciBusAddDevice(vf);
  return vf;
}

/** pci_iov_remove_virtfn(): links gone, the VF removed (its driver's remove awaited). */
async function pciIovRemoveVirtfn(pf: PciDev, vf: PciDev, id: number): Promise<void> {
  if (sanitizer.isFreed(vf)) return;
  pf.host?.sysfs.removeChild(pf.kobj, `virtfn${id}`);
  vf.host?.sysfs.removeChild(vf.kobj, 'physfn');
  await pciStopAndRemoveBusDevice(vf);
}

/** pci_enable_sriov(): NumVFs and VF Enable written, then each VF added. EINVAL if VFs exist or `n` is out of range. */
export async function pciEnableSriov(pf: PciDev, n: number): Promise<void> {
  const s = sriovOf(pf);
  if (s.numVfs !== 0) throw new VfioError('EINVAL', `${pf.bdf} already has ${s.numVfs} VFs`);
  if (!Number.isInteger(n) || n <= 0 || n > s.totalVfs) throw new VfioError('EINVAL', `${n} VFs (TotalVFs ${s.totalVfs})`);
  pciWriteConfig(pf, s.pos + PCI_SRIOV_NUM_VF, 2, n);
  // Offset and stride may depend on NumVFs (pci_iov_set_numvfs reads them again).
  s.offset = pciReadConfig(pf, s.pos + PCI_SRIOV_VF_OFFSET, 2);
  s.stride = pciReadConfig(pf, s.pos + PCI_SRIOV_VF_STRIDE, 2);
  try {
    for (let id = 0; id < n; id++) virtfnDevfn(pf, s, id);
  } catch (err) {
    pciWriteConfig(pf, s.pos + PCI_SRIOV_NUM_VF, 2, 0);
    throw err;
  }
  const ctrl = pciReadConfig(pf, s.pos + PCI_SRIOV_CTRL, 2);
  pciWriteConfig(pf, s.pos + PCI_SRIOV_CTRL, 2, ctrl | PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE);
  try {
    for (let id = 0; id < n; id++) pciIovAddVirtfn(pf, s, id);
  } catch (err) {
    await pciDisableSriov(pf);
    throw err;
  }
}

/** pci_disable_sriov(): every VF removed, last first (each waits for its driver), then VF Enable cleared. */
export async function pciDisableSriov(pf: PciDev): Promise<void> {
  const s = sriovOf(pf);
  const vfs = s.vfs;
  for (let id = vfs.length - 1; id >= 0; id--) {
    const vf = vfs[id];
    if (vf !== undefined) await pciIovRemoveVirtfn(pf, vf, id);
  }
  s.vfs = [];
  if (sanitizer.isFreed(pf)) return;
  const ctrl = pciReadConfig(pf, s.pos + PCI_SRIOV_CTRL, 2);
  pciWriteConfig(pf, s.pos + PCI_SRIOV_CTRL, 2, ctrl & ~(PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE));
  pciWriteConfig(pf, s.pos + PCI_SRIOV_NUM_VF, 2, 0);
}

/** pci_sriov_configure_simple(): what a PF driver with nothing else to set up uses as sriov_configure. */
export async function pciSriovConfigureSimple(pf: PciDev, n: number): Promise<number> {
  if (n === 0) {
    await pciDisableSriov(pf);
    return 0;
  }
  await pciEnableSriov(pf, n);
  return n;
}

/**
 * sriov_numvfs_store(): EINVAL if not a u16, ERANGE above TotalVFs, ENOENT without a bound driver offering
 * sriov_configure, EBUSY when VFs exist and `n` is not 0 (or a change is still under way). Validation
 * throws at once; the change itself (enabling or disabling, which waits for VF drivers) is the promise.
 */
export function pciSriovSetNumVfs(pf: PciDev, n: number): Promise<void> {
  const s = sriovOf(pf);
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new VfioError('EINVAL', `${n} VFs`);
  if (n > s.totalVfs) throw new VfioError('ERANGE', `${n} VFs (TotalVFs ${s.totalVfs})`);
  if (s.pending !== null) throw new VfioError('EBUSY', `${pf.bdf}: an SR-IOV change is under way`);
  if (n === s.numVfs) return Promise.resolve();
  const drv = pciDriverOf(pf);
  if (drv === null) throw new VfioError('ENOENT', `no driver bound to ${pf.bdf}; cannot configure SR-IOV`);
  const configure = drv.sriovConfigure;
  if (configure === undefined) throw new VfioError('ENOENT', `${drv.name} cannot configure SR-IOV`);
  if (n !== 0 && s.numVfs !== 0) throw new VfioError('EBUSY', `${s.numVfs} VFs already enabled; disable before enabling ${n}`);
  const done = (async () => {
    try {
      await configure.call(drv, pf, n);
    } finally {
      s.pending = null;
    }
  })();
  s.pending = done;
  return done;
}

/** The SR-IOV files of a PF (sriov_pf_dev_attrs). */
const sriovAttrs: SysfsAttrTable<Device> = Object.freeze({
  sriov_totalvfs: pciAttr((p) => `${sriovOf(p).totalVfs}\n`),
  sriov_numvfs: pciAttr(
    (p) => `${sriovOf(p).numVfs}\n`,
    (p, value) => {
      let n: number;
      try {
        n = kstrtoulMax(value, 0xffff);
      } catch {
        throw new VfioError('EINVAL', 'sriov_numvfs takes a u16');
      }
      pciSriovSetNumVfs(p, n).catch((err: unknown) => {
        p.host?.logger.error({ device: p.bdf, err: String(err) }, 'sriov_configure failed');
      });
    },
  ),
  sriov_offset: pciAttr((p) => `${sriovOf(p).offset}\n`),
  sriov_stride: pciAttr((p) => `${sriovOf(p).stride}\n`),
  sriov_vf_device: pciAttr((p) => `${sriovOf(p).vfDevice.toString(16)}\n`),
  sriov_drivers_autoprobe: pciAttr(
    (p) => `${sriovAutoprobe.get(p) === false ? 0 : 1}\n`,
    (p, value) => {
      sriovAutoprobe.set(p, kstrtoulMax(value) !== 0);
    },
  ),
});

/** The extra attribute groups a function shows: the SR-IOV files for a PF. */
export function pciIovAttrsFor(pdev: PciDev): SysfsAttrTable<Device>[] {
  return pdev.sriov !== null ? [sriovAttrs] : [];
}

/** A VF's id under its PF (the N of virtfnN), or -1. */
export function pciIovVfId(vf: PciDev): number {
  const s = vf.physfn?.sriov;
  return s instanceof PciSriov ? s.vfs.indexOf(vf) : -1;
}
