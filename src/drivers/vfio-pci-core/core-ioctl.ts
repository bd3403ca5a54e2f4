// The device ioctls and the ops table of vfio-pci-core (drivers/vfio/pci/vfio_pci_core.c vfio_pci_core_ioctl,
// vfio_pci_ioctl_get_info, _get_region_info, _get_irq_info, _reset; vfio_pci_core_open/close_device): a driver's
// table is `{ ...vfioPciCoreOps, name, init: vfioPciCoreInitDev, release: vfioPciCoreReleaseDev }`.
import { copyToUser } from '../../uapi/codec.js';
import { pciResetFunction } from '../../hw/pci/reset.js';
import { VfioError, check } from '../../uapi/errno.js';
import { VFIO_DEVICE_FLAGS_PCI, VFIO_DEVICE_FLAGS_RESET, decodeVfioDeviceInfo, encodeVfioDeviceInfoWithCaps } from '../../uapi/device-info.js';
import { VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_IRQ_INFO, VFIO_DEVICE_GET_REGION_INFO, VFIO_DEVICE_IOEVENTFD, VFIO_DEVICE_RESET, VFIO_DEVICE_SET_IRQS } from '../../uapi/ioctl.js';
import {
  VFIO_IRQ_INFO_AUTOMASKED,
  VFIO_IRQ_INFO_EVENTFD,
  VFIO_IRQ_INFO_MASKABLE,
  VFIO_IRQ_INFO_NORESIZE,
  VFIO_IRQ_INFO_SIZEOF,
  VFIO_PCI_ERR_IRQ_INDEX,
  VFIO_PCI_INTX_IRQ_INDEX,
  VFIO_PCI_NUM_IRQS,
  decodeVfioIrqInfo,
  encodeVfioIrqInfo,
} from '../../uapi/irq-info.js';
import {
  VFIO_PCI_BAR5_REGION_INDEX,
  VFIO_PCI_CONFIG_REGION_INDEX,
  VFIO_PCI_NUM_REGIONS,
  VFIO_PCI_ROM_REGION_INDEX,
  VFIO_PCI_VGA_REGION_INDEX,
  VFIO_REGION_INFO_FLAG_MMAP,
  VFIO_REGION_INFO_FLAG_READ,
  VFIO_REGION_INFO_FLAG_WRITE,
  decodeVfioRegionInfo,
  encodeVfioRegionInfoWithCaps,
  vfioPciIndexToOffset,
} from '../../uapi/region-info.js';
import type { VfioDeviceOps } from '../../vfio/vfio-ops.js';
import { vfioPciCoreMatch, vfioPciCoreMatchTokenUuid, vfioPciCoreRequest } from './core.js';
import { vfioPciCoreIoctlFeature } from './core-feature.js';
import { pdevOf } from './core-device.js';
import type { VfioPciCoreDevice } from './core-device.js';
import { vfioPciCoreDisable, vfioPciCoreEnable } from './core-enable.js';
import { vfioPciGetIrqCount, vfioPciIoctlSetIrqs } from './intrs.js';
import { PCI_D0, vfioPciSetPowerState } from './power.js';
import { vfioPciIoctlIoeventfd, vfioPciRegionRw, vfioPciRw } from './rdwr.js';
import { VFIO_PCI_VGA_REGION_SIZE, vfioPciRomRegionSize } from './rdwr-rom-vga.js';
import { vfioPciCoreMmap } from './mmap.js';
import { vfioPciPmRuntimeCall } from './low-power.js';
import { vfioRegionCapMsixMappable } from '../../uapi/region-caps.js';
import type { VfioInfoCap } from '../../uapi/caps.js';

/** VFIO_DEVICE_GET_INFO: PCI, RESET when the open's function reset worked, 9 regions, 5 IRQ indexes. */
function getInfo(vdev: VfioPciCoreDevice, arg: Uint8Array): number {
  const info = decodeVfioDeviceInfo(arg);
  const flags = VFIO_DEVICE_FLAGS_PCI | (vdev.resetWorks ? VFIO_DEVICE_FLAGS_RESET : 0);
  return copyToUser(arg, encodeVfioDeviceInfoWithCaps({ argsz: info.argsz, flags, numRegions: VFIO_PCI_NUM_REGIONS, numIrqs: VFIO_PCI_NUM_IRQS, capOffset: 0 }, []));
}

/**
 * VFIO_DEVICE_GET_REGION_INFO: CONFIG the function's config size; a BAR its resource length, read/write, MMAP when
 * vfio_pci_probe_mmaps found it mappable (the MSI-X BAR then with the MSIX_MAPPABLE capability); the ROM its BAR
 * size, read-only, when pci_map_rom finds an image (else size 0); VGA 0xc0000 bytes read/write for a VGA function
 * (else EINVAL); anything past is EINVAL.
 */
function getRegionInfo(vdev: VfioPciCoreDevice, arg: Uint8Array): number {
  const info = decodeVfioRegionInfo(arg);
  const pdev = pdevOf(vdev);
  const index = info.index;
  let size = 0n;
  let flags = 0;
  const caps: VfioInfoCap[] = [];
  if (index === VFIO_PCI_CONFIG_REGION_INDEX) {
    size = BigInt(pdev.cfgSize);
    flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
  } else if (index <= VFIO_PCI_BAR5_REGION_INDEX) {
    size = pdev.resource[index]?.size ?? 0n;
    if (size !== 0n) flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
    if (size !== 0n && vdev.barMmapSupported[index] === true) {
      flags |= VFIO_REGION_INFO_FLAG_MMAP;
      if (index === vdev.msixBar) caps.push(vfioRegionCapMsixMappable());
    }
  } else if (index === VFIO_PCI_ROM_REGION_INDEX) {
    // pci_map_rom() with memory decoding enabled for it; the BAR's size when a valid image is there.
    size = BigInt(vfioPciRomRegionSize(vdev));
    if (size !== 0n) flags = VFIO_REGION_INFO_FLAG_READ;
  } else if (index === VFIO_PCI_VGA_REGION_INDEX) {
    check(vdev.hasVga, 'EINVAL', 'no VGA region');
    size = BigInt(VFIO_PCI_VGA_REGION_SIZE);
    flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
  } else {
    throw new VfioError('EINVAL', `region index ${index} of ${VFIO_PCI_NUM_REGIONS}`);
  }
  return copyToUser(arg, encodeVfioRegionInfoWithCaps({ argsz: info.argsz, flags, index, capOffset: 0, size, offset: vfioPciIndexToOffset(index) }, caps));
}

/** VFIO_DEVICE_GET_IRQ_INFO: ERR only on PCI Express functions (EINVAL otherwise). */
function getIrqInfo(vdev: VfioPciCoreDevice, arg: Uint8Array): number {
  const info = decodeVfioIrqInfo(arg);
  check(info.index < VFIO_PCI_NUM_IRQS, 'EINVAL', `IRQ index ${info.index}`);
  check(info.index !== VFIO_PCI_ERR_IRQ_INDEX || pdevOf(vdev).isPcie, 'EINVAL', 'ERR is for PCI Express functions');
  let flags = VFIO_IRQ_INFO_EVENTFD;
  if (info.index === VFIO_PCI_INTX_IRQ_INDEX) flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
  else flags |= VFIO_IRQ_INFO_NORESIZE;
  const out = encodeVfioIrqInfo({ argsz: info.argsz, flags, index: info.index, count: vfioPciGetIrqCount(vdev, info.index) });
  return copyToUser(arg, out.subarray(0, VFIO_IRQ_INFO_SIZEOF));
}

/** VFIO_DEVICE_RESET (vfio_pci_ioctl_reset): EINVAL when the function has no reset; D0, then pci_try_reset_function. */
function reset(vdev: VfioPciCoreDevice): number {
  check(vdev.resetWorks, 'EINVAL', 'the function has no reset method');
  vfioPciSetPowerState(vdev, PCI_D0);
  // pci_try_reset_function(): its pci_restore_state rewrites the MSI-X table of the vectors held.
  pciResetFunction(pdevOf(vdev));
  return 0;
}

type IoctlHandler = (vdev: VfioPciCoreDevice, arg: Uint8Array) => number;

const IOCTLS: ReadonlyMap<number, IoctlHandler> = new Map<number, IoctlHandler>([
  [VFIO_DEVICE_GET_INFO, getInfo],
  [VFIO_DEVICE_GET_REGION_INFO, getRegionInfo],
  [VFIO_DEVICE_GET_IRQ_INFO, getIrqInfo],
  [VFIO_DEVICE_SET_IRQS, vfioPciIoctlSetIrqs],
  [VFIO_DEVICE_RESET, reset],
  [VFIO_DEVICE_IOEVENTFD, vfioPciIoctlIoeventfd],
]);

/** vfio_pci_core_ioctl() (ops.ioctl); hot reset is answered by the core (src/vfio/hot-reset.ts). ENOTTY otherwise. */
export function vfioPciCoreIoctl(vdev: VfioPciCoreDevice, cmd: number, arg: Uint8Array): number {
  const handler = IOCTLS.get(cmd);
  if (handler === undefined) throw new VfioError('ENOTTY', `device ioctl 0x${(cmd >>> 0).toString(16)}`);
  // vfio_device_fops_unl_ioctl(): the device is awake for the ioctl (waking it signals a low-power wakeup eventfd).
  return vfioPciPmRuntimeCall(vdev, () => handler(vdev, arg));
}

/**
 * The core's ops (vfio_pci_core_open/close_device, read, write, mmap, ioctl, request, match, device_feature).
 */
export const vfioPciCoreOps = Object.freeze({
  openDevice: vfioPciCoreEnable,
  closeDevice: vfioPciCoreDisable,
  read: (vdev: VfioPciCoreDevice, buf: Uint8Array, pos: number) => vfioPciRw(vdev, buf, pos, false),
  write: (vdev: VfioPciCoreDevice, buf: Uint8Array, pos: number) => vfioPciRw(vdev, buf, pos, true),
  regionRw: vfioPciRegionRw,
  mmap: vfioPciCoreMmap,
  ioctl: vfioPciCoreIoctl,
  request: vfioPciCoreRequest,
  match: vfioPciCoreMatch,
  matchTokenUuid: vfioPciCoreMatchTokenUuid,
  deviceFeature: vfioPciCoreIoctlFeature,
} satisfies Omit<VfioDeviceOps<VfioPciCoreDevice>, 'name'>);
