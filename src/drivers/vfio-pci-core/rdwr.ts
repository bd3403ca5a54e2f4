// Region access of a vfio-pci device (drivers/vfio/pci/vfio_pci_rdwr.c vfio_pci_bar_rw, vfio_pci_core_do_io_rw,
// vfio_pci_ioeventfd; vfio_pci_core.c vfio_pci_rw): BARs through the function's BAR cycles in aligned pieces with
// the MSI-X table fenced off (reads all ones, writes dropped), the ROM, CONFIG through the virtualization.
import { FdWatcher, POLLIN, close, eventfdRead } from '../../native/index.js';
import { pciBarRead, pciBarWrite } from '../../hw/pci/pci-dev.js';
import { IORESOURCE_MEM } from '../../hw/pci/resources.js';
import { takeEventfd } from '../../emu/irq-triggers.js';
import { VfioError } from '../../uapi/errno.js';
import { PCI_COMMAND, PCI_COMMAND_MEMORY } from '../../uapi/pci-regs.js';
import { VFIO_PCI_BAR5_REGION_INDEX, VFIO_PCI_CONFIG_REGION_INDEX, VFIO_PCI_NUM_REGIONS, VFIO_PCI_OFFSET_MASK, VFIO_PCI_OFFSET_SHIFT, VFIO_PCI_ROM_REGION_INDEX, VFIO_PCI_VGA_REGION_INDEX } from '../../uapi/region-info.js';
import { decodeVfioDeviceIoeventfd, vfioIoeventfdWidth } from '../../uapi/ioeventfd.js';
import { le16 } from './config-init.js';
import { vfioPciConfigRw } from './config-rw.js';
import { pdevOf } from './core-device.js';
import { PCI_D3HOT } from './power.js';
import { vfioPciPmRuntimeCall } from './low-power.js';
import { vfioPciRomRead, vfioPciRomRegionSize, vfioPciVgaRw } from './rdwr-rom-vga.js';
import type { VfioPciCoreDevice, VfioPciIoeventfd } from './core-device.js';

/** 1 << VFIO_PCI_OFFSET_SHIFT: the file-position span of one region. */
const OFFSET_SPAN = 2 ** Number(VFIO_PCI_OFFSET_SHIFT);

/** VFIO_PCI_IOEVENTFD_MAX. */
export const VFIO_PCI_IOEVENTFD_MAX = 1000;

/** __vfio_pci_memory_enabled(): below D3hot, and the user's memory enable (VFs decode by the PF's MSE). */
function memoryEnabled(vdev: VfioPciCoreDevice): boolean {
  const v = vdev.vconfig;
  const pdev = pdevOf(vdev);
  if (pdev.hw.powerState >= PCI_D3HOT) return false;
  return pdev.isVirtfn || (v !== null && (le16(v, PCI_COMMAND) & PCI_COMMAND_MEMORY) !== 0);
}

/** The bytes of BAR `bar` the user may reach (pci_resource_len); EINVAL for a BAR the host did not map. */
function barLen(vdev: VfioPciCoreDevice, bar: number): number {
  const lens = (vdev.barLens ??= pdevOf(vdev).resource.map((res) => (res === undefined || res.start === 0n ? -1 : Number(res.size))));
  const len = lens[bar] ?? -1;
  if (len < 0) throw new VfioError('EINVAL', `BAR${bar} is not implemented`);
  return len;
}

/**
 * vfio_pci_core_do_io_rw(): aligned 4/2/1-byte cycles; bytes in [xStart, xEnd) are not the user's (reads give
 * 0xff, writes are dropped).
 */
function doIoRw(vdev: VfioPciCoreDevice, bar: number, buf: Uint8Array, pos: number, xStart: number, xEnd: number, write: boolean): number {
  const pdev = pdevOf(vdev);
  let done = 0;
  while (done < buf.length) {
    const at = pos + done;
    const left = buf.length - done;
    let n = left >= 4 && at % 4 === 0 ? 4 : left >= 2 && at % 2 === 0 ? 2 : 1;
    // A piece never straddles the fenced range.
    if (at < xStart && at + n > xStart) n = xStart - at >= 2 && at % 2 === 0 ? 2 : 1;
    const piece = done === 0 && n === buf.length ? buf : buf.subarray(done, done + n);
    if (at >= xStart && at < xEnd) {
      if (!write) piece.fill(0xff);
    } else if (write) {
      pciBarWrite(pdev, bar, at, piece);
    } else {
      pciBarRead(pdev, bar, at, piece);
    }
    done += n;
  }
  return done;
}

/** vfio_pci_bar_rw(): EIO while the user has memory decoding off; accesses past the BAR are cut at its end. */
function barRw(vdev: VfioPciCoreDevice, bar: number, buf: Uint8Array, pos: number, write: boolean): number {
  const pdev = pdevOf(vdev);
  const end = barLen(vdev, bar);
  if (pos >= end) throw new VfioError('EINVAL', `BAR${bar} offset 0x${pos.toString(16)} past its ${end} bytes`);
  const res = pdev.resource[bar];
  if (res !== undefined && (res.flags & IORESOURCE_MEM) !== 0 && !memoryEnabled(vdev)) throw new VfioError('EIO', `BAR${bar}: memory decoding is disabled`);
  const count = Math.min(buf.length, end - pos);
  const fenced = bar === vdev.msixBar;
  const xStart = fenced ? vdev.msixOffset : 0;
  const xEnd = fenced ? vdev.msixOffset + vdev.msixSize : 0;
  return doIoRw(vdev, bar, count === buf.length ? buf : buf.subarray(0, count), pos, xStart, xEnd, write);
}

/** The ROM region's size: its BAR's length when pci_map_rom finds a valid image; else 0. */
export function vfioPciRomSize(vdev: VfioPciCoreDevice): number {
  return vfioPciRomRegionSize(vdev);
}

/**
 * The region-addressed access every door (read/write at a file position, regionRw) ends in; the device is awake for
 * it (vfio_pci_rw's pm_runtime_resume_and_get: a suspended device resumes, signalling a wakeup eventfd).
 */
export function vfioPciRegionRw(vdev: VfioPciCoreDevice, index: number, offset: number, buf: Uint8Array, write: boolean): number {
  if (buf.length === 0) return 0;
  if (index >= VFIO_PCI_NUM_REGIONS) throw new VfioError('EINVAL', `region ${index} of ${VFIO_PCI_NUM_REGIONS}`);
  // Awake and no low power asked for (every access but those of a user who entered it): nothing to hold.
  if (!vdev.pmRuntimeEngaged && vdev.pmRuntimeSaved === null) return regionRwAwake(vdev, index, offset, buf, write);
  return vfioPciPmRuntimeCall(vdev, () => regionRwAwake(vdev, index, offset, buf, write));
}

function regionRwAwake(vdev: VfioPciCoreDevice, index: number, offset: number, buf: Uint8Array, write: boolean): number {
  if (index === VFIO_PCI_CONFIG_REGION_INDEX) return vfioPciConfigRw(vdev, offset, buf, write);
  if (index === VFIO_PCI_ROM_REGION_INDEX) {
    if (write) throw new VfioError('EINVAL', 'the ROM is read-only');
    if (!memoryEnabled(vdev)) throw new VfioError('EIO', 'ROM: memory decoding is disabled');
    return vfioPciRomRead(vdev, offset, buf);
  }
  if (index <= VFIO_PCI_BAR5_REGION_INDEX && index >= 0) return barRw(vdev, index, buf, offset, write);
  if (index === VFIO_PCI_VGA_REGION_INDEX) return vfioPciVgaRw(vdev, offset, buf, write);
  // No device-specific regions.
  throw new VfioError('EINVAL', `region ${index} of ${VFIO_PCI_NUM_REGIONS}`);
}

/** vfio_pci_rw(): a read or write at a device-file position (index in the bits above VFIO_PCI_OFFSET_SHIFT). */
export function vfioPciRw(vdev: VfioPciCoreDevice, buf: Uint8Array, pos: number, write: boolean): number {
  if (!Number.isSafeInteger(pos) || pos < 0) throw new VfioError('EINVAL', `position ${pos}`);
  // A safe integer splits exactly by division: no BigInt on the access path.
  const index = Math.floor(pos / OFFSET_SPAN);
  return vfioPciRegionRw(vdev, index, pos - index * OFFSET_SPAN, buf, write);
}

/** Drops one ioeventfd: its watcher stopped, its dup closed. */
function ioeventfdFree(ioe: VfioPciIoeventfd): void {
  ioe.stop();
  close(ioe.fd);
}

/** Every ioeventfd dropped (vfio_pci_core_disable). */
export function vfioPciIoeventfdsRelease(vdev: VfioPciCoreDevice): void {
  for (const ioe of vdev.ioeventfds.splice(0)) ioeventfdFree(ioe);
}

/**
 * VFIO_DEVICE_IOEVENTFD (vfio_pci_ioeventfd): a signal on `fd` writes `data` to a BAR offset, as the user's own write
 * would. fd -1 removes the matching one (ENODEV if none); the same (offset, width, data) twice is EEXIST; none in
 * the MSI-X table, none past the BAR (EINVAL); at most VFIO_PCI_IOEVENTFD_MAX (ENOSPC).
 */
export function vfioPciIoctlIoeventfd(vdev: VfioPciCoreDevice, arg: Uint8Array): number {
  const x = decodeVfioDeviceIoeventfd(arg);
  const width = vfioIoeventfdWidth(x.flags);
  const bar = Number(x.offset >> VFIO_PCI_OFFSET_SHIFT);
  const offset = Number(x.offset & VFIO_PCI_OFFSET_MASK);
  if (bar > VFIO_PCI_BAR5_REGION_INDEX) throw new VfioError('EINVAL', 'ioeventfds are for BARs only');
  if (offset + width > barLen(vdev, bar)) throw new VfioError('EINVAL', 'ioeventfd past the BAR');
  if (bar === vdev.msixBar && offset + width > vdev.msixOffset && offset < vdev.msixOffset + vdev.msixSize) throw new VfioError('EINVAL', 'ioeventfd in the MSI-X table');
  if (width === 8) throw new VfioError('EINVAL', 'no 64-bit BAR accesses here');
  const data = x.data & ((1n << BigInt(width * 8)) - 1n);
  const i = vdev.ioeventfds.findIndex((e) => e.bar === bar && e.offset === offset && e.width === width && e.data === data);
  if (i >= 0) {
    if (x.fd !== -1) throw new VfioError('EEXIST', 'this ioeventfd exists');
    const [gone] = vdev.ioeventfds.splice(i, 1);
    if (gone !== undefined) ioeventfdFree(gone);
    return 0;
  }
  if (x.fd === -1) throw new VfioError('ENODEV', 'no such ioeventfd');
  if (vdev.ioeventfds.length >= VFIO_PCI_IOEVENTFD_MAX) throw new VfioError('ENOSPC', 'too many ioeventfds');
  const fd = takeEventfd(x.fd);
  const bytes = new Uint8Array(width);
  for (let b = 0; b < width; b++) bytes[b] = Number((data >> BigInt(8 * b)) & 0xffn);
  const watcher = new FdWatcher(fd, (events, error) => {
    if (error !== 0 || (events & POLLIN) === 0) return;
    // vfio_pci_ioeventfd_handler: the write, if the count was ours to take and the BAR still decodes.
    if (typeof eventfdRead(fd) !== 'bigint') return;
    try {
      barRw(vdev, bar, bytes.slice(), offset, true);
    } catch (err) {
      if (!(err instanceof VfioError)) throw err;
    }
  });
  watcher.unref();
  watcher.start(POLLIN);
  vdev.ioeventfds.push({ bar, offset, width, data, fd, stop: () => watcher.close() });
  return 0;
}
