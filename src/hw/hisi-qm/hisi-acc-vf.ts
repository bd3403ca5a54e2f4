// A HiSilicon accelerator VF (19e5:a251 ZIP, a256 SEC, a259 HPRE): its queue manager in BAR2 (64 KiB: the QM
// registers, mailbox and doorbells in the lower half, the migration area with the EQC/AEQC shadows in the upper
// half, as hisi_acc_vfio_pci.c splits it), MSI-X (EQ and AEQ vectors) in BAR0, FLR. Its queue count comes from
// the VFT its PF programmed. A reset (FLR, or the PF re-enabling VFs) returns the QM to power-on.
import { PciBars } from '../../pci/bar.js';
import { PciCapabilityBuilder } from '../../pci/capabilities.js';
import { PCI_CFG_SPACE_EXP_SIZE } from '../../uapi/pci-regs.js';
import { PciFunction } from '../pci/pci-function.js';
import type { PciDmaPort, PciHwResetKind } from '../pci/pci-function.js';
import { QmCore } from './qm-core.js';
import type { QmCoreOptions } from './qm-core.js';
import { HISI_ACC_KINDS, PCI_VENDOR_ID_HUAWEI, QM_BAR } from './qm-regs.js';
import type { HisiAccKind } from './qm-regs.js';
import { dwordRegBytes, dwordRegWriteValue } from '../pci/dword-regs.js';

/** BAR2 of a VF: the user's half, then the migration area. */
export const HISI_ACC_VF_BAR2_SIZE = 0x10000;
const MSIX_BAR = 0;
const MSIX_PBA_OFFSET = 0x800;

export interface HisiAccVfOptions extends QmCoreOptions {
  readonly kind: HisiAccKind;
  /** The SQC VFT word the PF holds for this function (read on every use: the PF may reprogram it). */
  readonly sqcVft: () => bigint;
}

export class HisiAccVf extends PciFunction {
  readonly model: string;
  readonly kind: HisiAccKind;
  readonly qm: QmCore;

  constructor(opts: HisiAccVfOptions) {
    super(PCI_CFG_SPACE_EXP_SIZE);
    const info = HISI_ACC_KINDS[opts.kind];
    this.kind = opts.kind;
    this.model = `hisi-${opts.kind}-vf`;
    this.setIds({ vendor: PCI_VENDOR_ID_HUAWEI, device: info.vfDevice, classCode: info.classCode, revision: 0x30 });
    this.bars = new PciBars(this.config, [
      { index: MSIX_BAR, kind: 'mem32', size: 4096 },
      { index: QM_BAR, kind: 'mem32', size: HISI_ACC_VF_BAR2_SIZE },
    ]);
    const caps = new PciCapabilityBuilder(this.config);
    const exp = caps.addExp({ flr: true });
    const msix = caps.addMsix({ tableSize: 2, tableBir: MSIX_BAR, tableOffset: 0, pbaBir: MSIX_BAR, pbaOffset: MSIX_PBA_OFFSET });
    this.wireFlr(exp);
    this.setupIrq({ msix });
    this.qm = new QmCore(
      {
        kind: opts.kind,
        dmaPort: (): PciDmaPort | null => (this.busMaster ? this.dma : null),
        raise: (vector) => this.irq.raise(vector),
        sqcVft: opts.sqcVft,
      },
      opts.sqeBurst === undefined ? {} : { sqeBurst: opts.sqeBurst },
    );
    this.powerOn();
  }

  /** No level cause: the QM's events are MSI-X edges (a VF has no INTx pin). */
  updateIrq(): void {
    this.irq.setLine(false);
  }

  protected resetState(_kind: PciHwResetKind): void {
    this.qm.reset();
    this.updateIrq();
  }

  protected mmioRead(bar: number, offset: number, out: Uint8Array): void {
    if (bar === MSIX_BAR) {
      this.irq.msi.readMsixBar(offset, out, MSIX_PBA_OFFSET);
      return;
    }
    dwordRegBytes(this.qm.readReg(offset & ~3), offset, out);
  }

  protected mmioWrite(bar: number, offset: number, data: Uint8Array): void {
    if (bar === MSIX_BAR) {
      this.irq.msi.writeMsixBar(offset, data);
      return;
    }
    // Aligned dword writes only (a 64-bit doorbell arrives as two); anything else is ignored, as the hardware does.
    const v = dwordRegWriteValue(offset, data);
    if (v >= 0) this.qm.writeReg(offset, v);
  }
}
