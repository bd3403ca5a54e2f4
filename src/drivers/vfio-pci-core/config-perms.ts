// The config-space permission tables of drivers/vfio/pci/vfio_pci_config.c: for each capability, which bits are
// virtualized (read from and written to vconfig) and which bits a user may write (through to the hardware when not
// virtualized), plus the capability lengths that decide which capabilities the user sees at all.
import {
  PCI_BASE_ADDRESS_0,
  PCI_BASE_ADDRESS_1,
  PCI_BASE_ADDRESS_2,
  PCI_BASE_ADDRESS_3,
  PCI_BASE_ADDRESS_4,
  PCI_BASE_ADDRESS_5,
  PCI_BIST,
  PCI_CACHE_LINE_SIZE,
  PCI_CAPABILITY_LIST,
  PCI_CAP_ID_AF,
  PCI_CAP_ID_AGP,
  PCI_CAP_ID_AGP3,
  PCI_CAP_ID_CCRC,
  PCI_CAP_ID_CHSWP,
  PCI_CAP_ID_DBG,
  PCI_CAP_ID_EXP,
  PCI_CAP_ID_HT,
  PCI_CAP_ID_MAX,
  PCI_CAP_ID_MSI,
  PCI_CAP_ID_MSIX,
  PCI_CAP_ID_PCIX,
  PCI_CAP_ID_PM,
  PCI_CAP_ID_SATA,
  PCI_CAP_ID_SECDEV,
  PCI_CAP_ID_SHPC,
  PCI_CAP_ID_SLOTID,
  PCI_CAP_ID_SSVID,
  PCI_CAP_ID_VNDR,
  PCI_CAP_ID_VPD,
  PCI_CAP_LIST_NEXT,
  PCI_CAP_EXP_ENDPOINT_SIZEOF_V2,
  PCI_CAP_MSIX_SIZEOF,
  PCI_COMMAND,
  PCI_COMMAND_INTX_DISABLE,
  PCI_DEVICE_ID,
  PCI_EXP_DEVCTL,
  PCI_EXP_DEVCTL2,
  PCI_EXP_DEVCTL_BCR_FLR,
  PCI_INTERRUPT_LINE,
  PCI_INTERRUPT_PIN,
  PCI_LATENCY_TIMER,
  PCI_MSI_ADDRESS_HI,
  PCI_MSI_ADDRESS_LO,
  PCI_MSI_DATA_32,
  PCI_MSI_DATA_64,
  PCI_MSI_FLAGS,
  PCI_MSI_FLAGS_64BIT,
  PCI_MSI_FLAGS_MASKBIT,
  PCI_MSI_MASK_32,
  PCI_MSI_MASK_64,
  PCI_MSI_PENDING_32,
  PCI_MSI_PENDING_64,
  PCI_PM_CAP_PME_MASK,
  PCI_PM_CTRL,
  PCI_PM_CTRL_PME_ENABLE,
  PCI_PM_CTRL_PME_STATUS,
  PCI_PM_CTRL_STATE_MASK,
  PCI_PM_PMC,
  PCI_PM_SIZEOF,
  PCI_ROM_ADDRESS,
  PCI_STATUS,
  PCI_STATUS_CAP_LIST,
  PCI_STD_HEADER_SIZEOF,
  PCI_VENDOR_ID,
} from '../../uapi/pci-regs.js';
import { PCI_AF_CTRL, PCI_AF_CTRL_FLR, PCI_CAP_AF_SIZEOF, PCI_EXT_CAP_ID_ACS, PCI_EXT_CAP_ID_ARI, PCI_EXT_CAP_ID_ERR, PCI_EXT_CAP_ID_SRIOV, PCI_EXT_CAP_SRIOV_SIZEOF } from '../../uapi/pci-regs-ext.js';
import * as R from '../../uapi/pci-regs-vfio.js';

/** Fake capability id of the standard header (PCI_CAP_ID_BASIC). */
export const PCI_CAP_ID_BASIC = 0;
/** pci_config_map values for bytes outside any capability (vfio_pci_priv.h). */
export const PCI_CAP_ID_INVALID = 0xff;
export const PCI_CAP_ID_INVALID_VIRT = 0xfe;

/** How a read of a region is served (the kernel's readfn). */
export type PermReadFn = 'default' | 'direct' | 'raw' | 'virt' | 'basic' | 'msi';
/** How a write is served (the kernel's writefn); null: writes are dropped. */
export type PermWriteFn = 'default' | 'raw' | 'virt' | 'basic' | 'pm' | 'vpd' | 'exp' | 'af' | 'msi' | null;

/** struct perm_bits: per-byte virt and write masks (all readable, none writable, none virtualized by default). */
export class PermBits {
  readonly virt: Uint8Array;
  readonly write: Uint8Array;

  constructor(
    readonly name: string,
    /** Bytes covered, rounded up to a dword (alloc_perm_bits); 0 for tables without masks. */
    size: number,
    readonly readFn: PermReadFn,
    readonly writeFn: PermWriteFn,
  ) {
    const n = (size + 3) & ~3;
    this.virt = new Uint8Array(n);
    this.write = new Uint8Array(n);
  }

  /** The virt and write masks of [offset, offset + count) as little-endian numbers (0 past the table). */
  masks(offset: number, count: number): { virt: number; write: number } {
    return { virt: this.virtMask(offset, count), write: leBytes(this.write, offset, count) };
  }

  /** The virt mask alone (every config read asks for it: no allocation). */
  virtMask(offset: number, count: number): number {
    return leBytes(this.virt, offset, count);
  }
}

/** `count` (1, 2 or 4) bytes of `b` from `offset` as a little-endian u32; 0 past the end. */
function leBytes(b: Uint8Array, offset: number, count: number): number {
  let v = b[offset] ?? 0;
  if (count >= 2) v |= (b[offset + 1] ?? 0) << 8;
  if (count === 4) v |= ((b[offset + 2] ?? 0) << 16) | ((b[offset + 3] ?? 0) << 24);
  return v >>> 0;
}

const NO_VIRT = 0;
const ALL_VIRT = 0xffffffff;
const NO_WRITE = 0;
const ALL_WRITE = 0xffffffff;

function pSet(p: PermBits, off: number, bytes: number, virt: number, write: number): void {
  for (let i = 0; i < bytes; i++) {
    p.virt[off + i] = Math.floor((virt >>> 0) / 2 ** (8 * i)) & 0xff;
    p.write[off + i] = Math.floor((write >>> 0) / 2 ** (8 * i)) & 0xff;
  }
}
const pSetb = (p: PermBits, off: number, virt: number, write: number): void => pSet(p, off, 1, virt, write);
const pSetw = (p: PermBits, off: number, virt: number, write: number): void => pSet(p, off, 2, virt, write);
const pSetd = (p: PermBits, off: number, virt: number, write: number): void => pSet(p, off, 4, virt, write);

/** init_pci_cap_basic_perm(). */
function basicPerms(): PermBits {
  const p = new PermBits('basic', PCI_STD_HEADER_SIZEOF, 'basic', 'basic');
  // Virtualized for SR-IOV functions, which read 0xffff there.
  pSetw(p, PCI_VENDOR_ID, ALL_VIRT, NO_WRITE);
  pSetw(p, PCI_DEVICE_ID, ALL_VIRT, NO_WRITE);
  // INTx disable is ours: it masks the interrupt and is emulated for devices without PCI 2.3 masking.
  pSetw(p, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, ALL_WRITE);
  // The capability list is virtual so capabilities can be hidden.
  pSetw(p, PCI_STATUS, PCI_STATUS_CAP_LIST, NO_WRITE);
  pSetb(p, PCI_CACHE_LINE_SIZE, NO_VIRT, ALL_WRITE);
  pSetb(p, PCI_LATENCY_TIMER, NO_VIRT, ALL_WRITE);
  pSetb(p, PCI_BIST, NO_VIRT, ALL_WRITE);
  // The user sizes and programs virtual BARs; the real ones stay where the host put them.
  for (const bar of [PCI_BASE_ADDRESS_0, PCI_BASE_ADDRESS_1, PCI_BASE_ADDRESS_2, PCI_BASE_ADDRESS_3, PCI_BASE_ADDRESS_4, PCI_BASE_ADDRESS_5, PCI_ROM_ADDRESS]) {
    pSetd(p, bar, ALL_VIRT, ALL_WRITE);
  }
  pSetb(p, PCI_CAPABILITY_LIST, ALL_VIRT, NO_WRITE);
  pSetb(p, PCI_INTERRUPT_LINE, ALL_VIRT, ALL_WRITE);
  // Virtual so INTx can be hidden.
  pSetb(p, PCI_INTERRUPT_PIN, ALL_VIRT, NO_WRITE);
  return p;
}

/** init_pci_cap_pm_perm(): power state changes are trapped; PME is hidden from the user. */
function pmPerms(): PermBits {
  const p = new PermBits('pm', PCI_PM_SIZEOF, 'default', 'pm');
  pSetb(p, PCI_CAP_LIST_NEXT, ALL_VIRT, NO_WRITE);
  pSetw(p, PCI_PM_PMC, PCI_PM_CAP_PME_MASK, NO_WRITE);
  pSetd(p, PCI_PM_CTRL, PCI_PM_CTRL_PME_ENABLE | PCI_PM_CTRL_PME_STATUS, ~(PCI_PM_CTRL_PME_ENABLE | PCI_PM_CTRL_PME_STATUS | PCI_PM_CTRL_STATE_MASK));
  return p;
}

/** init_pci_cap_vpd_perm(): address and data are virtual (pci_read_vpd/pci_write_vpd serve them). */
function vpdPerms(): PermBits {
  const p = new PermBits('vpd', R.PCI_CAP_VPD_SIZEOF, 'default', 'vpd');
  pSetb(p, PCI_CAP_LIST_NEXT, ALL_VIRT, NO_WRITE);
  pSetw(p, R.PCI_VPD_ADDR, ALL_VIRT, ALL_WRITE);
  pSetd(p, R.PCI_VPD_DATA, ALL_VIRT, ALL_WRITE);
  return p;
}

/** init_pci_cap_pcix_perm(). */
function pcixPerms(): PermBits {
  const p = new PermBits('pcix', R.PCI_CAP_PCIX_SIZEOF_V2, 'default', 'default');
  pSetb(p, PCI_CAP_LIST_NEXT, ALL_VIRT, NO_WRITE);
  pSetw(p, R.PCI_X_CMD, NO_VIRT, ALL_WRITE);
  pSetd(p, R.PCI_X_ECC_CSR, NO_VIRT, ALL_WRITE);
  return p;
}

/** init_pci_cap_exp_perm(): device control except phantom functions; FLR, MPS and MRRS go through exp writes. */
function expPerms(): PermBits {
  const p = new PermBits('exp', PCI_CAP_EXP_ENDPOINT_SIZEOF_V2, 'default', 'exp');
  pSetb(p, PCI_CAP_LIST_NEXT, ALL_VIRT, NO_WRITE);
  pSetw(p, PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_BCR_FLR | R.PCI_EXP_DEVCTL_PAYLOAD | R.PCI_EXP_DEVCTL_READRQ, ~R.PCI_EXP_DEVCTL_PHANTOM);
  pSetw(p, PCI_EXP_DEVCTL2, NO_VIRT, ~R.PCI_EXP_DEVCTL2_ARI);
  return p;
}

/** init_pci_cap_af_perm(): the FLR bit is virtual and starts a function reset. */
function afPerms(): PermBits {
  const p = new PermBits('af', PCI_CAP_AF_SIZEOF, 'default', 'af');
  pSetb(p, PCI_CAP_LIST_NEXT, ALL_VIRT, NO_WRITE);
  pSetb(p, PCI_AF_CTRL, PCI_AF_CTRL_FLR, PCI_AF_CTRL_FLR);
  return p;
}

/** init_pci_ext_cap_err_perm(): the header (with the next pointer) is virtual; error bits may be written. */
function errPerms(): PermBits {
  const p = new PermBits('err', R.PCI_ERR_ROOT_COMMAND, 'default', 'default');
  pSetd(p, 0, ALL_VIRT, NO_WRITE);
  const unc =
    R.PCI_ERR_UNC_UND | R.PCI_ERR_UNC_DLP | R.PCI_ERR_UNC_SURPDN | R.PCI_ERR_UNC_POISON_TLP | R.PCI_ERR_UNC_FCP |
    R.PCI_ERR_UNC_COMP_TIME | R.PCI_ERR_UNC_COMP_ABORT | R.PCI_ERR_UNC_UNX_COMP | R.PCI_ERR_UNC_RX_OVER |
    R.PCI_ERR_UNC_MALF_TLP | R.PCI_ERR_UNC_ECRC | R.PCI_ERR_UNC_UNSUP | R.PCI_ERR_UNC_ACSV | R.PCI_ERR_UNC_INTN |
    R.PCI_ERR_UNC_MCBTLP | R.PCI_ERR_UNC_ATOMEG | R.PCI_ERR_UNC_TLPPRE;
  pSetd(p, R.PCI_ERR_UNCOR_STATUS, NO_VIRT, unc);
  pSetd(p, R.PCI_ERR_UNCOR_MASK, NO_VIRT, unc);
  pSetd(p, R.PCI_ERR_UNCOR_SEVER, NO_VIRT, unc);
  const cor =
    R.PCI_ERR_COR_RCVR | R.PCI_ERR_COR_BAD_TLP | R.PCI_ERR_COR_BAD_DLLP | R.PCI_ERR_COR_REP_ROLL | R.PCI_ERR_COR_REP_TIMER |
    R.PCI_ERR_COR_ADV_NFAT | R.PCI_ERR_COR_INTERNAL | R.PCI_ERR_COR_LOG_OVER;
  pSetd(p, R.PCI_ERR_COR_STATUS, NO_VIRT, cor);
  pSetd(p, R.PCI_ERR_COR_MASK, NO_VIRT, cor);
  pSetd(p, R.PCI_ERR_CAP, NO_VIRT, R.PCI_ERR_CAP_ECRC_GENE | R.PCI_ERR_CAP_ECRC_CHKE);
  return p;
}

/** init_pci_ext_cap_pwr_perm(): the data select byte may be written; the rest is read-only. */
function pwrPerms(): PermBits {
  const p = new PermBits('pwr', R.PCI_EXT_CAP_PWR_SIZEOF, 'default', 'default');
  pSetd(p, 0, ALL_VIRT, NO_WRITE);
  pSetb(p, R.PCI_PWR_DATA, NO_VIRT, ALL_WRITE);
  return p;
}

/** Capabilities without a table: read straight from the hardware (next pointer virtual), writes dropped. */
const directOnly = (name: string): PermBits => new PermBits(name, 0, 'direct', null);

function capTable(): readonly PermBits[] {
  const t: PermBits[] = [];
  for (let id = 0; id <= PCI_CAP_ID_MAX; id++) t.push(directOnly(`cap 0x${id.toString(16)}`));
  t[PCI_CAP_ID_BASIC] = basicPerms();
  t[PCI_CAP_ID_PM] = pmPerms();
  t[PCI_CAP_ID_VPD] = vpdPerms();
  t[PCI_CAP_ID_PCIX] = pcixPerms();
  // Vendor capabilities pass writes to the hardware untouched.
  t[PCI_CAP_ID_VNDR] = new PermBits('vndr', 0, 'direct', 'raw');
  t[PCI_CAP_ID_EXP] = expPerms();
  t[PCI_CAP_ID_AF] = afPerms();
  return Object.freeze(t);
}

function ecapTable(): readonly PermBits[] {
  const t: PermBits[] = [];
  for (let id = 0; id <= R.PCI_EXT_CAP_ID_MAX; id++) t.push(directOnly(`ecap 0x${id.toString(16)}`));
  t[PCI_EXT_CAP_ID_ERR] = errPerms();
  t[R.PCI_EXT_CAP_ID_PWR] = pwrPerms();
  t[R.PCI_EXT_CAP_ID_VNDR] = new PermBits('ecap vndr', 0, 'direct', 'raw');
  return Object.freeze(t);
}

/** cap_perms[]: shared by every device, as the kernel's (MSI is per device: vfioMsiPerms). */
export const CAP_PERMS: readonly PermBits[] = capTable();
/** ecap_perms[]. */
export const ECAP_PERMS: readonly PermBits[] = ecapTable();
/** Bytes between capabilities: raw access (some devices hide registers there). */
export const UNASSIGNED_PERMS = new PermBits('unassigned', 0, 'raw', 'raw');
/** Bytes only vconfig holds. */
export const VIRT_PERMS = new PermBits('virt', 0, 'virt', 'virt');

/** init_pci_cap_msi_perm(): the whole capability is virtual except the mask and pending bits. */
export function vfioMsiPerms(len: number, flags: number): PermBits {
  const p = new PermBits('msi', len, 'msi', 'msi');
  pSetb(p, PCI_CAP_LIST_NEXT, ALL_VIRT, NO_WRITE);
  // The upper byte of the control register is reserved.
  pSetb(p, PCI_MSI_FLAGS, ALL_VIRT, ALL_WRITE);
  pSetd(p, PCI_MSI_ADDRESS_LO, ALL_VIRT, ALL_WRITE);
  if ((flags & PCI_MSI_FLAGS_64BIT) !== 0) {
    pSetd(p, PCI_MSI_ADDRESS_HI, ALL_VIRT, ALL_WRITE);
    pSetw(p, PCI_MSI_DATA_64, ALL_VIRT, ALL_WRITE);
    if ((flags & PCI_MSI_FLAGS_MASKBIT) !== 0) {
      pSetd(p, PCI_MSI_MASK_64, NO_VIRT, ALL_WRITE);
      pSetd(p, PCI_MSI_PENDING_64, NO_VIRT, ALL_WRITE);
    }
  } else {
    pSetw(p, PCI_MSI_DATA_32, ALL_VIRT, ALL_WRITE);
    if ((flags & PCI_MSI_FLAGS_MASKBIT) !== 0) {
      pSetd(p, PCI_MSI_MASK_32, NO_VIRT, ALL_WRITE);
      pSetd(p, PCI_MSI_PENDING_32, NO_VIRT, ALL_WRITE);
    }
  }
  return p;
}

/** pci_cap_length[]: 0 hides the capability from the user, 0xff means "ask vfioCapLen". */
export const PCI_CAP_LENGTH: ReadonlyMap<number, number> = new Map([
  [PCI_CAP_ID_BASIC, PCI_STD_HEADER_SIZEOF],
  [PCI_CAP_ID_PM, PCI_PM_SIZEOF],
  [PCI_CAP_ID_AGP, R.PCI_AGP_SIZEOF],
  [PCI_CAP_ID_VPD, R.PCI_CAP_VPD_SIZEOF],
  [PCI_CAP_ID_SLOTID, 0],
  [PCI_CAP_ID_MSI, 0xff],
  [PCI_CAP_ID_CHSWP, 0],
  [PCI_CAP_ID_PCIX, 0xff],
  [PCI_CAP_ID_HT, 0xff],
  [PCI_CAP_ID_VNDR, 0xff],
  [PCI_CAP_ID_DBG, 0],
  [PCI_CAP_ID_CCRC, 0],
  [PCI_CAP_ID_SHPC, 0],
  [PCI_CAP_ID_SSVID, 0],
  [PCI_CAP_ID_AGP3, 0],
  [PCI_CAP_ID_SECDEV, 0],
  [PCI_CAP_ID_EXP, 0xff],
  [PCI_CAP_ID_MSIX, PCI_CAP_MSIX_SIZEOF],
  [PCI_CAP_ID_SATA, 0xff],
  [PCI_CAP_ID_AF, PCI_CAP_AF_SIZEOF],
]);

/** pci_ext_cap_length[]: ids not listed (and those past PCI_EXT_CAP_ID_MAX) are hidden. */
export const PCI_EXT_CAP_LENGTH: ReadonlyMap<number, number> = new Map([
  [PCI_EXT_CAP_ID_ERR, R.PCI_ERR_ROOT_COMMAND],
  [R.PCI_EXT_CAP_ID_VC, 0xff],
  [R.PCI_EXT_CAP_ID_DSN, R.PCI_EXT_CAP_DSN_SIZEOF],
  [R.PCI_EXT_CAP_ID_PWR, R.PCI_EXT_CAP_PWR_SIZEOF],
  [R.PCI_EXT_CAP_ID_RCLD, 0],
  [R.PCI_EXT_CAP_ID_RCILC, 0],
  [R.PCI_EXT_CAP_ID_RCEC, 0],
  [R.PCI_EXT_CAP_ID_MFVC, 0xff],
  [R.PCI_EXT_CAP_ID_VC9, 0xff],
  [R.PCI_EXT_CAP_ID_RCRB, 0],
  [R.PCI_EXT_CAP_ID_VNDR, 0xff],
  [R.PCI_EXT_CAP_ID_CAC, 0],
  [PCI_EXT_CAP_ID_ACS, 0xff],
  [PCI_EXT_CAP_ID_ARI, R.PCI_EXT_CAP_ARI_SIZEOF],
  [R.PCI_EXT_CAP_ID_ATS, R.PCI_EXT_CAP_ATS_SIZEOF],
  [PCI_EXT_CAP_ID_SRIOV, PCI_EXT_CAP_SRIOV_SIZEOF],
  [R.PCI_EXT_CAP_ID_MRIOV, 0],
  [R.PCI_EXT_CAP_ID_MCAST, R.PCI_EXT_CAP_MCAST_ENDPOINT_SIZEOF],
  [R.PCI_EXT_CAP_ID_PRI, R.PCI_EXT_CAP_PRI_SIZEOF],
  [R.PCI_EXT_CAP_ID_AMD_XXX, 0],
  [R.PCI_EXT_CAP_ID_REBAR, 0xff],
  [R.PCI_EXT_CAP_ID_DPA, 0xff],
  [R.PCI_EXT_CAP_ID_TPH, 0xff],
  [R.PCI_EXT_CAP_ID_LTR, R.PCI_EXT_CAP_LTR_SIZEOF],
  [R.PCI_EXT_CAP_ID_SECPCI, 0],
  [R.PCI_EXT_CAP_ID_PMUX, 0],
  [R.PCI_EXT_CAP_ID_PASID, 0],
]);
