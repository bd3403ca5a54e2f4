// The device ops every emulated PCI device shares: region read/write/mmap dispatch (by file position, or by region
// for region-addressed users), the device ioctls, reset and request (vfio_pci_core.c vfio_pci_rw,
// vfio_pci_core_ioctl, vfio_pci_core_mmap, vfio_pci_core_request).
import { VfioError, check } from '../uapi/errno.js';
import {
  VFIO_DEVICE_GET_INFO,
  VFIO_DEVICE_GET_IRQ_INFO,
  VFIO_DEVICE_GET_REGION_INFO,
  VFIO_DEVICE_RESET,
  VFIO_DEVICE_SET_IRQS,
} from '../uapi/ioctl.js';
import {
  PCI_MSIX_FLAGS,
  PCI_MSI_FLAGS,
} from '../uapi/pci-regs.js';
import {
  VFIO_REGION_INFO_FLAG_READ,
  VFIO_REGION_INFO_FLAG_WRITE,
} from '../uapi/region-info.js';
import type { VfioDeviceOps } from '../vfio/vfio-ops.js';
import { pciEmuGetInfo, pciEmuGetIrqInfo, pciEmuGetRegionInfo } from './info-ioctls.js';
import { signalEventfd } from './irq-triggers.js';
import { pciEmuDecodePos, pciEmuCheckRange } from './regions.js';
import type { PciEmuRegion } from './regions.js';
import type { VfioPciEmuDevice } from './pci-emu-device.js';
import { pciEmuDisableIrqs, pciEmuSetIrqs } from './set-irqs.js';

const PAGE_SIZE = 4096;

function regionAt(dev: VfioPciEmuDevice, pos: number, length: number, flag: number): { region: PciEmuRegion; offset: number } {
  const { index, offset } = pciEmuDecodePos(pos);
  check(index < dev.numRegions, 'EINVAL', `region index ${index} of ${dev.numRegions}`);
  const region = dev.regions[index];
  if (region === undefined || region.size === 0) throw new VfioError('EINVAL', `region ${index} is not implemented`);
  check((region.flags & flag) !== 0, 'EINVAL', `region ${index} is not ${flag === VFIO_REGION_INFO_FLAG_READ ? 'readable' : 'writable'}`);
  pciEmuCheckRange(region, index, offset, length);
  return { region, offset };
}

/** ops.read: decodes `pos`, bounds-checks and calls the region's read handler; returns bytes read. */
export function pciEmuRead(dev: VfioPciEmuDevice, buf: Uint8Array, pos: number): number {
  const { region, offset } = regionAt(dev, pos, buf.length, VFIO_REGION_INFO_FLAG_READ);
  if (region.read === undefined) throw new VfioError('EINVAL', 'region has no read handler');
  region.read(offset, buf);
  return buf.length;
}

/** ops.write: decodes `pos`, bounds-checks and calls the region's write handler; returns bytes written. */
export function pciEmuWrite(dev: VfioPciEmuDevice, buf: Uint8Array, pos: number): number {
  const { region, offset } = regionAt(dev, pos, buf.length, VFIO_REGION_INFO_FLAG_WRITE);
  if (region.write === undefined) throw new VfioError('EINVAL', 'region has no write handler');
  region.write(offset, buf);
  return buf.length;
}

/**
 * ops.regionRw: straight to the region's handler, for a caller that named the region and checked the range and
 * direction against GET_REGION_INFO (the vfio-user server); EINVAL only when the region has no handler for it.
 */
export function pciEmuRegionRw(dev: VfioPciEmuDevice, index: number, offset: number, buf: Uint8Array, write: boolean): number {
  const region = dev.regions[index];
  if (write) {
    if (region?.write === undefined) throw new VfioError('EINVAL', `region ${index} has no write handler`);
    region.write(offset, buf);
  } else {
    if (region?.read === undefined) throw new VfioError('EINVAL', `region ${index} has no read handler`);
    region.read(offset, buf);
  }
  return buf.length;
}

/**
 * ops.mmap: the backing fd and offset for [pos, pos + length) of an mmappable region. The range must be page
 * aligned, inside the page-rounded region and, with a SPARSE_MMAP cap, inside one area.
 */
export function pciEmuMmap(dev: VfioPciEmuDevice, pos: number, length: number, writable: boolean): { fd: number; offset: number } {
  const { index, offset } = pciEmuDecodePos(pos);
  const region = index < dev.numRegions ? dev.regions[index] : undefined;
  const backing = region?.mmap;
  if (region === undefined || backing === undefined) throw new VfioError('EINVAL', `region ${index} is not mmappable`);
  check(length > 0 && offset % PAGE_SIZE === 0, 'EINVAL', 'mmap offset must be page aligned and length positive');
  const end = Math.ceil(region.size / PAGE_SIZE) * PAGE_SIZE;
  check(offset + length <= end, 'EINVAL', `mmap [0x${offset.toString(16)}, +${length}) past region ${index}`);
  check(!writable || (region.flags & VFIO_REGION_INFO_FLAG_WRITE) !== 0, 'EINVAL', `region ${index} is read-only`);
  if (backing.areas !== undefined) {
    const s = BigInt(offset);
    const e = s + BigInt(length);
    check(backing.areas.some((a) => s >= a.offset && e <= a.offset + a.size), 'EINVAL', 'mmap outside the sparse areas');
  }
  return { fd: backing.fd, offset: backing.offset + offset };
}

/**
 * VFIO_DEVICE_RESET: config space back to its power-on bytes (the BARs unprogrammed), the interrupt line low and
 * unmasked, then the driver's reset. Enabled MSI/MSI-X stay enabled (pci_reset_function restores them) and the
 * user's triggers stay, as in vfio-pci.
 */
export function pciEmuReset(dev: VfioPciEmuDevice): void {
  const c = dev.config;
  const msiAt = dev.msiCap !== null ? dev.msiCap.offset + PCI_MSI_FLAGS : -1;
  const msixAt = dev.msixCap !== null ? dev.msixCap.offset + PCI_MSIX_FLAGS : -1;
  const msiFlags = msiAt >= 0 ? c.getWord(msiAt) : 0;
  const msixFlags = msixAt >= 0 ? c.getWord(msixAt) : 0;
  if (dev.configDefaults !== null) c.bytes.set(dev.configDefaults);
  dev.bars?.reset();
  const t = dev.triggers.type;
  if (t === 'msi' && msiAt >= 0) c.setWord(msiAt, msiFlags);
  if (t === 'msix' && msixAt >= 0) c.setWord(msixAt, msixFlags);
  dev.irqOf().reset();
  // mtty_reset's deferred reset: the migration FSM goes back to RUNNING and open streams close.
  dev.migration?.reset();
  dev.onReset?.();
}

type IoctlHandler = (dev: VfioPciEmuDevice, arg: Uint8Array) => number;

const ioctlTable: ReadonlyMap<number, IoctlHandler> = new Map<number, IoctlHandler>([
  [VFIO_DEVICE_GET_INFO, pciEmuGetInfo],
  [VFIO_DEVICE_GET_REGION_INFO, pciEmuGetRegionInfo],
  [VFIO_DEVICE_GET_IRQ_INFO, pciEmuGetIrqInfo],
  [VFIO_DEVICE_SET_IRQS, pciEmuSetIrqs],
  [
    VFIO_DEVICE_RESET,
    (dev) => {
      pciEmuReset(dev);
      return 0;
    },
  ],
]);

/** ops.ioctl: GET_INFO, GET_REGION_INFO, GET_IRQ_INFO, SET_IRQS and RESET; anything else is ENOTTY. */
export function pciEmuIoctl(dev: VfioPciEmuDevice, cmd: number, arg: Uint8Array): number {
  const handler = ioctlTable.get(cmd);
  if (handler === undefined) throw new VfioError('ENOTTY', `device ioctl 0x${(cmd >>> 0).toString(16)}`);
  return handler(dev, arg);
}

/** ops.request (vfio_pci_core_request): signals the REQ eventfd if the user set one, else says why unregister waits. */
export function pciEmuRequest(dev: VfioPciEmuDevice, count: number): void {
  const req = dev.triggers.reqTrigger;
  if (req >= 0) {
    if (count % 10 === 0) dev.log.info({ device: dev.name, count }, 'relaying device request to user');
    signalEventfd(req);
  } else if (count === 0) {
    dev.log.warn({ device: dev.name }, 'no device request channel registered, blocked until released by user');
  }
}

/** The part of closeDevice every emulated PCI device needs: every IRQ trigger dropped (its dup closed), migration streams closed. */
export function pciEmuCloseDevice(dev: VfioPciEmuDevice): void {
  pciEmuDisableIrqs(dev);
  dev.migration?.disableFiles();
}

/**
 * The shared ops: a driver's table is `{ ...pciEmuOps, name, init, release, ... }`. closeDevice drops the IRQ
 * triggers; a driver that needs more calls pciEmuCloseDevice from its own. read, write and regionRw are two
 * doors to the same region handlers: a driver that wraps one wraps the other too.
 */
export const pciEmuOps = Object.freeze({
  read: pciEmuRead,
  write: pciEmuWrite,
  regionRw: pciEmuRegionRw,
  ioctl: pciEmuIoctl,
  mmap: pciEmuMmap,
  request: pciEmuRequest,
  closeDevice: pciEmuCloseDevice,
} satisfies Omit<VfioDeviceOps<VfioPciEmuDevice>, 'name'>);
