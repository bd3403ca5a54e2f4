// The low-power device features of vfio-pci (drivers/vfio/pci/vfio_pci_core.c vfio_pci_core_pm_entry,
// _pm_entry_with_wakeup, _pm_exit, vfio_pci_runtime_pm_entry/exit, vfio_pci_core_runtime_suspend/resume; the PCI
// core's pci_pm_runtime_suspend/resume; vfio_main.c's vfio_device_pm_runtime_get/put around every ioctl and
// vfio_pci_rw's around every region access). There is no runtime PM framework here: the usage count is the
// accesses in flight, and a device whose user asked for low power suspends to D3hot as soon as none is.
import { pciReadConfig, pciWriteConfig } from '../../hw/pci/pci-dev.js';
import { pciRestoreState, pciSaveState } from '../../hw/pci/pci-state.js';
import { signalEventfd, takeEventfd } from '../../emu/irq-triggers.js';
import { close } from '../../native/index.js';
import { VfioError } from '../../uapi/errno.js';
import { VFIO_DEVICE_FEATURE_SET, vfioCheckFeature } from '../../uapi/feature.js';
import { PCI_PM_CTRL, PCI_PM_CTRL_STATE_MASK } from '../../uapi/pci-regs.js';
import { pdevOf } from './core-device.js';
import type { VfioPciCoreDevice } from './core-device.js';
import { vfioPciIntxMask, vfioPciIntxUnmask } from './intrs-intx.js';
import { PCI_D0, PCI_D3HOT, vfioPciSetPowerState } from './power.js';

/** sizeof(struct vfio_device_low_power_entry_with_wakeup): wakeup_eventfd (s32) and reserved (u32). */
export const VFIO_DEVICE_LOW_POWER_ENTRY_WITH_WAKEUP_SIZEOF = 8;

/** Whether the device is runtime suspended (in D3hot with the PCI core's saved state). */
export function vfioPciRuntimeSuspended(vdev: VfioPciCoreDevice): boolean {
  return vdev.pmRuntimeSaved !== null;
}

/** pci_set_power_state() on the PMCSR's PowerState (no PM capability: nothing to change). */
function setPmcsrState(vdev: VfioPciCoreDevice, state: number): void {
  const pdev = pdevOf(vdev);
  if (pdev.pmCap === 0) return;
  const ctrl = pciReadConfig(pdev, pdev.pmCap + PCI_PM_CTRL, 2);
  pciWriteConfig(pdev, pdev.pmCap + PCI_PM_CTRL, 2, (ctrl & ~PCI_PM_CTRL_STATE_MASK) | state);
}

/**
 * vfio_pci_core_runtime_suspend() then pci_pm_runtime_suspend(): the device to D0 first (restoring what a user's
 * D3hot lost), INTx masked if it was enabled and not masked already, the config saved, then D3hot.
 */
function runtimeSuspend(vdev: VfioPciCoreDevice): void {
  vfioPciSetPowerState(vdev, PCI_D0);
  vdev.pmIntxMasked = vdev.irqType === 'intx' && vfioPciIntxMask(vdev);
  const saved = pciSaveState(pdevOf(vdev));
  setPmcsrState(vdev, PCI_D3HOT);
  vdev.pmRuntimeSaved = saved;
}

/** __vfio_pci_runtime_pm_exit(): low power no longer asked for; the wakeup eventfd let go. */
function pmExitLocked(vdev: VfioPciCoreDevice): void {
  if (!vdev.pmRuntimeEngaged) return;
  vdev.pmRuntimeEngaged = false;
  if (vdev.pmWakeEventfd >= 0) close(vdev.pmWakeEventfd); // balances takeEventfd in the entry
  vdev.pmWakeEventfd = -1;
}

/**
 * pci_pm_runtime_resume() then vfio_pci_core_runtime_resume(): D0 and the saved config restored (a function without
 * No_Soft_Reset was reset by D3hot -> D0); with a wakeup eventfd, it is signalled and low power is left; INTx
 * unmasked if the suspend masked it.
 */
function runtimeResume(vdev: VfioPciCoreDevice): void {
  const saved = vdev.pmRuntimeSaved;
  if (saved === null) return;
  vdev.pmRuntimeSaved = null;
  setPmcsrState(vdev, PCI_D0);
  pciRestoreState(pdevOf(vdev), saved);
  if (vdev.pmWakeEventfd >= 0) {
    signalEventfd(vdev.pmWakeEventfd);
    pmExitLocked(vdev);
  }
  if (vdev.pmIntxMasked) vfioPciIntxUnmask(vdev);
  vdev.pmIntxMasked = false;
}

/** pm_runtime_resume_and_get(): an access begins; a suspended device wakes. */
export function vfioPciPmRuntimeGet(vdev: VfioPciCoreDevice): void {
  if (vdev.pmUsage++ === 0) runtimeResume(vdev);
}

/** pm_runtime_put(): an access ends; with low power asked for and nothing in flight, the device suspends. */
export function vfioPciPmRuntimePut(vdev: VfioPciCoreDevice): void {
  if (--vdev.pmUsage === 0 && vdev.pmRuntimeEngaged && vdev.pdev !== null) runtimeSuspend(vdev);
}

/** Runs `fn` as one access holding the device awake. */
export function vfioPciPmRuntimeCall<T>(vdev: VfioPciCoreDevice, fn: () => T): T {
  vfioPciPmRuntimeGet(vdev);
  try {
    return fn();
  } finally {
    vfioPciPmRuntimePut(vdev);
  }
}

/** vfio_pci_runtime_pm_entry(): EINVAL when low power is already asked for. */
function runtimePmEntry(vdev: VfioPciCoreDevice, wakeFd: number): void {
  if (vdev.pmRuntimeEngaged) throw new VfioError('EINVAL', 'low power already entered');
  vdev.pmRuntimeEngaged = true;
  vdev.pmWakeEventfd = wakeFd;
}

/** VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY (SET only, no payload). The device suspends when the ioctl returns. */
export function vfioPciCorePmEntry(vdev: VfioPciCoreDevice, flags: number, data: Uint8Array): number {
  if (vfioCheckFeature(flags, data.length, VFIO_DEVICE_FEATURE_SET, 0) !== 1) return 0;
  runtimePmEntry(vdev, -1);
  return 0;
}

/**
 * VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP (SET, struct vfio_device_low_power_entry_with_wakeup): EINVAL for a
 * negative fd or one that is not an eventfd, EBADF for a closed one; the eventfd fires when anything wakes the device.
 */
export function vfioPciCorePmEntryWithWakeup(vdev: VfioPciCoreDevice, flags: number, data: Uint8Array): number {
  if (vfioCheckFeature(flags, data.length, VFIO_DEVICE_FEATURE_SET, VFIO_DEVICE_LOW_POWER_ENTRY_WITH_WAKEUP_SIZEOF) !== 1) return 0;
  const fd = new DataView(data.buffer, data.byteOffset, data.byteLength).getInt32(0, true);
  if (fd < 0) throw new VfioError('EINVAL', `wakeup eventfd ${fd}`);
  const own = takeEventfd(fd);
  try {
    runtimePmEntry(vdev, own);
  } catch (err) {
    close(own); // balances takeEventfd: the entry was refused
    throw err;
  }
  return 0;
}

/**
 * VFIO_DEVICE_FEATURE_LOW_POWER_EXIT (SET only): the ioctl itself woke the device (signalling a wakeup eventfd, which
 * already left low power); the exit is then a no-op or leaves a plain entry.
 */
export function vfioPciCorePmExit(vdev: VfioPciCoreDevice, flags: number, data: Uint8Array): number {
  if (vfioCheckFeature(flags, data.length, VFIO_DEVICE_FEATURE_SET, 0) !== 1) return 0;
  pmExitLocked(vdev);
  return 0;
}

/** vfio_pci_core_disable()'s start: low power left (no wakeup signalled), then the device resumed. */
export function vfioPciRuntimePmExitAndResume(vdev: VfioPciCoreDevice): void {
  pmExitLocked(vdev);
  runtimeResume(vdev);
}
