// Register names and numbers of the HiSilicon accelerator queue manager (include/linux/hisi_acc_qm.h,
// drivers/crypto/hisilicon/qm.c, drivers/vfio/pci/hisilicon/hisi_acc_vfio_pci.h) and the PCI ids of the ZIP, SEC
// and HPRE functions (include/linux/pci_ids.h). Context and descriptor layouts are this model's (see README).

/** PCI_VENDOR_ID_HUAWEI. */
export const PCI_VENDOR_ID_HUAWEI = 0x19e5;

/** The three accelerator kinds, each a PF whose VFs carry the kind's engine. */
export type HisiAccKind = 'zip' | 'sec' | 'hpre';

export interface HisiAccKindInfo {
  readonly pfDevice: number;
  readonly vfDevice: number;
  readonly classCode: number;
  /** The engine's own interrupt status register on the PF (HZIP_CORE_INT_STATUS, SEC_CORE_INT_STATUS, HPRE_HAC_INT_STATUS). */
  readonly coreIntStatus: number;
}

export const HISI_ACC_KINDS: Readonly<Record<HisiAccKind, HisiAccKindInfo>> = Object.freeze({
  zip: { pfDevice: 0xa250, vfDevice: 0xa251, classCode: 0x1200, coreIntStatus: 0x3010ac },
  sec: { pfDevice: 0xa255, vfDevice: 0xa256, classCode: 0x1080, coreIntStatus: 0x301008 },
  hpre: { pfDevice: 0xa258, vfDevice: 0xa259, classCode: 0x1080, coreIntStatus: 0x301800 },
});

/** enum qm_hw_ver: the PF's revision is its QM version. */
export const QM_HW_V2 = 0x21;
export const QM_HW_V3 = 0x30;

/** The QM's register BAR. */
export const QM_BAR = 2;

// ---- a function's QM registers (BAR2; the VF's lower half is the user's) -----------------------------------
export const QM_VF_AEQ_INT_MASK = 0x0004;
export const QM_VF_EQ_INT_MASK = 0x000c;
export const QM_IFC_INT_SOURCE_V = 0x0020;
export const QM_IFC_INT_MASK = 0x0024;
export const QM_IFC_INT_STATUS = 0x0028;
export const QM_IFC_INT_SET_V = 0x002c;
export const QM_QUE_ISO_CFG_V = 0x0030;
export const QM_PAGE_SIZE = 0x0034;
/** enum qm_vf_state in QM_VF_STATE: the guest's QM driver writes READY when it starts, NOT_READY when it stops. */
export const QM_VF_STATE = 0x0060;
export const QM_READY = 0;
export const QM_NOT_READY = 1;
export const QM_CACHE_WB_START = 0x0204;
export const QM_CACHE_WB_DONE = 0x0208;

// ---- mailbox (struct qm_mailbox at QM_MB_CMD_SEND_BASE) ---------------------------------------------------
export const QM_MB_CMD_SEND_BASE = 0x0300;
export const QM_MB_CMD_DATA_ADDR_L = 0x0304;
export const QM_MB_CMD_DATA_ADDR_H = 0x0308;
export const QM_MB_CMD_SQC = 0x0;
export const QM_MB_CMD_CQC = 0x1;
export const QM_MB_CMD_EQC = 0x2;
export const QM_MB_CMD_AEQC = 0x3;
export const QM_MB_CMD_SQC_BT = 0x4;
export const QM_MB_CMD_CQC_BT = 0x5;
export const QM_MB_CMD_SQC_VFT_V2 = 0x6;
export const QM_MB_CMD_STOP_QP = 0x8;
export const QM_MB_CMD_PAUSE_QM = 0xe;
export const QM_MB_BUSY_SHIFT = 13;
export const QM_MB_OP_SHIFT = 14;
/** QM_MB_STATUS_MASK (bits 12:9 of w0): non-zero after a command the QM refused. */
export const QM_MB_STATUS_SHIFT = 9;
export const QM_MB_STATUS_MASK = 0xf << QM_MB_STATUS_SHIFT;

// ---- doorbells (64-bit: qn | cmd << 12 | rand << 16 | index << 32 | priority << 48) ---------------------
export const QM_DOORBELL_SQ_CQ_BASE_V2 = 0x1000;
export const QM_DOORBELL_EQ_AEQ_BASE_V2 = 0x2000;
export const QM_DOORBELL_CMD_SQ = 0;
export const QM_DOORBELL_CMD_CQ = 1;
export const QM_DOORBELL_CMD_EQ = 2;
export const QM_DOORBELL_CMD_AEQ = 3;
export const QM_DB_CMD_SHIFT_V2 = 12;
export const QM_DB_INDEX_SHIFT_V2 = 32;
export const QM_DB_PRIORITY_SHIFT_V2 = 48;

// ---- the VF's migration area (its BAR2's upper half) --------------------------------------------------
export const QM_EQC_DW0 = 0x8000;
export const QM_AEQC_DW0 = 0x8020;
/** QM_REGS_MAX_LEN: the EQC and AEQC shadows are 7 dwords each. */
export const QM_XQC_DWORDS = 7;

// ---- the PF's registers -------------------------------------------------------------------------
/** The queue pairs the QM has for all its functions (the kernel reads ctrl_qp_num from a capability register; this model's offset). */
export const QM_CTRL_QP_NUM_CAP = 0x3104;
export const QM_ABNORMAL_INT_STATUS = 0x100008;
export const QM_VFT_CFG_OP_ENABLE = 0x100054;
export const QM_VFT_CFG_OP_WR = 0x100058;
export const QM_VFT_CFG_TYPE = 0x10005c;
export const QM_VFT_CFG = 0x100060;
export const QM_VFT_CFG_DATA_L = 0x100064;
export const QM_VFT_CFG_DATA_H = 0x100068;
export const QM_VFT_CFG_RDY = 0x10006c;
/** QM_VFT_CFG_TYPE values. */
export const SQC_VFT = 0;
export const CQC_VFT = 1;
/** The SQC VFT word: valid, first queue, queue count - 1. */
export const QM_SQC_VFT_VALID = 1n << 44n;
export const QM_SQC_VFT_BASE_SHIFT_V2 = 28n;
export const QM_SQC_VFT_BASE_MASK_V2 = 0xffffn;
export const QM_SQC_VFT_NUM_SHIFT_V2 = 45n;
export const QM_SQC_VFT_NUM_MASK_V2 = 0x3ffn;

/** The SQC VFT word for `num` queues from `base` (qm_vft_data_cfg). */
export function qmSqcVft(base: number, num: number): bigint {
  return QM_SQC_VFT_VALID | (BigInt(base) << QM_SQC_VFT_BASE_SHIFT_V2) | (BigInt(num - 1) << QM_SQC_VFT_NUM_SHIFT_V2);
}

/** Base and count of an SQC VFT word, as qm_get_vft decodes it (count 0 when the word is not valid). */
export function qmDecodeVft(vft: bigint): { base: number; num: number } {
  if ((vft & QM_SQC_VFT_VALID) === 0n) return { base: 0, num: 0 };
  return { base: Number((vft >> QM_SQC_VFT_BASE_SHIFT_V2) & QM_SQC_VFT_BASE_MASK_V2), num: Number((vft >> QM_SQC_VFT_NUM_SHIFT_V2) & QM_SQC_VFT_NUM_MASK_V2) + 1 };
}

// ---- contexts and descriptors in memory ------------------------------------------------------------
/** struct qm_sqc / struct qm_cqc: 32 bytes each (head, tail, base, w8 = depth - 1; SQC cq_num at 24; CQC dw6 bit 0 = phase). */
export const QM_CTX_SIZE = 32;
/** An EQC/AEQC in memory is the 7 dwords the QM shows at QM_EQC_DW0/QM_AEQC_DW0 (dw0/1 base, dw2 tail | phase << 16, dw3 depth - 1). */
export const QM_XQC_SIZE = QM_XQC_DWORDS * 4;
/** An SQE: tag u16 @0, op u8 @2, len u32 @4, src u64 @8, dst u64 @16, key u64 @24. */
export const QM_SQE_SIZE = 32;
/** A CQE (struct qm_cqe): result u32 @0, tag u16 @4, sq_head u16 @8, sq_num u16 @10, w7 u16 @14 (phase bit 0, status from bit 1). */
export const QM_CQE_SIZE = 16;
/** An EQE (struct qm_eqe): cq number bits 15:0, phase bit 16. */
export const QM_EQE_SIZE = 4;
/** CQE status: done, a request the engine refuses, a DMA fault. */
export const QM_CQE_OK = 0;
export const QM_CQE_BAD_REQUEST = 1;
export const QM_CQE_DMA_FAULT = 2;
/** The longest buffer one SQE may name. */
export const QM_SQE_MAX_LEN = 1 << 16;
/** MSI-X vectors of a VF: the event queue and the asynchronous event queue. */
export const QM_EQ_VECTOR = 0;
export const QM_AEQ_VECTOR = 1;
