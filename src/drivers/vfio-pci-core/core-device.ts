// struct vfio_pci_core_device (include/linux/vfio_pci_core.h): the PCI function a vfio-pci style driver drives,
// its virtual config space, interrupt and reset state. Variant drivers extend this class.
import type { PciDev } from '../../hw/pci/pci-dev.js';
import type { PciSavedState } from '../../hw/pci/pci-state.js';
import { PciEmuIrqTriggers } from '../../emu/irq-triggers.js';
import { VfioDevice } from '../../vfio/vfio-device.js';
import type { BusNotifier } from '../../base/bus.js';
import type { PermBits } from './config-perms.js';
import type { VfioPciVfToken } from './sriov.js';

/** vdev->irq_type: the enabled interrupt index, or none (VFIO_PCI_NUM_IRQS in the kernel). */
export type VfioPciIrqType = 'none' | 'intx' | 'msi' | 'msix';

/** One VFIO_DEVICE_IOEVENTFD: a write of `data` (width bytes) to `offset` of BAR `bar` when `fd` is signalled. */
export interface VfioPciIoeventfd {
  readonly bar: number;
  readonly offset: number;
  readonly width: number;
  readonly data: bigint;
  /** Our dup of the user's eventfd (closed when the ioeventfd goes). */
  readonly fd: number;
  /** Stops watching `fd`. */
  stop(): void;
}

export class VfioPciCoreDevice extends VfioDevice {
  /** The function this device drives (vdev->pdev); set by vfioPciCoreInitDev. */
  pdev: PciDev | null = null;

  // ---- config virtualization (vfio_pci_config.c) --------------------------------------------
  /** The user's view of config space (vdev->vconfig); null while the device is closed. */
  vconfig: Uint8Array | null = null;
  /** Which capability each config byte belongs to (vdev->pci_config_map). */
  pciConfigMap: Uint8Array | null = null;
  /** The MSI capability's per-device permissions (vdev->msi_perm). */
  msiPerm: PermBits | null = null;
  /** log2 of the MSI vectors the hardware offers (vdev->msi_qmax). */
  msiQmax = 0;
  /** The virtual BARs need a fixup before the next read (vdev->bardirty). */
  bardirty = false;
  /** The hardware BARs as the host programmed them, to restore after a backdoor reset (vdev->rbar). */
  readonly rbar = new Uint32Array(7);
  /** The user set INTX_DISABLE in the virtual COMMAND (vdev->virq_disabled). */
  virqDisabled = false;
  /** An extended capability list exists (vdev->extended_caps). */
  extendedCaps = false;

  // ---- interrupts (vfio_pci_intrs.c) ---------------------------------------------------------
  /** The user's eventfds (ctx->trigger per vector, the INTx unmask irqfd, err_trigger, req_trigger). */
  readonly triggers = new PciEmuIrqTriggers(() => this.onUnmaskEventfd?.());
  /** Set by the interrupt code: what the INTx unmask eventfd does. */
  onUnmaskEventfd: (() => void) | null = null;
  /** The enabled interrupt index (vdev->irq_type); the trigger table keeps it. */
  get irqType(): VfioPciIrqType {
    return this.triggers.type;
  }
  /** INTx masked by us (ctx->masked). */
  intxMasked = false;
  /** The function masks INTx through PCI_COMMAND (vdev->pci_2_3). */
  pci23 = false;
  /** INTx hidden from the user (vdev->nointx). */
  nointx = false;

  // ---- reset and enable state (vfio_pci_core.c) ----------------------------------------------
  /** A function reset works (vdev->reset_works). */
  resetWorks = false;
  /** The function was used and not reset since (vdev->needs_reset); a set reset on the last close clears it. */
  needsReset = false;
  /** Config space as it was before the user opened the device (vdev->pci_saved_state). */
  pciSavedState: PciSavedState | null = null;
  /** The BAR holding the MSI-X table, or -1 (vdev->msix_bar), and the table's place in it. */
  msixBar = -1;
  /** pci_resource_len() of each BAR as first asked (-1: not implemented): the access path reads it every time. */
  barLens: number[] | null = null;
  msixOffset = 0;
  msixSize = 0;
  hasVga = false;
  /** The core's disable_vga parameter (vfio_pci_core_set_params), set by the driver before it registers. */
  disableVga = false;
  /** Memory BARs a user may mmap (vdev->bar_mmap_supported), found on open by vfioPciProbeMmaps. */
  readonly barMmapSupported: boolean[] = [false, false, false, false, false, false];
  /** The function loses its state on D3hot -> D0 (No_Soft_Reset clear): save it around D3 (vdev->needs_pm_restore). */
  needsPmRestore = false;
  /** The state saved on the way into D3hot (vdev->pm_save). */
  pmSave: PciSavedState | null = null;
  /** The user asked for low power (vdev->pm_runtime_engaged). */
  pmRuntimeEngaged = false;
  /** Our dup of the wakeup eventfd of LOW_POWER_ENTRY_WITH_WAKEUP, or -1 (vdev->pm_wake_eventfd_ctx). */
  pmWakeEventfd = -1;
  /** INTx was masked on the way into runtime suspend, to unmask on resume (vdev->pm_intx_masked). */
  pmIntxMasked = false;
  /** Accesses in flight holding the device awake (the runtime PM usage the ioctl and rw wrappers take). */
  pmUsage = 0;
  /** Runtime suspended: the state the PCI core saved before D3hot (null while active). */
  pmRuntimeSaved: PciSavedState | null = null;
  /** VFIO_DEVICE_IOEVENTFDs (vdev->ioeventfds_list). */
  readonly ioeventfds: VfioPciIoeventfd[] = [];

  // ---- SR-IOV (vfio_pci_vf_init, vfio_pci_core_sriov_configure) ---------------------------------
  /** A PF's VF token (vdev->vf_token); null for anything but an SR-IOV PF while registered. */
  vfToken: VfioPciVfToken | null = null;
  /** A VF's vfio-pci PF, when that PF created it through vfio (vdev->sriov_pf_core_dev). */
  sriovPfCoreDev: VfioPciCoreDevice | null = null;
  /** This PF enabled its VFs through vfio-pci (on the kernel's vfio_pci_sriov_pfs list). */
  sriovPfsItem = false;
  /** The PF's bus notifier steering its new VFs to this driver (vdev->nb). */
  busNotifier: BusNotifier | null = null;
}

/** The function a core device drives; its absence is a driver bug (init did not run). */
export function pdevOf(vdev: VfioPciCoreDevice): PciDev {
  const pdev = vdev.pdev;
  if (pdev === null) throw new Error('vfio-pci-core device without a pci_dev: vfioPciCoreInitDev did not run');
  return pdev;
}
