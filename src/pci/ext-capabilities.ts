// Lays out the PCI Express extended capability list from 0x100 (ACS, SR-IOV) with per-field masks (QEMU hw/pci/pcie.c).

import { check } from '../uapi/errno.js';
import { PCI_CFG_SPACE_EXP_SIZE, PCI_CFG_SPACE_SIZE } from '../uapi/pci-regs.js';
import {
  PCI_ACS_CAP,
  PCI_ACS_CTRL,
  PCI_EXT_CAP_ACS_SIZEOF,
  PCI_EXT_CAP_ID,
  PCI_EXT_CAP_ID_ACS,
  PCI_EXT_CAP_ID_SRIOV,
  PCI_EXT_CAP_NEXT,
  PCI_EXT_CAP_SRIOV_SIZEOF,
  PCI_SRIOV_CTRL,
  PCI_SRIOV_CTRL_ARI,
  PCI_SRIOV_CTRL_MSE,
  PCI_SRIOV_CTRL_VFE,
  PCI_SRIOV_INITIAL_VF,
  PCI_SRIOV_NUM_VF,
  PCI_SRIOV_SUP_PGSIZE,
  PCI_SRIOV_SYS_PGSIZE,
  PCI_SRIOV_TOTAL_VF,
  PCI_SRIOV_VF_DID,
  PCI_SRIOV_VF_OFFSET,
  PCI_SRIOV_VF_STRIDE,
} from '../uapi/pci-regs-ext.js';
import type { PciConfigSpace } from './config-space.js';

export interface SriovOptions {
  totalVfs: number;
  /** Routing-ID offset of VF 0 from the PF (First VF Offset). */
  vfOffset: number;
  /** Routing-ID distance between consecutive VFs (VF Stride). */
  vfStride: number;
  vfDeviceId: number;
}

/** An extended capability found by walking the list. */
export interface PciExtCapRef {
  id: number;
  offset: number;
}

/**
 * Appends extended capabilities from 0x100 (dword aligned), keeping each header's next pointer consistent.
 * Only for 4096-byte (PCI Express) config spaces.
 */
export class PciExtCapabilityBuilder {
  private next = PCI_CFG_SPACE_SIZE;
  private last: number | undefined;

  constructor(private readonly config: PciConfigSpace) {
    check(config.size === PCI_CFG_SPACE_EXP_SIZE, 'EINVAL', 'extended capabilities need a PCI Express config space');
  }

  /** Access Control Services with the capability bits `cap`; the control bits the capability offers are writable. */
  addAcs(cap: number): number {
    const at = this.alloc(PCI_EXT_CAP_ID_ACS, 1, PCI_EXT_CAP_ACS_SIZEOF);
    this.config.setWord(at + PCI_ACS_CAP, cap & 0xff7f);
    this.config.setWritable(at + PCI_ACS_CTRL, 2, cap & 0x7f);
    return at;
  }

  /** SR-IOV: VF Enable, VF MSE, ARI Capable Hierarchy, NumVFs and the system page size are writable. */
  addSriov(opts: SriovOptions): number {
    check(Number.isInteger(opts.totalVfs) && opts.totalVfs >= 1 && opts.totalVfs <= 0xffff, 'EINVAL', `TotalVFs ${opts.totalVfs}`);
    check(Number.isInteger(opts.vfOffset) && opts.vfOffset >= 1 && opts.vfOffset <= 0xffff, 'EINVAL', `First VF Offset ${opts.vfOffset}`);
    check(Number.isInteger(opts.vfStride) && opts.vfStride >= 1 && opts.vfStride <= 0xffff, 'EINVAL', `VF Stride ${opts.vfStride}`);
    const at = this.alloc(PCI_EXT_CAP_ID_SRIOV, 1, PCI_EXT_CAP_SRIOV_SIZEOF);
    const c = this.config;
    c.setWritable(at + PCI_SRIOV_CTRL, 2, PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE | PCI_SRIOV_CTRL_ARI);
    c.setWord(at + PCI_SRIOV_INITIAL_VF, opts.totalVfs);
    c.setWord(at + PCI_SRIOV_TOTAL_VF, opts.totalVfs);
    c.setWritable(at + PCI_SRIOV_NUM_VF, 2, 0xffff);
    c.setWord(at + PCI_SRIOV_VF_OFFSET, opts.vfOffset);
    c.setWord(at + PCI_SRIOV_VF_STRIDE, opts.vfStride);
    c.setWord(at + PCI_SRIOV_VF_DID, opts.vfDeviceId);
    // 4 KiB pages supported and selected.
    c.setDword(at + PCI_SRIOV_SUP_PGSIZE, 0x553);
    c.setDword(at + PCI_SRIOV_SYS_PGSIZE, 0x1);
    c.setWritable(at + PCI_SRIOV_SYS_PGSIZE, 4, 0xffffffff);
    return at;
  }

  private alloc(id: number, version: number, size: number): number {
    const at = this.next;
    check(at + size <= PCI_CFG_SPACE_EXP_SIZE, 'ENOSPC', `extended capability 0x${id.toString(16)} does not fit`);
    const c = this.config;
    c.setDword(at, (id | (version << 16)) >>> 0);
    if (this.last !== undefined) c.setDword(this.last, (c.getDword(this.last) & 0xfffff) | (at << 20));
    this.last = at;
    this.next = (at + size + 3) & ~3;
    return at;
  }
}

/** Walks the extended capability list from 0x100 through guest reads; an all-zero header ends it. */
export function walkExtCapabilities(config: PciConfigSpace): PciExtCapRef[] {
  const out: PciExtCapRef[] = [];
  if (config.size !== PCI_CFG_SPACE_EXP_SIZE) return out;
  const seen = new Set<number>();
  let at = PCI_CFG_SPACE_SIZE;
  while (at >= PCI_CFG_SPACE_SIZE && at < PCI_CFG_SPACE_EXP_SIZE && !seen.has(at)) {
    seen.add(at);
    const header = config.read(at, 4);
    if (header === 0 || header === 0xffffffff) break;
    out.push({ id: PCI_EXT_CAP_ID(header), offset: at });
    at = PCI_EXT_CAP_NEXT(header);
  }
  return out;
}

/** pci_find_ext_capability(): the offset of the first extended capability with `id`, or undefined. */
export function findExtCapability(config: PciConfigSpace, id: number): number | undefined {
  return walkExtCapabilities(config).find((c) => c.id === id)?.offset;
}
