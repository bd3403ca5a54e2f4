// Reads and writes of the CONFIG region (drivers/vfio/pci/vfio_pci_config.c vfio_pci_config_rw, vfio_config_do_rw
// and the readfn/writefn of each permission table): accesses are cut into aligned pieces inside one capability,
// virtualized bits come from vconfig, the rest from the hardware, and writes to bits a table does not allow are
// dropped, never refused.
import { pciReadConfig, pciWriteConfig } from '../../hw/pci/pci-dev.js';
import { pciResetFunction } from '../../hw/pci/reset.js';
import { IORESOURCE_IO, IORESOURCE_MEM_64, IORESOURCE_PREFETCH } from '../../hw/pci/resources.js';
import { VfioError } from '../../uapi/errno.js';
import {
  PCI_BASE_ADDRESS_0,
  PCI_BASE_ADDRESS_5,
  PCI_BASE_ADDRESS_MEM_PREFETCH,
  PCI_BASE_ADDRESS_MEM_TYPE_64,
  PCI_BASE_ADDRESS_SPACE_IO,
  PCI_CAP_ID_MSI,
  PCI_CAP_LIST_ID,
  PCI_CAP_LIST_NEXT,
  PCI_CFG_SPACE_SIZE,
  PCI_COMMAND,
  PCI_COMMAND_INTX_DISABLE,
  PCI_COMMAND_IO,
  PCI_COMMAND_MEMORY,
  PCI_EXP_DEVCAP,
  PCI_EXP_DEVCAP_FLR,
  PCI_EXP_DEVCTL,
  PCI_EXP_DEVCTL_BCR_FLR,
  PCI_MSI_FLAGS,
  PCI_MSI_FLAGS_ENABLE,
  PCI_MSI_FLAGS_QMASK,
  PCI_MSI_FLAGS_QSIZE,
  PCI_PM_CTRL,
  PCI_PM_CTRL_STATE_MASK,
  PCI_ROM_ADDRESS,
  PCI_ROM_ADDRESS_ENABLE,
  PCI_STD_HEADER_SIZEOF,
} from '../../uapi/pci-regs.js';
import { PCI_AF_CAP, PCI_AF_CAP_FLR, PCI_AF_CAP_TP, PCI_AF_CTRL, PCI_AF_CTRL_FLR } from '../../uapi/pci-regs-ext.js';
import { PCI_EXP_DEVCTL_PAYLOAD, PCI_EXP_DEVCTL_READRQ } from '../../uapi/pci-regs-vfio.js';
import { CAP_PERMS, ECAP_PERMS, PCI_CAP_ID_BASIC, PCI_CAP_ID_INVALID, PCI_CAP_ID_INVALID_VIRT, UNASSIGNED_PERMS, VIRT_PERMS } from './config-perms.js';
import type { PermBits, PermReadFn, PermWriteFn } from './config-perms.js';
import { le16, le32, setLe16, setLe32 } from './config-init.js';
import { pdevOf } from './core-device.js';
import type { VfioPciCoreDevice } from './core-device.js';
import { vfioPciIntxMask, vfioPciIntxUnmask } from './intrs-intx.js';
import { vfioPciSetPowerState } from './power.js';

type Size = 1 | 2 | 4;
const ones = (count: Size): number => (count === 4 ? 0xffffffff : count === 2 ? 0xffff : 0xff);

function vconfigOf(vdev: VfioPciCoreDevice): Uint8Array {
  const v = vdev.vconfig;
  if (v === null) throw new VfioError('EINVAL', 'config space is virtualized only while the device is open');
  return v;
}

function vread(v: Uint8Array, pos: number, count: Size): number {
  return count === 4 ? le32(v, pos) : count === 2 ? le16(v, pos) : (v[pos] ?? 0);
}

function vwrite(v: Uint8Array, pos: number, count: Size, val: number): void {
  if (count === 4) setLe32(v, pos, val);
  else if (count === 2) setLe16(v, pos, val);
  else v[pos] = val & 0xff;
}

// ---- the read and write functions ------------------------------------------------------------

/** vfio_default_config_read(): virtualized bits from vconfig, the others from the hardware. */
function defaultRead(vdev: VfioPciCoreDevice, pos: number, count: Size, perm: PermBits, offset: number): number {
  const v = vconfigOf(vdev);
  let val = vread(v, pos, count);
  const virt = perm.virtMask(offset, count);
  if (virt !== ones(count)) {
    const phys = pciReadConfig(pdevOf(vdev), pos, count);
    val = ((phys & ~virt) | (val & virt)) >>> 0;
  }
  return val;
}

/** vfio_default_config_write(): writable virtual bits to vconfig, writable real bits read-modify-written to hardware. */
function defaultWrite(vdev: VfioPciCoreDevice, pos: number, count: Size, perm: PermBits, offset: number, val: number): void {
  const { virt, write } = perm.masks(offset, count);
  if (write === 0) return;
  const v = vconfigOf(vdev);
  if ((write & virt) !== 0) {
    const cur = vread(v, pos, count);
    vwrite(v, pos, count, ((cur & ~(write & virt)) | (val & write & virt)) >>> 0);
  }
  const real = (write & ~virt) >>> 0;
  if (real !== 0) {
    const pdev = pdevOf(vdev);
    const phys = pciReadConfig(pdev, pos, count);
    pciWriteConfig(pdev, pos, count, ((phys & ~real) | (val & real)) >>> 0);
  }
}

/** vfio_direct_config_read(): the hardware, except capability ids and next pointers, which vconfig holds. */
function directRead(vdev: VfioPciCoreDevice, pos: number, count: Size, _perm: PermBits, offset: number): number {
  let val = pciReadConfig(pdevOf(vdev), pos, count);
  const v = vconfigOf(vdev);
  if (pos >= PCI_CFG_SPACE_SIZE) {
    if (offset < 4) val = vread(v, pos, count);
  } else if (pos >= PCI_STD_HEADER_SIZEOF) {
    if (offset === PCI_CAP_LIST_ID && count > 1) {
      // Id and next (the first PCI_CAP_FLAGS bytes) come from vconfig, the rest of a dword from the hardware.
      val = count === 2 ? le16(v, pos) : ((val & ~0xffff) | le16(v, pos)) >>> 0;
    } else if (offset === PCI_CAP_LIST_NEXT) {
      val = ((val & ~0xff) | (v[pos] ?? 0)) >>> 0;
    }
  }
  return val;
}

const rawRead = (vdev: VfioPciCoreDevice, pos: number, count: Size): number => pciReadConfig(pdevOf(vdev), pos, count);
const rawWrite = (vdev: VfioPciCoreDevice, pos: number, count: Size, val: number): void => pciWriteConfig(pdevOf(vdev), pos, count, val);

const isBar = (offset: number): boolean =>
  (offset >= PCI_BASE_ADDRESS_0 && offset < PCI_BASE_ADDRESS_5 + 4) || (offset >= PCI_ROM_ADDRESS && offset < PCI_ROM_ADDRESS + 4);

/** vfio_generate_bar_flags(). */
function barFlags(flags: number): number {
  if ((flags & IORESOURCE_IO) !== 0) return PCI_BASE_ADDRESS_SPACE_IO;
  return ((flags & IORESOURCE_PREFETCH) !== 0 ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0) | ((flags & IORESOURCE_MEM_64) !== 0 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0);
}

/**
 * vfio_bar_fixup(): the virtual BARs as hardware would answer them: the user's value masked by the BAR's size with
 * the type bits; a BAR the host left unmapped reads 0. The ROM keeps its enable bit. This is what makes sizing work.
 */
export function vfioBarFixup(vdev: VfioPciCoreDevice): void {
  const pdev = pdevOf(vdev);
  const v = vconfigOf(vdev);
  for (let i = 0; i < 6; i++) {
    const at = PCI_BASE_ADDRESS_0 + 4 * i;
    const res = pdev.resource[i];
    if (res === undefined || res.start === 0n) {
      setLe32(v, at, 0);
      continue;
    }
    const mask = ~(res.size - 1n) & ((1n << 64n) - 1n);
    const bar = ((le32(v, at) & Number(mask & 0xffffffffn)) | barFlags(res.flags)) >>> 0;
    setLe32(v, at, bar);
    if ((bar & PCI_BASE_ADDRESS_MEM_TYPE_64) !== 0 && i < 5) {
      i++;
      setLe32(v, at + 4, (le32(v, at + 4) & Number(mask >> 32n)) >>> 0);
    }
  }
  const rom = pdev.resource[6];
  if (rom !== undefined && rom.start !== 0n) {
    const mask = (Number(~(rom.size - 1n) & 0xffffffffn) | PCI_ROM_ADDRESS_ENABLE) >>> 0;
    setLe32(v, PCI_ROM_ADDRESS, (le32(v, PCI_ROM_ADDRESS) & mask) >>> 0);
  } else {
    setLe32(v, PCI_ROM_ADDRESS, 0);
  }
  vdev.bardirty = false;
}

/** vfio_need_bar_restore(): the hardware BARs no longer hold what the host programmed. */
function needBarRestore(vdev: VfioPciCoreDevice): boolean {
  const pdev = pdevOf(vdev);
  for (let i = 0; i < 6; i++) {
    const want = vdev.rbar[i] ?? 0;
    if (want !== 0 && pciReadConfig(pdev, PCI_BASE_ADDRESS_0 + 4 * i, 4) !== want) return true;
  }
  return false;
}

/** vfio_bar_restore(): after a reset the host did not see, put the real BARs back. */
function barRestore(vdev: VfioPciCoreDevice): void {
  const pdev = pdevOf(vdev);
  if (pdev.isVirtfn) return;
  pdev.host?.logger.info({ device: pdev.bdf }, 'reset recovery - restoring BARs');
  for (let i = 0; i < 6; i++) pciWriteConfig(pdev, PCI_BASE_ADDRESS_0 + 4 * i, 4, vdev.rbar[i] ?? 0);
  pciWriteConfig(pdev, PCI_ROM_ADDRESS, 4, vdev.rbar[6] ?? 0);
  if (vdev.nointx) pciWriteConfig(pdev, PCI_COMMAND, 2, pciReadConfig(pdev, PCI_COMMAND, 2) | PCI_COMMAND_INTX_DISABLE);
}

/** vfio_basic_config_read(). */
function basicRead(vdev: VfioPciCoreDevice, pos: number, count: Size, perm: PermBits, offset: number): number {
  if (isBar(offset)) vfioBarFixup(vdev);
  let val = defaultRead(vdev, pos, count, perm, offset);
  if (offset === PCI_COMMAND && pdevOf(vdev).isVirtfn) val |= le16(vconfigOf(vdev), PCI_COMMAND) & PCI_COMMAND_MEMORY;
  return val >>> 0;
}

/** vfio_basic_config_write(): memory/IO enable tracked for backdoor-reset detection, INTx disable emulated. */
function basicWrite(vdev: VfioPciCoreDevice, pos: number, count: Size, perm: PermBits, offset: number, val: number): void {
  const pdev = pdevOf(vdev);
  const v = vconfigOf(vdev);
  if (offset === PCI_COMMAND) {
    const phys = pciReadConfig(pdev, PCI_COMMAND, 2);
    const virtCmd = le16(v, PCI_COMMAND);
    const has = (x: number, bit: number): boolean => (x & bit) !== 0;
    if (
      (has(val, PCI_COMMAND_MEMORY) && has(virtCmd, PCI_COMMAND_MEMORY) && !has(phys, PCI_COMMAND_MEMORY)) ||
      (has(val, PCI_COMMAND_IO) && has(virtCmd, PCI_COMMAND_IO) && !has(phys, PCI_COMMAND_IO)) ||
      needBarRestore(vdev)
    ) {
      barRestore(vdev);
    }
  }
  defaultWrite(vdev, pos, count, perm, offset, val);
  if (offset === PCI_COMMAND) {
    const mask = PCI_COMMAND_MEMORY | PCI_COMMAND_IO;
    setLe16(v, PCI_COMMAND, (le16(v, PCI_COMMAND) & ~mask) | (val & mask));
  }
  if (offset >= PCI_COMMAND && offset <= PCI_COMMAND + 1) {
    const virtIntxDisable = (le16(v, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE) !== 0;
    if (virtIntxDisable && !vdev.virqDisabled) {
      vdev.virqDisabled = true;
      vfioPciIntxMask(vdev);
    } else if (!virtIntxDisable && vdev.virqDisabled) {
      vdev.virqDisabled = false;
      vfioPciIntxUnmask(vdev);
    }
  }
  if (isBar(offset)) vdev.bardirty = true;
}

/** vfio_pm_config_write(): a write of PowerState asks for the power state change (pci_set_power_state). */
function pmWrite(vdev: VfioPciCoreDevice, pos: number, count: Size, perm: PermBits, offset: number, val: number): void {
  defaultWrite(vdev, pos, count, perm, offset, val);
  if (offset === PCI_PM_CTRL) vfioPciSetPowerState(vdev, val & PCI_PM_CTRL_STATE_MASK);
}

/** pci_try_reset_function() as the FLR emulations use it; a reset that cannot run is not the user's error. */
function tryResetFunction(vdev: VfioPciCoreDevice): void {
  try {
    pciResetFunction(pdevOf(vdev));
  } catch (err) {
    if (!(err instanceof VfioError)) throw err;
  }
}

/** vfio_exp_config_write(): Initiate FLR resets the function and reads back 0; MRRS no lower than MPS reaches the hardware. */
function expWrite(vdev: VfioPciCoreDevice, pos: number, count: Size, perm: PermBits, offset: number, val: number): void {
  const v = vconfigOf(vdev);
  const start = pos - offset;
  const ctrlAt = start + PCI_EXP_DEVCTL;
  const readrq = le16(v, ctrlAt) & PCI_EXP_DEVCTL_READRQ;
  defaultWrite(vdev, pos, count, perm, offset, val);
  const pdev = pdevOf(vdev);
  if ((le16(v, ctrlAt) & PCI_EXP_DEVCTL_BCR_FLR) !== 0) {
    setLe16(v, ctrlAt, le16(v, ctrlAt) & ~PCI_EXP_DEVCTL_BCR_FLR);
    if ((pciReadConfig(pdev, start + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_FLR) !== 0) tryResetFunction(vdev);
  }
  const newRq = le16(v, ctrlAt) & PCI_EXP_DEVCTL_READRQ;
  if (newRq !== readrq) {
    // pcie_set_readrq(max(requested, MPS)): both fields are 128 << n.
    const phys = pciReadConfig(pdev, ctrlAt, 2);
    const mps = (phys & PCI_EXP_DEVCTL_PAYLOAD) >> 5;
    const rq = Math.max(newRq >> 12, mps);
    pciWriteConfig(pdev, ctrlAt, 2, (phys & ~PCI_EXP_DEVCTL_READRQ) | (rq << 12));
  }
}

/** vfio_af_config_write(): the virtual FLR bit resets the function when it has AF FLR, and reads back 0. */
function afWrite(vdev: VfioPciCoreDevice, pos: number, count: Size, perm: PermBits, offset: number, val: number): void {
  defaultWrite(vdev, pos, count, perm, offset, val);
  const v = vconfigOf(vdev);
  const ctrlAt = pos - offset + PCI_AF_CTRL;
  if (((v[ctrlAt] ?? 0) & PCI_AF_CTRL_FLR) !== 0) {
    v[ctrlAt] = (v[ctrlAt] ?? 0) & ~PCI_AF_CTRL_FLR;
    const cap = pciReadConfig(pdevOf(vdev), pos - offset + PCI_AF_CAP, 1);
    if ((cap & PCI_AF_CAP_FLR) !== 0 && (cap & PCI_AF_CAP_TP) !== 0) tryResetFunction(vdev);
  }
}

/** vfio_find_cap_start(). */
function findCapStart(vdev: VfioPciCoreDevice, pos: number): number {
  const map = vdev.pciConfigMap;
  if (map === null) return pos;
  const base = pos >= PCI_CFG_SPACE_SIZE ? PCI_CFG_SPACE_SIZE : PCI_STD_HEADER_SIZEOF;
  const cap = map[pos];
  if (cap === PCI_CAP_ID_BASIC) return 0;
  while (pos - 1 >= base && map[pos - 1] === cap) pos--;
  return pos;
}

/**
 * vfio_msi_config_read(): the kernel folds msi_qmax into the Multiple Message Capable bits of the word at the
 * capability's *start* (vconfig[start], not start + PCI_MSI_FLAGS), i.e. into bits of the capability id byte, which
 * the MSI permissions read from the hardware. So the user sees the hardware's Multiple Message Capable; we do the
 * same write to stay byte-for-byte with vconfig.
 */
function msiRead(vdev: VfioPciCoreDevice, pos: number, count: Size, perm: PermBits, offset: number): number {
  if (offset <= PCI_MSI_FLAGS && offset + count >= PCI_MSI_FLAGS) {
    const v = vconfigOf(vdev);
    const at = findCapStart(vdev, pos);
    setLe16(v, at, (le16(v, at) & ~PCI_MSI_FLAGS_QMASK) | (vdev.msiQmax << 1));
  }
  return defaultRead(vdev, pos, count, perm, offset);
}

/** vfio_msi_config_write(): MSI is enabled by SET_IRQS only; Multiple Message Enable is clamped to what was allocated. */
function msiWrite(vdev: VfioPciCoreDevice, pos: number, count: Size, perm: PermBits, offset: number, val: number): void {
  defaultWrite(vdev, pos, count, perm, offset, val);
  if (offset <= PCI_MSI_FLAGS && offset + count >= PCI_MSI_FLAGS) {
    const v = vconfigOf(vdev);
    const at = findCapStart(vdev, pos) + PCI_MSI_FLAGS;
    let flags = le16(v, at);
    if (vdev.irqType !== 'msi') flags &= ~PCI_MSI_FLAGS_ENABLE;
    if ((flags & PCI_MSI_FLAGS_QSIZE) >> 4 > vdev.msiQmax) flags = (flags & ~PCI_MSI_FLAGS_QSIZE) | (vdev.msiQmax << 4);
    setLe16(v, at, flags);
    pciWriteConfig(pdevOf(vdev), at, 2, flags);
  }
}

type ReadFn = (vdev: VfioPciCoreDevice, pos: number, count: Size, perm: PermBits, offset: number) => number;
type WriteFn = (vdev: VfioPciCoreDevice, pos: number, count: Size, perm: PermBits, offset: number, val: number) => void;

const READ_FNS: Readonly<Record<PermReadFn, ReadFn>> = Object.freeze({
  default: defaultRead,
  direct: directRead,
  raw: (vdev, pos, count) => rawRead(vdev, pos, count),
  virt: (vdev, pos, count) => vread(vconfigOf(vdev), pos, count),
  basic: basicRead,
  msi: msiRead,
});

const WRITE_FNS: Readonly<Record<Exclude<PermWriteFn, null>, WriteFn>> = Object.freeze({
  default: defaultWrite,
  raw: (vdev, pos, count, _p, _o, val) => rawWrite(vdev, pos, count, val),
  virt: (vdev, pos, count, _p, _o, val) => vwrite(vconfigOf(vdev), pos, count, val),
  basic: basicWrite,
  pm: pmWrite,
  // VPD address/data stay virtual: no model here has VPD behind them (pci_read_vpd would answer).
  vpd: defaultWrite,
  exp: expWrite,
  af: afWrite,
  msi: msiWrite,
});

/** vfio_pci_cap_remaining_dword(): bytes left in this dword that belong to the same capability. */
function capRemainingDword(map: Uint8Array, pos: number): number {
  const cap = map[pos];
  let i = 1;
  while ((pos + i) % 4 !== 0 && map[pos + i] === cap) i++;
  return i;
}

/** The permission table covering `pos` (its capability's, the MSI one of this device, or none). */
function permAt(vdev: VfioPciCoreDevice, capId: number, pos: number): PermBits {
  if (capId === PCI_CAP_ID_INVALID || capId === PCI_CAP_ID_INVALID_VIRT) return capId === PCI_CAP_ID_INVALID ? UNASSIGNED_PERMS : VIRT_PERMS;
  if (pos >= PCI_CFG_SPACE_SIZE) return ECAP_PERMS[capId] ?? UNASSIGNED_PERMS;
  if (capId === PCI_CAP_ID_MSI && vdev.msiPerm !== null) return vdev.msiPerm;
  return CAP_PERMS[capId] ?? UNASSIGNED_PERMS;
}

/** Where the capability holding `pos` starts: 0 for the standard header, `pos` itself for unassigned bytes. */
function capStartAt(vdev: VfioPciCoreDevice, capId: number, pos: number): number {
  if (capId === PCI_CAP_ID_INVALID || capId === PCI_CAP_ID_INVALID_VIRT) return pos;
  if (pos < PCI_CFG_SPACE_SIZE && capId <= PCI_CAP_ID_BASIC) return 0;
  return findCapStart(vdev, pos);
}

/** The read function of a permission table (a switch on interned names: no keyed lookup per access). */
function readBy(perm: PermBits, vdev: VfioPciCoreDevice, pos: number, size: Size, offset: number): number {
  switch (perm.readFn) {
    case 'basic':
      return basicRead(vdev, pos, size, perm, offset);
    case 'default':
      return defaultRead(vdev, pos, size, perm, offset);
    default:
      return READ_FNS[perm.readFn](vdev, pos, size, perm, offset);
  }
}

/** vfio_config_do_rw(): one aligned piece inside one capability; returns its length. */
function configDoRw(vdev: VfioPciCoreDevice, buf: Uint8Array, pos: number, write: boolean): number {
  const map = vdev.pciConfigMap;
  if (map === null) throw new VfioError('EINVAL', 'config space is not initialized');
  // Every config access passes here: two lookups, no allocation.
  const capId = map[pos] ?? PCI_CAP_ID_INVALID;
  let size: Size;
  if ((pos & 3) === 0 && buf.length >= 4 && map[pos + 1] === capId && map[pos + 2] === capId && map[pos + 3] === capId) {
    // The common case, an aligned dword inside one capability: vfio_pci_cap_remaining_dword() would say 4.
    size = 4;
  } else {
    const count = Math.min(buf.length, capRemainingDword(map, pos));
    size = count >= 4 && pos % 4 === 0 ? 4 : count >= 2 && pos % 2 === 0 ? 2 : 1;
  }
  const perm = permAt(vdev, capId, pos);
  const offset = pos - capStartAt(vdev, capId, pos);
  if (write) {
    if (perm.writeFn === null) return size;
    let val = buf[0] ?? 0;
    if (size >= 2) val |= (buf[1] ?? 0) << 8;
    if (size === 4) val |= ((buf[2] ?? 0) << 16) | ((buf[3] ?? 0) << 24);
    WRITE_FNS[perm.writeFn](vdev, pos, size, perm, offset, val >>> 0);
  } else {
    const val = readBy(perm, vdev, pos, size, offset);
    buf[0] = val & 0xff;
    if (size >= 2) buf[1] = (val >>> 8) & 0xff;
    if (size === 4) {
      buf[2] = (val >>> 16) & 0xff;
      buf[3] = val >>> 24;
    }
  }
  return size;
}

/**
 * vfio_pci_config_rw(): [pos, pos + buf.length) of the CONFIG region. EFAULT past the function's config space
 * (as the kernel), otherwise every byte moves; writes to read-only bits are dropped.
 */
export function vfioPciConfigRw(vdev: VfioPciCoreDevice, pos: number, buf: Uint8Array, write: boolean): number {
  const cfgSize = pdevOf(vdev).cfgSize;
  if (pos < 0 || pos >= cfgSize || pos + buf.length > cfgSize) throw new VfioError('EFAULT', `config access [0x${pos.toString(16)}, +${buf.length}) outside ${cfgSize} bytes`);
  let done = 0;
  while (done < buf.length) done += configDoRw(vdev, done === 0 ? buf : buf.subarray(done), pos + done, write);
  return done;
}
