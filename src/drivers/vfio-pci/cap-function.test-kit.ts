// Test support for vfio-pci's config virtualization: a PCI function whose capability chains hold what a test needs
// (MSI, AF with FLR, and capabilities drivers/vfio/pci/vfio_pci_config.c hides, standard and extended), with one
// BAR of registers that raise MSI vectors. It is a real PciFunction (config space, reset, interrupt logic), laid out
// by the same builders the models use; the hidden capabilities are written with ids no builder offers.
import { PciBars } from '../../pci/bar.js';
import { PciCapabilityBuilder } from '../../pci/capabilities.js';
import type { MsiCapInfo } from '../../pci/capabilities.js';
import { PciFunction } from '../../hw/pci/pci-function.js';
import { PCI_CAP_ID_DBG, PCI_CAP_ID_SLOTID, PCI_CFG_SPACE_EXP_SIZE, PCI_CFG_SPACE_SIZE } from '../../uapi/pci-regs.js';

/** BAR0 register: writing N raises MSI vector N (an edge event of the function). */
export const CAPFN_REG_RAISE = 0x0;
/** BAR0 register: a plain read/write scratch dword. */
export const CAPFN_REG_SCRATCH = 0x4;

export interface CapFunctionOptions {
  /** MSI with this many vectors (64-bit addresses, per-vector masking); none when absent. */
  readonly msiVectors?: 1 | 2 | 4 | 8 | 16 | 32;
  /** An Advanced Features capability whose FLR bit resets the function. */
  readonly afFlr?: boolean;
  /** Standard capabilities vfio-pci hides (Slot ID, Debug port) interleaved with the visible ones. */
  readonly hiddenCaps?: boolean;
  /** Only hidden standard capabilities (the user must see no capability list at all). */
  readonly onlyHiddenCaps?: boolean;
  /**
   * Extended capabilities (a 4 KiB config space and a PCI Express capability): [id, version] in chain order from
   * 0x100, one every 0x40 bytes.
   */
  readonly ecaps?: readonly (readonly [number, number])[];
}

/** Where the test function put each capability (0: absent). */
export interface CapFunctionLayout {
  pm: number;
  msi: number;
  af: number;
  exp: number;
  slotId: number;
  dbg: number;
  /** Offsets of the extended capabilities, in the order given. */
  ecaps: number[];
}

export class CapFunction extends PciFunction {
  readonly model = 'cap-function';
  readonly layout: CapFunctionLayout = { pm: 0, msi: 0, af: 0, exp: 0, slotId: 0, dbg: 0, ecaps: [] };
  private scratch = 0;

  constructor(opts: CapFunctionOptions = {}) {
    super(opts.ecaps !== undefined ? PCI_CFG_SPACE_EXP_SIZE : PCI_CFG_SPACE_SIZE);
    this.setIds({ vendor: 0x1234, device: 0x11e0, classCode: 0xff00, revision: 1 });
    this.bars = new PciBars(this.config, [{ index: 0, kind: 'mem32', size: 4096 }]);
    const caps = new PciCapabilityBuilder(this.config);
    // A capability no builder offers: a vendor capability's slot relabelled with the hidden id.
    const hidden = (id: number): number => {
      const at = caps.addVendor(new Uint8Array(1));
      this.config.setByte(at, id);
      return at;
    };
    let msi: MsiCapInfo | undefined;
    if (opts.onlyHiddenCaps === true) {
      this.layout.slotId = hidden(PCI_CAP_ID_SLOTID);
      this.layout.dbg = hidden(PCI_CAP_ID_DBG);
    } else {
      this.layout.pm = caps.addPm({ noSoftReset: true });
      if (opts.hiddenCaps === true) this.layout.slotId = hidden(PCI_CAP_ID_SLOTID);
      if (opts.msiVectors !== undefined) {
        msi = caps.addMsi({ vectors: opts.msiVectors, addr64: true, perVectorMask: true });
        this.layout.msi = msi.offset;
      }
      if (opts.hiddenCaps === true) this.layout.dbg = hidden(PCI_CAP_ID_DBG);
      if (opts.afFlr === true) this.layout.af = caps.addAf();
      // Extended capabilities are only looked for behind a PCI Express capability (vfio_cap_len).
      if (opts.ecaps !== undefined) this.layout.exp = caps.addExp();
    }
    if (this.layout.pm !== 0) this.wirePm(this.layout.pm);
    if (this.layout.af !== 0) this.wireAfFlr(this.layout.af);
    if (msi !== undefined) this.setupIrq({ msi });
    const ecaps = opts.ecaps ?? [];
    ecaps.forEach(([id, version], i) => {
      const at = PCI_CFG_SPACE_SIZE + i * 0x40;
      const next = i + 1 < ecaps.length ? at + 0x40 : 0;
      this.config.setDword(at, (id | (version << 16) | (next << 20)) >>> 0);
      // A recognizable payload: the dword after the header holds the capability's offset.
      this.config.setDword(at + 4, at);
      this.layout.ecaps.push(at);
    });
    this.powerOn();
  }

  protected resetState(): void {
    this.scratch = 0;
  }

  protected mmioRead(_bar: number, offset: number, out: Uint8Array): void {
    const v = (offset & ~3) === CAPFN_REG_SCRATCH ? this.scratch : 0;
    for (let i = 0; i < out.length; i++) out[i] = (v >>> (8 * ((offset + i) & 3))) & 0xff;
  }

  protected mmioWrite(_bar: number, offset: number, data: Uint8Array): void {
    if (data.length !== 4 || (offset & 3) !== 0) return;
    const v = new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true);
    if (offset === CAPFN_REG_RAISE) this.irq.raise(v);
    else if (offset === CAPFN_REG_SCRATCH) this.scratch = v;
  }
}
