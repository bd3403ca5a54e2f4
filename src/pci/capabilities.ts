// Lays out a capability list (PM, MSI, MSI-X, vendor, PCIe) from 0x40 with per-field masks (QEMU hw/pci/msi.c, msix.c).

import { check } from '../uapi/errno.js';
import {
  PCI_CAPABILITY_LIST,
  PCI_CAP_EXP_ENDPOINT_SIZEOF_V2,
  PCI_CAP_ID_AF,
  PCI_CAP_ID_EXP,
  PCI_CAP_ID_MSI,
  PCI_CAP_ID_MSIX,
  PCI_CAP_ID_PM,
  PCI_CAP_ID_VNDR,
  PCI_CAP_LIST_NEXT,
  PCI_CAP_MSIX_SIZEOF,
  PCI_CAP_VNDR_LEN,
  PCI_CFG_SPACE_SIZE,
  PCI_EXP_DEVCAP,
  PCI_EXP_DEVCAP_FLR,
  PCI_EXP_DEVCTL,
  PCI_EXP_DEVSTA,
  PCI_EXP_FLAGS,
  PCI_EXP_LNKCAP,
  PCI_EXP_LNKCTL,
  PCI_EXP_LNKSTA,
  PCI_EXP_TYPE_ENDPOINT,
  PCI_EXP_TYPE_RC_END,
  PCI_MSIX_FLAGS,
  PCI_MSIX_FLAGS_ENABLE,
  PCI_MSIX_FLAGS_MASKALL,
  PCI_MSIX_PBA,
  PCI_MSIX_TABLE,
  PCI_MSI_ADDRESS_HI,
  PCI_MSI_ADDRESS_LO,
  PCI_MSI_DATA_32,
  PCI_MSI_DATA_64,
  PCI_MSI_FLAGS,
  PCI_MSI_FLAGS_64BIT,
  PCI_MSI_FLAGS_ENABLE,
  PCI_MSI_FLAGS_MASKBIT,
  PCI_MSI_FLAGS_QSIZE,
  PCI_MSI_MASK_32,
  PCI_MSI_MASK_64,
  PCI_MSI_PENDING_32,
  PCI_MSI_PENDING_64,
  PCI_PM_CTRL,
  PCI_PM_CTRL_NO_SOFT_RESET,
  PCI_PM_CTRL_PME_ENABLE,
  PCI_PM_CTRL_PME_STATUS,
  PCI_PM_CTRL_STATE_MASK,
  PCI_PM_PMC,
  PCI_PM_SIZEOF,
  PCI_STATUS,
  PCI_STATUS_CAP_LIST,
  PCI_STD_HEADER_SIZEOF,
} from '../uapi/pci-regs.js';
import type { PciConfigSpace } from './config-space.js';

/** Where an MSI capability sits and what it offers (irq.ts reads it through this). */
export interface MsiCapInfo {
  offset: number;
  /** Multiple Message Capable: 1, 2, 4, 8, 16 or 32 vectors. */
  vectors: number;
  addr64: boolean;
  perVectorMask: boolean;
  /** Offsets within config space of the fields that depend on the layout. */
  dataOffset: number;
  maskOffset: number | undefined;
  pendingOffset: number | undefined;
}

/** Where an MSI-X capability sits and where its table and PBA live. */
export interface MsixCapInfo {
  offset: number;
  tableSize: number;
  tableBir: number;
  tableOffset: number;
  pbaBir: number;
  pbaOffset: number;
}

export interface PmOptions {
  /** PMC capabilities word beyond the version (D1/D2/PME support bits). */
  pmc?: number;
  /** Whether D3hot -> D0 keeps state (PCI_PM_CTRL_NO_SOFT_RESET). Default true. */
  noSoftReset?: boolean;
}

export interface MsiOptions {
  vectors: number;
  addr64?: boolean;
  perVectorMask?: boolean;
}

export interface MsixOptions {
  tableSize: number;
  tableBir: number;
  tableOffset: number;
  pbaBir: number;
  pbaOffset: number;
}

export interface ExpOptions {
  /** 'endpoint' (default) or an integrated root-complex endpoint. */
  type?: 'endpoint' | 'rc-end';
  /** Advertise Function Level Reset in DEVCAP. */
  flr?: boolean;
}

/** A capability found by walking the list. */
export interface PciCapRef {
  id: number;
  offset: number;
}

const MSI_VECTOR_COUNTS = [1, 2, 4, 8, 16, 32];

/**
 * Appends capabilities one after another from 0x40 (dword aligned), keeping
 * PCI_CAPABILITY_LIST, each next pointer and STATUS.CAP_LIST consistent after every add.
 */
export class PciCapabilityBuilder {
  private next: number;
  private last: number | undefined;

  constructor(
    private readonly config: PciConfigSpace,
    start: number = PCI_STD_HEADER_SIZEOF,
  ) {
    check(start >= PCI_STD_HEADER_SIZEOF && (start & 3) === 0, 'EINVAL', `capability start 0x${start.toString(16)}`);
    this.next = start;
  }

  /** Power management, version 3, in D0. PowerState and PME_En are writable, PME_Status is w1c. */
  addPm(opts: PmOptions = {}): number {
    const at = this.alloc(PCI_CAP_ID_PM, PCI_PM_SIZEOF);
    const c = this.config;
    c.setWord(at + PCI_PM_PMC, 3 | ((opts.pmc ?? 0) & ~0x7));
    c.setWord(at + PCI_PM_CTRL, opts.noSoftReset === false ? 0 : PCI_PM_CTRL_NO_SOFT_RESET);
    c.setWritable(at + PCI_PM_CTRL, 2, PCI_PM_CTRL_STATE_MASK | PCI_PM_CTRL_PME_ENABLE);
    c.setW1c(at + PCI_PM_CTRL, 2, PCI_PM_CTRL_PME_STATUS);
    return at;
  }

  /**
   * MSI with 32- or 64-bit addresses and optional per-vector masking. Enable, the vector
   * count (QSIZE), address, data and mask bits are writable; pending bits are the device's.
   */
  addMsi(opts: MsiOptions): MsiCapInfo {
    check(MSI_VECTOR_COUNTS.includes(opts.vectors), 'EINVAL', `MSI vector count ${opts.vectors}`);
    const addr64 = opts.addr64 ?? false;
    const perVectorMask = opts.perVectorMask ?? false;
    const size = (addr64 ? 14 : 10) + (perVectorMask ? 10 : 0);
    const at = this.alloc(PCI_CAP_ID_MSI, (size + 3) & ~3);
    const c = this.config;
    const log2 = Math.log2(opts.vectors);
    c.setWord(
      at + PCI_MSI_FLAGS,
      (log2 << 1) | (addr64 ? PCI_MSI_FLAGS_64BIT : 0) | (perVectorMask ? PCI_MSI_FLAGS_MASKBIT : 0),
    );
    c.setWritable(at + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
    c.setWritable(at + PCI_MSI_ADDRESS_LO, 4, 0xfffffffc);
    if (addr64) c.setWritable(at + PCI_MSI_ADDRESS_HI, 4, 0xffffffff);
    const dataOffset = at + (addr64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32);
    c.setWritable(dataOffset, 2, 0xffff);
    let maskOffset: number | undefined;
    let pendingOffset: number | undefined;
    if (perVectorMask) {
      maskOffset = at + (addr64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32);
      pendingOffset = at + (addr64 ? PCI_MSI_PENDING_64 : PCI_MSI_PENDING_32);
      c.setWritable(maskOffset, 4, opts.vectors === 32 ? 0xffffffff : 2 ** opts.vectors - 1);
    }
    return { offset: at, vectors: opts.vectors, addr64, perVectorMask, dataOffset, maskOffset, pendingOffset };
  }

  /** MSI-X: Enable and Function Mask are writable; the table and PBA live in BARs. */
  addMsix(opts: MsixOptions): MsixCapInfo {
    check(Number.isInteger(opts.tableSize) && opts.tableSize >= 1 && opts.tableSize <= 2048, 'EINVAL', `MSI-X table size ${opts.tableSize}`);
    for (const [bir, off] of [
      [opts.tableBir, opts.tableOffset],
      [opts.pbaBir, opts.pbaOffset],
    ] as const) {
      check(Number.isInteger(bir) && bir >= 0 && bir <= 5, 'EINVAL', `MSI-X BIR ${bir}`);
      check(Number.isInteger(off) && off >= 0 && off < 2 ** 32 && (off & 7) === 0, 'EINVAL', `MSI-X offset ${off}`);
    }
    const at = this.alloc(PCI_CAP_ID_MSIX, PCI_CAP_MSIX_SIZEOF);
    const c = this.config;
    c.setWord(at + PCI_MSIX_FLAGS, opts.tableSize - 1);
    c.setWritable(at + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
    c.setDword(at + PCI_MSIX_TABLE, (opts.tableOffset | opts.tableBir) >>> 0);
    c.setDword(at + PCI_MSIX_PBA, (opts.pbaOffset | opts.pbaBir) >>> 0);
    return { offset: at, ...opts };
  }

  /**
   * A vendor-specific capability: byte 2 holds its length, `payload` starts at byte 3 (so
   * mdpy's format dword at cap + 4 is payload[1..4]). `writable` optionally masks payload bits.
   */
  addVendor(payload: Uint8Array, writable?: Uint8Array): number {
    const length = 3 + payload.length;
    check(length <= 0xff, 'EINVAL', `vendor capability of ${length} bytes`);
    check(writable === undefined || writable.length === payload.length, 'EINVAL', 'writable mask length');
    const at = this.alloc(PCI_CAP_ID_VNDR, (length + 3) & ~3);
    this.config.setByte(at + PCI_CAP_VNDR_LEN, length);
    this.config.setBytes(at + 3, payload);
    if (writable !== undefined) this.config.wmask.set(writable, at + 3);
    return at;
  }

  /** Advanced Features (conventional PCI FLR): Transactions Pending and FLR capable; the FLR bit is writable. */
  addAf(): number {
    const at = this.alloc(PCI_CAP_ID_AF, 8);
    this.config.setByte(at + 2, 6);
    this.config.setByte(at + 3, 0x03);
    this.config.setWritable(at + 4, 1, 0x01);
    return at;
  }

  /** A minimal PCI Express v2 endpoint capability: x1 link at 2.5 GT/s, 128-byte payload. */
  addExp(opts: ExpOptions = {}): number {
    const at = this.alloc(PCI_CAP_ID_EXP, PCI_CAP_EXP_ENDPOINT_SIZEOF_V2);
    const c = this.config;
    const type = opts.type === 'rc-end' ? PCI_EXP_TYPE_RC_END : PCI_EXP_TYPE_ENDPOINT;
    c.setWord(at + PCI_EXP_FLAGS, 2 | (type << 4));
    c.setDword(at + PCI_EXP_DEVCAP, opts.flr === true ? PCI_EXP_DEVCAP_FLR : 0);
    // Error reporting enables, relaxed ordering, payload, read request size, no-snoop.
    c.setWritable(at + PCI_EXP_DEVCTL, 2, 0x7fff);
    c.setW1c(at + PCI_EXP_DEVSTA, 2, 0x000f);
    c.setDword(at + PCI_EXP_LNKCAP, 0x11);
    c.setWritable(at + PCI_EXP_LNKCTL, 2, 0x0fc3);
    c.setWord(at + PCI_EXP_LNKSTA, 0x11);
    return at;
  }

  private alloc(id: number, size: number): number {
    const at = this.next;
    check(at + size <= PCI_CFG_SPACE_SIZE, 'ENOSPC', `capability 0x${id.toString(16)} does not fit at 0x${at.toString(16)}`);
    const c = this.config;
    c.setByte(at, id);
    c.setByte(at + PCI_CAP_LIST_NEXT, 0);
    if (this.last === undefined) c.setByte(PCI_CAPABILITY_LIST, at);
    else c.setByte(this.last + PCI_CAP_LIST_NEXT, at);
    c.setBits(PCI_STATUS, 2, PCI_STATUS_CAP_LIST, true);
    this.last = at;
    this.next = (at + size + 3) & ~3;
    return at;
  }
}

/**
 * Walks the capability list from PCI_CAPABILITY_LIST as a guest would (through guest reads),
 * stopping at a null pointer, a pointer into the header, or a loop.
 */
export function walkCapabilities(config: PciConfigSpace): PciCapRef[] {
  const out: PciCapRef[] = [];
  if ((config.read(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST) === 0) return out;
  const seen = new Set<number>();
  let ptr = config.read(PCI_CAPABILITY_LIST, 1) & ~3;
  while (ptr >= PCI_STD_HEADER_SIZEOF && ptr < PCI_CFG_SPACE_SIZE && !seen.has(ptr)) {
    seen.add(ptr);
    out.push({ id: config.read(ptr, 1), offset: ptr });
    ptr = config.read(ptr + PCI_CAP_LIST_NEXT, 1) & ~3;
  }
  return out;
}

/** The offset of the first capability with `id`, or undefined. */
export function findCapability(config: PciConfigSpace, id: number): number | undefined {
  return walkCapabilities(config).find((c) => c.id === id)?.offset;
}
