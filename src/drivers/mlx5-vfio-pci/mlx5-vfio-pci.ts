// The mlx5-vfio-pci driver (drivers/vfio/pci/mlx5/main.c): a vfio-pci-core variant for ConnectX VFs. init is the
// core's init plus mlx5vf_cmd_set_migratable; release undoes it; the id table matches 15b3:101e only through
// driver_override (PCI_DRIVER_OVERRIDE_DEVICE_VFIO). Probe and remove are vfio-pci's.
import type { Driver } from '../../base/driver.js';
import type { Host } from '../../base/host.js';
import { MLX5_VF_DEVICE_ID, PCI_VENDOR_ID_MELLANOX } from '../../hw/mlx5/mlx5-regs.js';
import type { PciDriver } from '../../hw/pci/pci-bus-type.js';
import type { PciDev } from '../../hw/pci/pci-dev.js';
import { pciRegisterDriver, pciUnregisterDriver } from '../../hw/pci/pci-driver.js';
import { VfioError } from '../../uapi/errno.js';
import { VFIO_DEVICE_RESET } from '../../uapi/ioctl.js';
import { VfioDeviceMigState } from '../../uapi/migration.js';
import { allocDevice, putVfioDevice } from '../../vfio/vfio-device.js';
import type { VfioDeviceOps } from '../../vfio/vfio-ops.js';
import { vfioPciCoreInitDev, vfioPciCoreRegisterDevice, vfioPciCoreReleaseDev, vfioPciCoreUnregisterDevice } from '../vfio-pci-core/core.js';
import { vfioPciCoreDisable, vfioPciCoreEnable } from '../vfio-pci-core/core-enable.js';
import { vfioPciCoreIoctl, vfioPciCoreOps } from '../vfio-pci-core/core-ioctl.js';
import { mlx5vfCmdRemoveMigratable, mlx5vfCmdSetMigratable, mlx5vfStartPageTracker, mlx5vfStopPageTracker, mlx5vfTrackerReadAndClear } from './cmd.js';
import { MLX5VF_MAX_CHUNK_SIZE, Mlx5VfPciCoreDevice } from './device.js';
import { mlx5vfCmdCloseMigratable, mlx5vfPciGetDataSize, mlx5vfPciStepDeviceState, mlx5vfResetDone } from './migration.js';

/** KBUILD_MODNAME: the PCI driver's name in /sys/bus/pci/drivers. */
export const MLX5_VFIO_PCI_DRIVER = 'mlx5_vfio_pci';

/** mlx5vf_pci_open_device(): the core's enable; a migratable device starts RUNNING. */
function openDevice(mvdev: Mlx5VfPciCoreDevice): void {
  vfioPciCoreEnable(mvdev);
  if (mvdev.migrateCap) mvdev.migState = VfioDeviceMigState.RUNNING;
}

/** mlx5vf_pci_close_device(). */
function closeDevice(mvdev: Mlx5VfPciCoreDevice): void {
  mlx5vfCmdCloseMigratable(mvdev);
  vfioPciCoreDisable(mvdev);
}

/** vfio_pci_core_ioctl, with the err_handler's reset_done after VFIO_DEVICE_RESET (mlx5vf_pci_aer_reset_done). */
function ioctl(mvdev: Mlx5VfPciCoreDevice, cmd: number, arg: Uint8Array): number {
  const r = vfioPciCoreIoctl(mvdev, cmd, arg);
  if (cmd === VFIO_DEVICE_RESET) mlx5vfResetDone(mvdev);
  return r;
}

/** mlx5vf_pci_init_dev(): the core's init, then migration and dirty tracking only as far as the PF allows. */
function initDev(mvdev: Mlx5VfPciCoreDevice): void {
  vfioPciCoreInitDev(mvdev);
  const { migratable, logOps } = mlx5vfCmdSetMigratable(mvdev);
  // The kernel sets vdev.mig_ops and vdev.log_ops here; in this core they are hooks of the ops table, so the
  // device takes the table that has the ones its VF supports.
  if (migratable) mvdev.ops = logOps ? mlx5vfPciMigLogOps : mlx5vfPciMigOps;
}

/** mlx5vf_pci_release_dev(). */
function releaseDev(mvdev: Mlx5VfPciCoreDevice): void {
  mlx5vfCmdRemoveMigratable(mvdev);
  vfioPciCoreReleaseDev(mvdev);
}

/** mlx5vf_pci_ops: a device whose VF cannot migrate keeps this table (FEATURE_MIGRATION is then ENOTTY). */
export const mlx5vfPciOps: VfioDeviceOps<Mlx5VfPciCoreDevice> = Object.freeze({
  ...vfioPciCoreOps,
  name: 'mlx5-vfio-pci',
  init: initDev,
  release: releaseDev,
  openDevice,
  closeDevice,
  ioctl,
});

/** mlx5vf_pci_mig_ops. */
const migOps = {
  migrationSetState: mlx5vfPciStepDeviceState,
  migrationGetState: (mvdev: Mlx5VfPciCoreDevice) => mvdev.migState,
  migrationGetDataSize: mlx5vfPciGetDataSize,
};

/** The table with mig_ops set. */
export const mlx5vfPciMigOps: VfioDeviceOps<Mlx5VfPciCoreDevice> = Object.freeze({ ...mlx5vfPciOps, ...migOps });

/** The table with mig_ops and log_ops (mlx5vf_pci_log_ops) set. */
export const mlx5vfPciMigLogOps: VfioDeviceOps<Mlx5VfPciCoreDevice> = Object.freeze({
  ...mlx5vfPciMigOps,
  logStart: mlx5vfStartPageTracker,
  logStop: mlx5vfStopPageTracker,
  logReadAndClear: mlx5vfTrackerReadAndClear,
});

export interface Mlx5VfioPciOptions {
  /** Milliseconds between the requests a remove sends while the device is open (the kernel's 10 s by default). */
  readonly requestIntervalMs?: number;
  /** The largest buffer a chunked save fills (MAX_CHUNK_SIZE, 8 MiB). */
  readonly maxChunkSize?: number;
}

export interface Mlx5VfioPciModule {
  readonly pdrv: PciDriver;
  readonly driver: Driver;
  /** pci_unregister_driver(): every bound VF removed, each waiting for its users. */
  unregister(): Promise<void>;
}

/** The device a bound VF's drvdata points at. */
export function mlx5vfDeviceOf(pdev: PciDev): Mlx5VfPciCoreDevice | null {
  return pdev.driverData instanceof Mlx5VfPciCoreDevice ? pdev.driverData : null;
}

/** mlx5vf_pci_probe(). */
function probe(pdev: PciDev, opts: Mlx5VfioPciOptions): void {
  const mvdev = allocDevice(Mlx5VfPciCoreDevice, pdev, mlx5vfPciOps);
  mvdev.maxChunkSize = opts.maxChunkSize ?? MLX5VF_MAX_CHUNK_SIZE;
  pdev.driverData = mvdev;
  try {
    vfioPciCoreRegisterDevice(mvdev);
  } catch (err) {
    pdev.driverData = null;
    // Balances allocDevice: release runs.
    putVfioDevice(mvdev);
    throw err;
  }
}

/** mlx5vf_pci_remove(). */
async function remove(pdev: PciDev, opts: Mlx5VfioPciOptions): Promise<void> {
  const mvdev = mlx5vfDeviceOf(pdev);
  if (mvdev === null) throw new VfioError('ENODEV', `${pdev.bdf} has no mlx5-vfio-pci device`);
  await vfioPciCoreUnregisterDevice(mvdev, opts.requestIntervalMs !== undefined ? { requestIntervalMs: opts.requestIntervalMs } : {});
  // Balances allocDevice in probe.
  putVfioDevice(mvdev);
}

/** module_pci_driver(mlx5vf_pci_driver). */
export function mlx5VfioPciRegister(host: Host, opts: Mlx5VfioPciOptions = {}): Mlx5VfioPciModule {
  const pdrv: PciDriver = Object.freeze({
    name: MLX5_VFIO_PCI_DRIVER,
    idTable: [{ vendor: PCI_VENDOR_ID_MELLANOX, device: MLX5_VF_DEVICE_ID, overrideOnly: true }],
    probe: (pdev: PciDev) => probe(pdev, opts),
    remove: (pdev: PciDev) => remove(pdev, opts),
  });
  const driver = pciRegisterDriver(host, pdrv);
  let gone: Promise<void> | null = null;
  return { pdrv, driver, unregister: () => (gone ??= pciUnregisterDriver(host, pdrv)) };
}
