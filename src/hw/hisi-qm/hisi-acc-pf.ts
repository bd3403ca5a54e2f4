// A HiSilicon accelerator PF (19e5:a250 ZIP, a255 SEC, a258 HPRE) with the SR-IOV capability: its QM's global
// registers in BAR2 (the VFT that gives each function its queue pairs through QM_VFT_CFG*, QM_QUE_ISO_CFG_V, the
// RAS and engine interrupt status), and VFs that are HisiAccVf queue managers. The PF's own queues and engine
// interrupts are not modelled: nothing here raises a RAS error.
import { PciBars } from '../../pci/bar.js';
import { PciCapabilityBuilder } from '../../pci/capabilities.js';
import { PciExtCapabilityBuilder } from '../../pci/ext-capabilities.js';
import { PCI_CFG_SPACE_EXP_SIZE } from '../../uapi/pci-regs.js';
import { PciFunction } from '../pci/pci-function.js';
import type { PciHwResetKind } from '../pci/pci-function.js';
import { SriovVfSet } from '../pci/sriov-hw.js';
import { HisiAccVf } from './hisi-acc-vf.js';
import * as R from './qm-regs.js';
import type { HisiAccKind } from './qm-regs.js';
import { dwordRegBytes, dwordRegWriteValue } from '../pci/dword-regs.js';

export interface HisiAccPfOptions {
  readonly kind: HisiAccKind;
  /** TotalVFs (default 4). */
  readonly totalVfs?: number;
  /** Queue pairs the QM has for the PF and its VFs together (default 64). */
  readonly totalQps?: number;
  /** The QM version in the revision id (default QM_HW_V3; QM_HW_V2 parts cannot migrate). */
  readonly revision?: number;
  /** SQEs a VF's QM fetches per doorbell (default all). */
  readonly sqeBurst?: number;
}

const PF_BAR2_SIZE = 0x400000;
/** QM_MAX_VFS_NUM_V2. */
const QM_MAX_VFS_NUM_V2 = 63;

/** One function's VFT words (SQC and CQC). */
interface Vft {
  sqc: bigint;
  cqc: bigint;
}

export class HisiAccPf extends PciFunction {
  readonly model: string;
  readonly kind: HisiAccKind;
  readonly totalQps: number;
  private readonly vfSet: SriovVfSet;
  /** By function number: 0 the PF, n the VF with id n - 1. */
  private readonly vft = new Map<number, Vft>();
  private vftOpWr = 0;
  private vftType = 0;
  private vftFun = 0;
  private vftData = 0n;
  private vftRdy = 1;
  private queIsoCfg = 0;
  private abnormalIntStatus = 0;
  private coreIntStatus = 0;

  constructor(opts: HisiAccPfOptions) {
    super(PCI_CFG_SPACE_EXP_SIZE);
    const info = R.HISI_ACC_KINDS[opts.kind];
    this.kind = opts.kind;
    this.model = `hisi-${opts.kind}-pf`;
    this.totalQps = opts.totalQps ?? 64;
    this.setIds({ vendor: R.PCI_VENDOR_ID_HUAWEI, device: info.pfDevice, classCode: info.classCode, revision: opts.revision ?? R.QM_HW_V3 });
    this.bars = new PciBars(this.config, [{ index: R.QM_BAR, kind: 'mem64', size: PF_BAR2_SIZE }]);
    this.wireFlr(new PciCapabilityBuilder(this.config).addExp({ flr: true }));
    const pos = new PciExtCapabilityBuilder(this.config).addSriov({ totalVfs: opts.totalVfs ?? 4, vfOffset: 1, vfStride: 1, vfDeviceId: info.vfDevice });
    const burst = opts.sqeBurst;
    this.vfSet = new SriovVfSet(this.config, pos, (n) => new HisiAccVf({ kind: opts.kind, sqcVft: () => this.vft.get(n + 1)?.sqc ?? 0n, ...(burst !== undefined ? { sqeBurst: burst } : {}) }));
    this.powerOn();
  }

  override virtualFunctions(): ReadonlyMap<number, PciFunction> {
    return this.vfSet.functions;
  }

  /** VF `n`'s hardware, while enabled. */
  vf(n: number): HisiAccVf | undefined {
    const f = this.vfSet.vf(n);
    return f instanceof HisiAccVf ? f : undefined;
  }

  /** No interrupt causes of its own in this model. */
  updateIrq(): void {
    this.irq.setLine(false);
  }

  protected resetState(_kind: PciHwResetKind): void {
    this.vft.clear();
    Object.assign(this, { vftOpWr: 0, vftType: 0, vftFun: 0, vftData: 0n, vftRdy: 1, queIsoCfg: 0, abnormalIntStatus: 0, coreIntStatus: 0 });
    // VF Enable is clear in the power-on image: every VF is gone.
    this.vfSet?.reset();
    this.updateIrq();
  }

  private readReg(off: number): number {
    switch (off) {
      case R.QM_QUE_ISO_CFG_V: return this.queIsoCfg;
      case R.QM_CTRL_QP_NUM_CAP: return this.totalQps;
      case R.QM_ABNORMAL_INT_STATUS: return this.abnormalIntStatus;
      case R.HISI_ACC_KINDS[this.kind].coreIntStatus: return this.coreIntStatus;
      case R.QM_VFT_CFG_OP_WR: return this.vftOpWr;
      case R.QM_VFT_CFG_TYPE: return this.vftType;
      case R.QM_VFT_CFG: return this.vftFun;
      case R.QM_VFT_CFG_DATA_L: return Number(this.vftData & 0xffffffffn);
      case R.QM_VFT_CFG_DATA_H: return Number(this.vftData >> 32n);
      case R.QM_VFT_CFG_RDY: return this.vftRdy;
      default: return 0;
    }
  }

  private writeReg(off: number, v: number): void {
    switch (off) {
      case R.QM_QUE_ISO_CFG_V: this.queIsoCfg = v; break;
      case R.QM_ABNORMAL_INT_STATUS: this.abnormalIntStatus &= ~v; break;
      case R.HISI_ACC_KINDS[this.kind].coreIntStatus: this.coreIntStatus &= ~v; break;
      case R.QM_VFT_CFG_OP_WR: this.vftOpWr = v & 1; break;
      case R.QM_VFT_CFG_TYPE: this.vftType = v; break;
      case R.QM_VFT_CFG: this.vftFun = v & 0xff; break;
      case R.QM_VFT_CFG_DATA_L: this.vftData = (this.vftData & ~0xffffffffn) | BigInt(v); break;
      case R.QM_VFT_CFG_DATA_H: this.vftData = (this.vftData & 0xffffffffn) | (BigInt(v) << 32n); break;
      case R.QM_VFT_CFG_RDY: this.vftRdy = v & 1; break;
      case R.QM_VFT_CFG_OP_ENABLE: if ((v & 1) !== 0) this.vftOp(); break;
      default: break;
    }
  }

  /** QM_VFT_CFG_OP_ENABLE: OP_WR 0 writes DATA into function CFG's VFT of TYPE, 1 reads it into DATA; RDY again. */
  private vftOp(): void {
    const fun = this.vftFun;
    // Function 0 is the PF, 1..QM_MAX_VFS_NUM_V2 its VFs.
    if (fun <= QM_MAX_VFS_NUM_V2 && (this.vftType === R.SQC_VFT || this.vftType === R.CQC_VFT)) {
      const key = this.vftType === R.SQC_VFT ? 'sqc' : 'cqc';
      if (this.vftOpWr === 0) {
        const e = this.vft.get(fun) ?? { sqc: 0n, cqc: 0n };
        e[key] = this.vftData;
        this.vft.set(fun, e);
      } else {
        this.vftData = this.vft.get(fun)?.[key] ?? 0n;
      }
    }
    this.vftRdy = 1;
  }

  protected mmioRead(_bar: number, offset: number, out: Uint8Array): void {
    dwordRegBytes(this.readReg(offset & ~3), offset, out);
  }

  protected mmioWrite(_bar: number, offset: number, data: Uint8Array): void {
    const v = dwordRegWriteValue(offset, data);
    if (v >= 0) this.writeReg(offset, v);
  }
}
