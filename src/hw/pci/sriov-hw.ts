// The hardware half of SR-IOV (PCIe Base 9.3.3): a PF's capability registers deciding which VFs exist.
// VF Enable with NumVFs makes VFs 0..NumVFs-1 answer at PF + First VF Offset + n * VF Stride; NumVFs is
// read-only while VFs are enabled; clearing VF Enable (or a PF reset) makes them vanish, state and all.
import type { PciConfigSpace } from '../../pci/config-space.js';
import { PCI_SRIOV_CTRL, PCI_SRIOV_CTRL_VFE, PCI_SRIOV_NUM_VF, PCI_SRIOV_TOTAL_VF, PCI_SRIOV_VF_OFFSET, PCI_SRIOV_VF_STRIDE } from '../../uapi/pci-regs-ext.js';
import type { PciFunction } from './pci-function.js';

export class SriovVfSet {
  private readonly live = new Map<number, PciFunction>();
  private readonly made: PciFunction[] = [];
  private enabled = false;
  private numVfs = 0;

  constructor(
    private readonly config: PciConfigSpace,
    private readonly pos: number,
    /** Builds VF `n` (once; later enables reset it instead). */
    private readonly makeVf: (n: number) => PciFunction,
  ) {
    config.watch(pos + PCI_SRIOV_NUM_VF, 2, () => this.numVfsWritten());
    config.watch(pos + PCI_SRIOV_CTRL, 2, () => this.ctrlWritten());
  }

  /** The enabled VFs by routing-ID offset from the PF. */
  get functions(): ReadonlyMap<number, PciFunction> {
    return this.live;
  }

  /** VF `n` if it is enabled. */
  vf(n: number): PciFunction | undefined {
    const c = this.config;
    return this.live.get(c.getWord(this.pos + PCI_SRIOV_VF_OFFSET) + n * c.getWord(this.pos + PCI_SRIOV_VF_STRIDE));
  }

  /** The PF was reset: its config image already has VF Enable clear. */
  reset(): void {
    this.enabled = false;
    this.numVfs = 0;
    this.live.clear();
  }

  private numVfsWritten(): void {
    const c = this.config;
    const at = this.pos + PCI_SRIOV_NUM_VF;
    const total = c.getWord(this.pos + PCI_SRIOV_TOTAL_VF);
    // Read-only while VF Enable is set; values above TotalVFs are not stored.
    if (this.enabled || c.getWord(at) > total) c.setWord(at, this.numVfs);
    else this.numVfs = c.getWord(at);
  }

  private ctrlWritten(): void {
    const c = this.config;
    const on = (c.getWord(this.pos + PCI_SRIOV_CTRL) & PCI_SRIOV_CTRL_VFE) !== 0;
    if (on === this.enabled) return;
    this.enabled = on;
    this.live.clear();
    if (!on) return;
    const offset = c.getWord(this.pos + PCI_SRIOV_VF_OFFSET);
    const stride = c.getWord(this.pos + PCI_SRIOV_VF_STRIDE);
    for (let n = 0; n < this.numVfs; n++) {
      let vf = this.made[n];
      if (vf === undefined) {
        vf = this.makeVf(n);
        this.made[n] = vf;
      } else {
        vf.hardwareReset('power-on');
      }
      this.live.set(offset + n * stride, vf);
    }
  }
}
