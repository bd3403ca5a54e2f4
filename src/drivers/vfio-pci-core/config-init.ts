// Building a device's virtual config space on open (drivers/vfio/pci/vfio_pci_config.c vfio_config_init,
// vfio_cap_init, vfio_ecap_init, vfio_cap_len, vfio_ext_cap_len): vconfig filled from the hardware for the header
// and every capability the user may see, the byte map saying which permission table covers each byte, and the
// capabilities with length 0 unlinked from the chains.
import { pciReadConfig } from '../../hw/pci/pci-dev.js';
import type { PciDev } from '../../hw/pci/pci-dev.js';
import { VfioError } from '../../uapi/errno.js';
import {
  PCI_BASE_ADDRESS_0,
  PCI_CAPABILITY_LIST,
  PCI_CAP_FLAGS,
  PCI_CAP_ID_EXP,
  PCI_CAP_ID_MAX,
  PCI_CAP_ID_MSI,
  PCI_CAP_ID_PCIX,
  PCI_CAP_ID_VNDR,
  PCI_CAP_LIST_NEXT,
  PCI_CAP_SIZEOF,
  PCI_CFG_SPACE_SIZE,
  PCI_COMMAND,
  PCI_COMMAND_MEMORY,
  PCI_DEVICE_ID,
  PCI_EXP_FLAGS_VERS,
  PCI_EXP_TYPE_RC_END,
  PCI_CAP_EXP_ENDPOINT_SIZEOF_V1,
  PCI_CAP_EXP_ENDPOINT_SIZEOF_V2,
  PCI_INTERRUPT_PIN,
  PCI_MSI_FLAGS,
  PCI_MSI_FLAGS_64BIT,
  PCI_MSI_FLAGS_MASKBIT,
  PCI_PM_CAP_PME_MASK,
  PCI_PM_CTRL,
  PCI_PM_CTRL_PME_ENABLE,
  PCI_PM_CTRL_PME_STATUS,
  PCI_PM_PMC,
  PCI_CAP_ID_PM,
  PCI_ROM_ADDRESS,
  PCI_STATUS,
  PCI_STATUS_CAP_LIST,
  PCI_STD_HEADER_SIZEOF,
  PCI_VENDOR_ID,
} from '../../uapi/pci-regs.js';
import { PCI_ACS_CAP, PCI_ACS_EC, PCI_EXT_CAP_ID, PCI_EXT_CAP_ID_ACS, PCI_EXT_CAP_NEXT } from '../../uapi/pci-regs-ext.js';
import * as R from '../../uapi/pci-regs-vfio.js';
import { PCI_CAP_ID_BASIC, PCI_CAP_ID_INVALID, PCI_CAP_LENGTH, PCI_EXT_CAP_LENGTH, vfioMsiPerms } from './config-perms.js';
import { pdevOf } from './core-device.js';
import type { VfioPciCoreDevice } from './core-device.js';

const le16 = (b: Uint8Array, at: number): number => (b[at] ?? 0) | ((b[at + 1] ?? 0) << 8);
const setLe16 = (b: Uint8Array, at: number, v: number): void => {
  b[at] = v & 0xff;
  b[at + 1] = (v >> 8) & 0xff;
};
const le32 = (b: Uint8Array, at: number): number => (le16(b, at) | (le16(b, at + 2) << 16)) >>> 0;
const setLe32 = (b: Uint8Array, at: number, v: number): void => {
  setLe16(b, at, v & 0xffff);
  setLe16(b, at + 2, (v >>> 16) & 0xffff);
};
export { le16, le32, setLe16, setLe32 };

/** vfio_fill_vconfig_bytes(): copies [offset, offset + size) from the hardware in the largest aligned reads. */
function fillVconfigBytes(pdev: PciDev, vconfig: Uint8Array, offset: number, size: number): void {
  while (size > 0) {
    let n: 1 | 2 | 4;
    if (size >= 4 && offset % 4 === 0) n = 4;
    else if (size >= 2 && offset % 2 === 0) n = 2;
    else n = 1;
    const v = pciReadConfig(pdev, offset, n);
    for (let i = 0; i < n; i++) vconfig[offset + i] = Math.floor(v / 2 ** (8 * i)) & 0xff;
    offset += n;
    size -= n;
  }
}

/** vfio_msi_cap_len(): 10, 14, 20 or 24 bytes; builds the device's MSI permissions on first use. */
function msiCapLen(vdev: VfioPciCoreDevice, pos: number): number {
  const flags = pciReadConfig(pdevOf(vdev), pos + PCI_MSI_FLAGS, 2);
  let len = 10;
  if ((flags & PCI_MSI_FLAGS_64BIT) !== 0) len += 4;
  if ((flags & PCI_MSI_FLAGS_MASKBIT) !== 0) len += 10;
  vdev.msiPerm ??= vfioMsiPerms(len, flags);
  return len;
}

/** Whether an extended capability list exists (the header at 0x100 is not zero). */
function probeExtendedCaps(vdev: VfioPciCoreDevice, pdev: PciDev): void {
  if (pdev.cfgSize > PCI_CFG_SPACE_SIZE) vdev.extendedCaps = pciReadConfig(pdev, PCI_CFG_SPACE_SIZE, 4) !== 0;
}

/** vfio_cap_len(): the length of a variable-length capability; 0 for one the kernel does not know. */
function capLen(vdev: VfioPciCoreDevice, cap: number, pos: number): number {
  const pdev = pdevOf(vdev);
  switch (cap) {
    case PCI_CAP_ID_MSI:
      return msiCapLen(vdev, pos);
    case PCI_CAP_ID_PCIX: {
      const cmdVersion = (pciReadConfig(pdev, pos + R.PCI_X_CMD, 2) >> 12) & 3;
      if (cmdVersion !== 0) {
        probeExtendedCaps(vdev, pdev);
        return R.PCI_CAP_PCIX_SIZEOF_V2;
      }
      return R.PCI_CAP_PCIX_SIZEOF_V0;
    }
    case PCI_CAP_ID_VNDR:
      return pciReadConfig(pdev, pos + PCI_CAP_FLAGS, 1);
    case PCI_CAP_ID_EXP: {
      probeExtendedCaps(vdev, pdev);
      const rcEnd = pdev.pcieType === PCI_EXP_TYPE_RC_END;
      if ((pdev.pcieFlags & PCI_EXP_FLAGS_VERS) === 1) return rcEnd ? 0xc : PCI_CAP_EXP_ENDPOINT_SIZEOF_V1;
      return rcEnd ? 0x2c : PCI_CAP_EXP_ENDPOINT_SIZEOF_V2;
    }
    default:
      // HyperTransport and SATA lengths need registers no model here has; the capability stays hidden.
      hostLog(vdev, `unknown length for pci cap 0x${cap.toString(16)}@0x${pos.toString(16)}`);
      return 0;
  }
}

/** vfio_vc_cap_len(). */
function vcCapLen(pdev: PciDev, pos: number): number {
  const evcc = pciReadConfig(pdev, pos + R.PCI_VC_PORT_CAP1, 4) & R.PCI_VC_CAP1_EVCC;
  const cap2 = pciReadConfig(pdev, pos + R.PCI_VC_PORT_CAP2, 4);
  const phases = (cap2 & R.PCI_VC_CAP2_128_PHASE) !== 0 ? 128 : (cap2 & R.PCI_VC_CAP2_64_PHASE) !== 0 ? 64 : (cap2 & R.PCI_VC_CAP2_32_PHASE) !== 0 ? 32 : 0;
  let len = R.PCI_CAP_VC_BASE_SIZEOF + (1 + evcc) * R.PCI_CAP_VC_PER_VC_SIZEOF;
  if (phases !== 0) len = ((len + 15) & ~15) + (phases * 4) / 8;
  return len;
}

/** vfio_ext_cap_len(). */
function extCapLen(vdev: VfioPciCoreDevice, ecap: number, epos: number): number {
  const pdev = pdevOf(vdev);
  switch (ecap) {
    case R.PCI_EXT_CAP_ID_VNDR:
      return pciReadConfig(pdev, epos + R.PCI_VSEC_HDR, 4) >>> R.PCI_VSEC_HDR_LEN_SHIFT;
    case R.PCI_EXT_CAP_ID_VC:
    case R.PCI_EXT_CAP_ID_VC9:
    case R.PCI_EXT_CAP_ID_MFVC:
      return vcCapLen(pdev, epos);
    case PCI_EXT_CAP_ID_ACS: {
      if ((pciReadConfig(pdev, epos + PCI_ACS_CAP, 1) & PCI_ACS_EC) === 0) return 8;
      const bits = pciReadConfig(pdev, epos + R.PCI_ACS_EGRESS_BITS, 1);
      return 8 + (bits !== 0 ? (bits + 31) & ~31 : 256) / 8;
    }
    case R.PCI_EXT_CAP_ID_REBAR: {
      const nbar = (pciReadConfig(pdev, epos + R.PCI_REBAR_CTRL, 1) & R.PCI_REBAR_CTRL_NBAR_MASK) >> R.PCI_REBAR_CTRL_NBAR_SHIFT;
      return 4 + nbar * 8;
    }
    case R.PCI_EXT_CAP_ID_DPA:
      return R.PCI_DPA_BASE_SIZEOF + (pciReadConfig(pdev, epos + R.PCI_DPA_CAP, 1) & R.PCI_DPA_CAP_SUBSTATE_MASK) + 1;
    case R.PCI_EXT_CAP_ID_TPH: {
      const cap = pciReadConfig(pdev, epos + R.PCI_TPH_CAP, 4);
      if ((cap & R.PCI_TPH_CAP_LOC_MASK) === R.PCI_TPH_LOC_CAP) {
        return R.PCI_TPH_BASE_SIZEOF + ((cap & R.PCI_TPH_CAP_ST_MASK) >>> R.PCI_TPH_CAP_ST_SHIFT) * 2 + 2;
      }
      return R.PCI_TPH_BASE_SIZEOF;
    }
    default:
      hostLog(vdev, `unknown length for pci ecap 0x${ecap.toString(16)}@0x${epos.toString(16)}`);
      return 0;
  }
}

function hostLog(vdev: VfioPciCoreDevice, msg: string): void {
  vdev.pdev?.host?.logger.debug({ device: vdev.pdev.bdf }, msg);
}

/** vfio_cap_init(): walks the standard list; hidden capabilities are unlinked by pointing the previous next past them. */
function capInit(vdev: VfioPciCoreDevice, vconfig: Uint8Array, map: Uint8Array): void {
  const pdev = pdevOf(vdev);
  if ((pciReadConfig(pdev, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST) === 0) return;
  let pos = pciReadConfig(pdev, PCI_CAPABILITY_LIST, 1);
  // Where the pointer to the current capability lives (to skip a hidden one).
  let prev = PCI_CAPABILITY_LIST;
  let caps = 0;
  for (let loops = (PCI_CFG_SPACE_SIZE - PCI_STD_HEADER_SIZEOF) / PCI_CAP_SIZEOF; pos !== 0 && loops > 0; loops--) {
    const cap = pciReadConfig(pdev, pos, 1);
    const next = pciReadConfig(pdev, pos + PCI_CAP_LIST_NEXT, 1);
    // Id 0 is a NULL capability, conflicting with PCI_CAP_ID_BASIC: hidden.
    let len = 0;
    if (cap !== 0 && cap <= PCI_CAP_ID_MAX) {
      len = PCI_CAP_LENGTH.get(cap) ?? 0;
      if (len === 0xff) len = capLen(vdev, cap, pos);
    }
    if (len === 0) {
      hostLog(vdev, `hiding cap 0x${cap.toString(16)}`);
      vconfig[prev] = next;
      pos = next;
      continue;
    }
    for (let i = 0; i < len; i++) {
      if (map[pos + i] !== PCI_CAP_ID_INVALID) hostLog(vdev, `pci config conflict @0x${(pos + i).toString(16)}`);
    }
    map.fill(cap, pos, pos + len);
    fillVconfigBytes(pdev, vconfig, pos, len);
    if (cap === PCI_CAP_ID_PM) updatePmVconfigBytes(vconfig, pos);
    prev = pos + PCI_CAP_LIST_NEXT;
    pos = next;
    caps++;
  }
  if (caps === 0) setLe16(vconfig, PCI_STATUS, le16(vconfig, PCI_STATUS) & ~PCI_STATUS_CAP_LIST);
}

/** vfio_update_pm_vconfig_bytes(): the user sees no PME support and PME_En/PME_Status clear. */
function updatePmVconfigBytes(vconfig: Uint8Array, pos: number): void {
  setLe16(vconfig, pos + PCI_PM_PMC, le16(vconfig, pos + PCI_PM_PMC) & ~PCI_PM_CAP_PME_MASK);
  setLe16(vconfig, pos + PCI_PM_CTRL, le16(vconfig, pos + PCI_PM_CTRL) & ~(PCI_PM_CTRL_PME_ENABLE | PCI_PM_CTRL_PME_STATUS));
}

/**
 * vfio_ecap_init(): walks the extended list. A hidden capability is skipped by the previous header's next pointer,
 * except the first: its header stays as an anchor with the id and version zeroed.
 */
function ecapInit(vdev: VfioPciCoreDevice, vconfig: Uint8Array, map: Uint8Array): void {
  const pdev = pdevOf(vdev);
  if (!vdev.extendedCaps) return;
  let epos = PCI_CFG_SPACE_SIZE;
  let prev = -1;
  let ecaps = 0;
  for (let loops = (pdev.cfgSize - PCI_CFG_SPACE_SIZE) / PCI_CAP_SIZEOF; loops > 0 && epos >= PCI_CFG_SPACE_SIZE; loops--) {
    const header = pciReadConfig(pdev, epos, 4);
    const ecap = PCI_EXT_CAP_ID(header);
    let len = 0;
    let hidden = false;
    if (ecap <= R.PCI_EXT_CAP_ID_MAX) {
      len = PCI_EXT_CAP_LENGTH.get(ecap) ?? 0;
      if (len === 0xff) len = extCapLen(vdev, ecap, epos);
    }
    if (len === 0) {
      hostLog(vdev, `hiding ecap 0x${ecap.toString(16)}@0x${epos.toString(16)}`);
      if (prev >= 0) {
        epos = PCI_EXT_CAP_NEXT(header);
        setLe32(vconfig, prev, ((le32(vconfig, prev) & ~(0xffc << 20)) | (epos << 20)) >>> 0);
        continue;
      }
      len = PCI_CAP_SIZEOF;
      hidden = true;
    }
    map.fill(ecap, epos, epos + len);
    fillVconfigBytes(pdev, vconfig, epos, len);
    if (hidden) setLe32(vconfig, epos, (le32(vconfig, epos) & (0xffc << 20)) >>> 0);
    else ecaps++;
    prev = epos;
    epos = PCI_EXT_CAP_NEXT(header);
  }
  if (ecaps === 0) setLe32(vconfig, PCI_CFG_SPACE_SIZE, 0);
}

/**
 * vfio_config_init(): vconfig and the byte map for the function as it is now (after the enable's reset and
 * INTx set-up), the BARs recorded for restore after a backdoor reset. ENOMEM-free here; EINVAL for a function
 * whose config space cannot be read.
 */
export function vfioConfigInit(vdev: VfioPciCoreDevice): void {
  const pdev = pdevOf(vdev);
  if (pciReadConfig(pdev, PCI_VENDOR_ID, 2) === 0xffff && !pdev.isVirtfn) throw new VfioError('EIO', `${pdev.bdf} does not answer config reads`);
  const vconfig = new Uint8Array(pdev.cfgSize);
  const map = new Uint8Array(pdev.cfgSize);
  map.fill(PCI_CAP_ID_BASIC, 0, PCI_STD_HEADER_SIZEOF);
  map.fill(PCI_CAP_ID_INVALID, PCI_STD_HEADER_SIZEOF);
  fillVconfigBytes(pdev, vconfig, 0, PCI_STD_HEADER_SIZEOF);
  vdev.bardirty = true;
  for (let i = 0; i < 6; i++) vdev.rbar[i] = le32(vconfig, PCI_BASE_ADDRESS_0 + 4 * i);
  vdev.rbar[6] = le32(vconfig, PCI_ROM_ADDRESS);
  if (pdev.isVirtfn) {
    setLe16(vconfig, PCI_VENDOR_ID, pdev.vendor);
    setLe16(vconfig, PCI_DEVICE_ID, pdev.device);
    // VFs have no INTx pin (SR-IOV 3.4.1.18), and no memory enable bit: show the enable PFs show.
    vconfig[PCI_INTERRUPT_PIN] = 0;
    setLe16(vconfig, PCI_COMMAND, le16(vconfig, PCI_COMMAND) | PCI_COMMAND_MEMORY);
  }
  if (vdev.nointx) vconfig[PCI_INTERRUPT_PIN] = 0;
  vdev.extendedCaps = false;
  capInit(vdev, vconfig, map);
  ecapInit(vdev, vconfig, map);
  vdev.vconfig = vconfig;
  vdev.pciConfigMap = map;
}

/** vfio_config_free(). */
export function vfioConfigFree(vdev: VfioPciCoreDevice): void {
  vdev.vconfig = null;
  vdev.pciConfigMap = null;
  vdev.msiPerm = null;
}
