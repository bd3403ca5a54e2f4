// VFIO_DEVICE_GET_INFO, GET_REGION_INFO and GET_IRQ_INFO for emulated PCI devices (vfio_pci_core.c
// vfio_pci_ioctl_get_info / _get_region_info / _get_irq_info), with the capability-chain argsz rule.
import { copyToUser } from '../uapi/codec.js';
import { check } from '../uapi/errno.js';
import type { VfioInfoCap } from '../uapi/caps.js';
import {
  VFIO_DEVICE_FLAGS_PCI,
  VFIO_DEVICE_FLAGS_RESET,
  decodeVfioDeviceInfo,
  encodeVfioDeviceInfoWithCaps,
} from '../uapi/device-info.js';
import {
  VFIO_IRQ_INFO_AUTOMASKED,
  VFIO_IRQ_INFO_EVENTFD,
  VFIO_IRQ_INFO_MASKABLE,
  VFIO_IRQ_INFO_NORESIZE,
  VFIO_IRQ_INFO_SIZEOF,
  VFIO_PCI_ERR_IRQ_INDEX,
  VFIO_PCI_INTX_IRQ_INDEX,
  VFIO_PCI_REQ_IRQ_INDEX,
  VFIO_PCI_NUM_IRQS,
  decodeVfioIrqInfo,
  encodeVfioIrqInfo,
} from '../uapi/irq-info.js';
import { vfioRegionCapSparseMmap } from '../uapi/region-caps.js';
import {
  VFIO_PCI_NUM_REGIONS,
  VFIO_PCI_ROM_REGION_INDEX,
  VFIO_PCI_VGA_REGION_INDEX,
  VFIO_REGION_INFO_FLAG_MMAP,
  decodeVfioRegionInfo,
  encodeVfioRegionInfoWithCaps,
  vfioPciIndexToOffset,
} from '../uapi/region-info.js';
import type { VfioPciEmuDevice } from './pci-emu-device.js';

/** VFIO_DEVICE_GET_INFO: PCI|RESET, 9 + device-specific regions, 5 IRQ indexes; no device caps. */
export function pciEmuGetInfo(dev: VfioPciEmuDevice, arg: Uint8Array): number {
  const info = decodeVfioDeviceInfo(arg);
  const caps: VfioInfoCap[] = [];
  const out = encodeVfioDeviceInfoWithCaps(
    {
      argsz: info.argsz,
      flags: VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET,
      numRegions: dev.numRegions,
      numIrqs: VFIO_PCI_NUM_IRQS,
      capOffset: 0,
    },
    caps,
  );
  return copyToUser(arg, out);
}

/**
 * VFIO_DEVICE_GET_REGION_INFO. BARs and the ROM that are not implemented report size 0 and flags 0;
 * VGA without a VGA region and indexes past the last region are EINVAL.
 */
export function pciEmuGetRegionInfo(dev: VfioPciEmuDevice, arg: Uint8Array): number {
  const info = decodeVfioRegionInfo(arg);
  const index = info.index;
  check(index < dev.numRegions, 'EINVAL', `region index ${index} of ${dev.numRegions}`);
  const region = dev.regions[index];
  const fixedOptional = index <= VFIO_PCI_ROM_REGION_INDEX;
  if (region === undefined) {
    check(fixedOptional, 'EINVAL', index === VFIO_PCI_VGA_REGION_INDEX ? 'no VGA region' : `no region ${index}`);
  }
  const caps: VfioInfoCap[] = [];
  let flags = 0;
  let size = 0n;
  if (region !== undefined && region.size > 0) {
    size = BigInt(region.size);
    flags = region.flags;
    if (region.mmap !== undefined) {
      flags |= VFIO_REGION_INFO_FLAG_MMAP;
      if (region.mmap.areas !== undefined) caps.push(vfioRegionCapSparseMmap(region.mmap.areas));
    }
    if (region.caps !== undefined) caps.push(...region.caps);
  } else {
    check(index < VFIO_PCI_NUM_REGIONS, 'EINVAL', `region ${index} is empty`);
  }
  const out = encodeVfioRegionInfoWithCaps(
    { argsz: info.argsz, flags, index, capOffset: 0, size, offset: vfioPciIndexToOffset(index) },
    caps,
  );
  return copyToUser(arg, out);
}

/** VFIO_DEVICE_GET_IRQ_INFO: INTx MASKABLE|AUTOMASKED, the others NORESIZE; an index not offered has count 0. */
export function pciEmuGetIrqInfo(dev: VfioPciEmuDevice, arg: Uint8Array): number {
  const info = decodeVfioIrqInfo(arg);
  check(info.index < VFIO_PCI_NUM_IRQS, 'EINVAL', `IRQ index ${info.index}`);
  // ERR and REQ exist only where the device has them: vfio-pci answers EINVAL for ERR on a conventional
  // (non-PCIe) function and mtty for anything but INTx, MSI and REQ. QEMU warns on a count of 0 instead.
  if (info.index === VFIO_PCI_ERR_IRQ_INDEX || info.index === VFIO_PCI_REQ_IRQ_INDEX) {
    check(dev.irqCount(info.index) > 0, 'EINVAL', `IRQ index ${info.index} is not supported by this device`);
  }
  let flags = VFIO_IRQ_INFO_EVENTFD;
  if (info.index === VFIO_PCI_INTX_IRQ_INDEX) flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
  else flags |= VFIO_IRQ_INFO_NORESIZE;
  const out = encodeVfioIrqInfo({ argsz: info.argsz, flags, index: info.index, count: dev.irqCount(info.index) });
  return copyToUser(arg, out.subarray(0, VFIO_IRQ_INFO_SIZEOF));
}
