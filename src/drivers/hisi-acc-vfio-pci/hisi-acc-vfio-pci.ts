// The hisi-acc-vfio-pci variant driver (drivers/vfio/pci/hisilicon/hisi_acc_vfio_pci.c): a vfio-pci-core driver for
// the accelerator VFs. Probe picks one of two ops tables: the migration one only for a VF whose PF has its PF driver
// bound with a QM of version 3 or later (hisi_acc_vfio_pci_probe), the plain one otherwise. With migration the
// VF's BAR2 is split: the user sees and reaches only its first half, the migration area is the driver's.
import type { Host } from '../../base/host.js';
import { hisiQmGetPfDriver, hisiQmPfDriversRegister, pciIovGetPfDrvdata, HisiQm } from '../../hw/hisi-qm/pf-driver.js';
import { HISI_ACC_KINDS, QM_HW_V3 } from '../../hw/hisi-qm/qm-regs.js';
import type { HisiAccKind } from '../../hw/hisi-qm/qm-regs.js';
import type { PciDriver } from '../../hw/pci/pci-bus-type.js';
import type { PciDev } from '../../hw/pci/pci-dev.js';
import { pciRegisterDriver, pciUnregisterDriver } from '../../hw/pci/pci-driver.js';
import { pciIovVfId } from '../../hw/pci/iov.js';
import { copyToUser } from '../../uapi/codec.js';
import { VfioError } from '../../uapi/errno.js';
import { VFIO_DEVICE_GET_REGION_INFO, VFIO_DEVICE_RESET } from '../../uapi/ioctl.js';
import { VFIO_MIGRATION_PRE_COPY, VFIO_MIGRATION_STOP_COPY, VfioDeviceMigState } from '../../uapi/migration.js';
import {
  VFIO_PCI_BAR2_REGION_INDEX,
  VFIO_PCI_OFFSET_SHIFT,
  VFIO_REGION_INFO_FLAG_READ,
  VFIO_REGION_INFO_FLAG_WRITE,
  decodeVfioRegionInfo,
  encodeVfioRegionInfoWithCaps,
  vfioPciIndexToOffset,
} from '../../uapi/region-info.js';
import { allocDevice, putVfioDevice } from '../../vfio/vfio-device.js';
import type { VfioDeviceOps } from '../../vfio/vfio-ops.js';
import { pdevOf } from '../vfio-pci-core/core-device.js';
import { vfioPciCoreInitDev, vfioPciCoreRegisterDevice, vfioPciCoreReleaseDev, vfioPciCoreUnregisterDevice } from '../vfio-pci-core/core.js';
import { vfioPciCoreEnable } from '../vfio-pci-core/core-enable.js';
import { vfioPciCoreOps } from '../vfio-pci-core/core-ioctl.js';
import { HisiAccVfCoreDevice } from './hisi-acc-device.js';
import { hisiAccMigrationOps, hisiAccVfReset } from './hisi-acc-migration.js';

const OFFSET_SPAN = 2 ** Number(VFIO_PCI_OFFSET_SHIFT);
const KINDS: readonly HisiAccKind[] = ['zip', 'sec', 'hpre'];

/** hisi_acc_get_pf_qm(): the QM the VF's PF driver (hisi_zip, hisi_sec2 or hisi_hpre by the VF's id) keeps. */
export function hisiAccGetPfQm(pdev: PciDev): HisiQm | null {
  if (!pdev.isVirtfn) return null;
  const kind = KINDS.find((k) => HISI_ACC_KINDS[k].vfDevice === pdev.device);
  if (kind === undefined) return null;
  const qm = pciIovGetPfDrvdata(pdev, hisiQmGetPfDriver(kind));
  return qm instanceof HisiQm ? qm : null;
}

/** The end of the user's part of BAR2: half its length. */
function bar2UserEnd(v: HisiAccVfCoreDevice): number {
  return Number(pdevOf(v).resource[VFIO_PCI_BAR2_REGION_INDEX]?.size ?? 0n) / 2;
}

/** hisi_acc_pci_rw_access_check(): EINVAL in the migration area; an access running into it is cut at its start. */
function rwAccessCheck(v: HisiAccVfCoreDevice, index: number, offset: number, count: number): number {
  if (index !== VFIO_PCI_BAR2_REGION_INDEX) return count;
  const end = bar2UserEnd(v);
  if (offset >= end) throw new VfioError('EINVAL', 'BAR2 migration control region is not the user\'s');
  return Math.min(count, end - offset);
}

function rw(v: HisiAccVfCoreDevice, buf: Uint8Array, pos: number, write: boolean): number {
  const index = Number.isSafeInteger(pos) && pos >= 0 ? Math.floor(pos / OFFSET_SPAN) : -1;
  const n = rwAccessCheck(v, index, pos - index * OFFSET_SPAN, buf.length);
  const part = n === buf.length ? buf : buf.subarray(0, n);
  return write ? vfioPciCoreOps.write(v, part, pos) : vfioPciCoreOps.read(v, part, pos);
}

/** hisi_acc_vfio_pci_mmap(): EINVAL for a map reaching the migration area; the core maps no simulated BAR either. */
function mmap(v: HisiAccVfCoreDevice, pos: number, length: number): { fd: number; offset: number } {
  const index = Math.floor(pos / OFFSET_SPAN);
  if (index === VFIO_PCI_BAR2_REGION_INDEX && pos - index * OFFSET_SPAN + length > bar2UserEnd(v)) {
    throw new VfioError('EINVAL', 'mmap reaches the BAR2 migration control region');
  }
  throw new VfioError('EINVAL', 'the simulated BARs have no memory to map');
}

/**
 * hisi_acc_vfio_pci_ioctl(): GET_REGION_INFO of BAR2 reports only the user's half (read/write; the kernel adds
 * MMAP, which no simulated BAR offers). VFIO_DEVICE_RESET also does what the PCI core's reset_done callback would
 * (hisi_acc_vf_pci_aer_reset_done; this PCI core calls no err_handler).
 */
function ioctl(v: HisiAccVfCoreDevice, cmd: number, arg: Uint8Array): number {
  if (cmd === VFIO_DEVICE_GET_REGION_INFO) {
    const info = decodeVfioRegionInfo(arg);
    if (info.index === VFIO_PCI_BAR2_REGION_INDEX) {
      const flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
      const out = { argsz: info.argsz, flags, index: info.index, capOffset: 0, size: BigInt(bar2UserEnd(v)), offset: vfioPciIndexToOffset(info.index) };
      return copyToUser(arg, encodeVfioRegionInfoWithCaps(out, []));
    }
  }
  const ret = vfioPciCoreOps.ioctl(v, cmd, arg);
  if (cmd === VFIO_DEVICE_RESET) hisiAccVfReset(v);
  return ret;
}

/** hisi_acc_vfio_pci_open_device(): core enable; with migration, back to RUNNING with nothing matched yet. */
function openDevice(v: HisiAccVfCoreDevice): void {
  vfioPciCoreEnable(v);
  if (v.vfDev !== null) {
    v.migState = VfioDeviceMigState.RUNNING;
    v.matchDone = false;
  }
}

/** hisi_acc_vfio_pci_migrn_init_dev(): the PF QM, the VF id in the VFT, STOP_COPY | PRE_COPY, then the core's init. */
function migrnInitDev(v: HisiAccVfCoreDevice): void {
  vfioPciCoreInitDev(v);
  const vf = pdevOf(v);
  v.pfQm = hisiAccGetPfQm(vf);
  v.vfId = pciIovVfId(vf) + 1;
  v.vfDev = vf;
  v.migrationFlags = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_PRE_COPY;
}

/** hisi_acc_vfio_pci_ops: vfio-pci-core as is. */
export const hisiAccVfioPciOps: VfioDeviceOps<HisiAccVfCoreDevice> = Object.freeze({
  ...vfioPciCoreOps,
  name: 'hisi-acc-vfio-pci',
  init: vfioPciCoreInitDev,
  release: vfioPciCoreReleaseDev,
  openDevice,
});

/** hisi_acc_vfio_pci_migrn_ops: the BAR2 split and the migration ops. */
export const hisiAccVfioPciMigrnOps: VfioDeviceOps<HisiAccVfCoreDevice> = Object.freeze({
  ...vfioPciCoreOps,
  ...hisiAccMigrationOps,
  name: 'hisi-acc-vfio-pci-migration',
  init: migrnInitDev,
  release: (v: HisiAccVfCoreDevice) => {
    v.pfQm = null;
    v.vfDev = null;
    vfioPciCoreReleaseDev(v);
  },
  openDevice,
  ioctl,
  read: (v: HisiAccVfCoreDevice, buf: Uint8Array, pos: number) => rw(v, buf, pos, false),
  write: (v: HisiAccVfCoreDevice, buf: Uint8Array, pos: number) => rw(v, buf, pos, true),
  regionRw: (v: HisiAccVfCoreDevice, index: number, offset: number, buf: Uint8Array, write: boolean) => {
    const n = rwAccessCheck(v, index, offset, buf.length);
    return vfioPciCoreOps.regionRw(v, index, offset, n === buf.length ? buf : buf.subarray(0, n), write);
  },
  mmap: (v: HisiAccVfCoreDevice, pos: number, length: number) => mmap(v, pos, length),
});

export interface HisiAccVfioPciOptions {
  /** Milliseconds between the requests a remove sends while the device is open (the kernel's 10 s by default). */
  readonly requestIntervalMs?: number;
}

/** The driver's VFIO device of a bound VF. */
export function hisiAccDeviceOf(pdev: PciDev): HisiAccVfCoreDevice | null {
  return pdev.driverData instanceof HisiAccVfCoreDevice ? pdev.driverData : null;
}

/** hisi_acc_vfio_pci_probe(). */
function probe(pdev: PciDev): void {
  let ops = hisiAccVfioPciOps;
  const pfQm = hisiAccGetPfQm(pdev);
  if (pfQm !== null && pfQm.ver >= QM_HW_V3) {
    if (pciIovVfId(pdev) >= 0) ops = hisiAccVfioPciMigrnOps;
    else pdev.host?.logger.warn({ device: pdev.bdf }, 'migration support failed, continue with generic interface');
  }
  const vdev = allocDevice(HisiAccVfCoreDevice, pdev, ops);
  pdev.driverData = vdev;
  try {
    vfioPciCoreRegisterDevice(vdev);
  } catch (err) {
    pdev.driverData = null;
    // Balances allocDevice.
    putVfioDevice(vdev);
    throw err;
  }
}

/** hisi_acc_vfio_pci_remove(): unregister (waiting for users), then the last put. */
async function remove(pdev: PciDev, opts: HisiAccVfioPciOptions): Promise<void> {
  const vdev = hisiAccDeviceOf(pdev);
  if (vdev === null) throw new VfioError('ENODEV', `${pdev.bdf} has no hisi-acc-vfio-pci device`);
  await vfioPciCoreUnregisterDevice(vdev, opts.requestIntervalMs !== undefined ? { requestIntervalMs: opts.requestIntervalMs } : {});
  pdev.driverData = null;
  // Balances allocDevice in probe.
  putVfioDevice(vdev);
}

/** A loaded hisi_acc_vfio_pci module (with the PF drivers it depends on). */
export interface HisiAccVfioPciModule {
  readonly pdrv: PciDriver;
  /** Module exit: the VFs unbound (each waiting for its users), then the PF drivers unloaded. Idempotent. */
  unregister(): Promise<void>;
}

/**
 * module_pci_driver(hisi_acc_vfio_pci_driver), with its dependencies hisi_zip, hisi_sec2 and hisi_hpre loaded first as
 * modprobe does. Its ids are PCI_DRIVER_OVERRIDE_DEVICE_VFIO entries, which match only through driver_override: the
 * table here is empty and driver_override is the way in.
 */
export function hisiAccVfioPciRegister(host: Host, opts: HisiAccVfioPciOptions = {}): HisiAccVfioPciModule {
  const pfDrivers = hisiQmPfDriversRegister(host);
  const pdrv: PciDriver = Object.freeze({
    name: 'hisi_acc_vfio_pci',
    idTable: [],
    probe: (pdev: PciDev) => probe(pdev),
    remove: (pdev: PciDev) => remove(pdev, opts),
  });
  try {
    pciRegisterDriver(host, pdrv);
  } catch (err) {
    void pfDrivers.unregister();
    throw err;
  }
  let gone: Promise<void> | null = null;
  return {
    pdrv,
    unregister: () => (gone ??= pciUnregisterDriver(host, pdrv).then(() => pfDrivers.unregister())),
  };
}
