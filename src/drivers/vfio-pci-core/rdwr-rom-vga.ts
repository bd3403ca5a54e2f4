// The ROM and VGA regions of a vfio-pci device (drivers/vfio/pci/vfio_pci_rdwr.c vfio_pci_bar_rw for
// PCI_ROM_RESOURCE, vfio_pci_vga_rw; vfio_pci_core.c vfio_pci_is_vga): the ROM read through pci_map_rom with bytes
// past the image reading 0xff, the legacy VGA ranges as one 0xc0000-byte region addressed by bus address.
import { pciReadConfig, pciWriteConfig } from '../../hw/pci/pci-dev.js';
import type { PciDev } from '../../hw/pci/pci-dev.js';
import { PCI_ROM_BAR } from '../../hw/pci/pci-function.js';
import { pciMapRom, pciUnmapRom } from '../../hw/pci/rom.js';
import { pciVgaRw } from '../../hw/pci/vga.js';
import type { VgaSpace } from '../../hw/pci/vga.js';
import { VfioError } from '../../uapi/errno.js';
import { PCI_CLASS_DISPLAY_VGA, PCI_COMMAND, PCI_COMMAND_IO, PCI_COMMAND_MEMORY } from '../../uapi/pci-regs.js';
import { pdevOf } from './core-device.js';
import type { VfioPciCoreDevice } from './core-device.js';

/** The VGA region's size: every legacy address below 0xc0000. */
export const VFIO_PCI_VGA_REGION_SIZE = 0xc0000;

/** vfio_pci_is_vga(): class 0300 (any prog-if). */
export function vfioPciIsVga(pdev: PciDev): boolean {
  return pdev.classCode >> 8 === PCI_CLASS_DISPLAY_VGA;
}

/**
 * GET_REGION_INFO's ROM size: the BAR's length when pci_map_rom finds a valid image (memory decoding enabled for
 * the probe), else 0. The kernel reports the BAR size, not the image's.
 */
export function vfioPciRomRegionSize(vdev: VfioPciCoreDevice): number {
  const pdev = pdevOf(vdev);
  const barSize = Number(pdev.resource[PCI_ROM_BAR]?.size ?? 0n);
  if (barSize === 0) return 0;
  const cmd = pciReadConfig(pdev, PCI_COMMAND, 2);
  if ((cmd & PCI_COMMAND_MEMORY) === 0) pciWriteConfig(pdev, PCI_COMMAND, 2, cmd | PCI_COMMAND_MEMORY);
  try {
    const rom = pciMapRom(pdev);
    if (rom === null) return 0;
    pciUnmapRom(pdev, rom);
    return barSize;
  } finally {
    pciWriteConfig(pdev, PCI_COMMAND, 2, cmd);
  }
}

/**
 * vfio_pci_bar_rw() on the ROM: reads only (the caller refused writes), cut at the BAR's end (EINVAL at or past
 * it); the ROM mapped for the access; bytes past the image (the excluded range) read 0xff. ENOMEM when there is no
 * valid ROM to map. The caller checked the user's memory enable (EIO).
 */
export function vfioPciRomRead(vdev: VfioPciCoreDevice, pos: number, buf: Uint8Array): number {
  const pdev = pdevOf(vdev);
  const end = Number(pdev.resource[PCI_ROM_BAR]?.size ?? 0n);
  if (pos >= end) throw new VfioError('EINVAL', `ROM offset 0x${pos.toString(16)} past its ${end} bytes`);
  const count = Math.min(buf.length, end - pos);
  const rom = pciMapRom(pdev);
  if (rom === null) throw new VfioError('ENOMEM', `${pdev.bdf} has no ROM to map`);
  try {
    const inImage = Math.max(0, Math.min(count, rom.size - pos));
    if (inImage > 0) rom.read(pos, buf.subarray(0, inImage));
    buf.fill(0xff, inImage, count);
  } finally {
    pciUnmapRom(pdev, rom);
  }
  return count;
}

/**
 * vfio_pci_vga_rw(): EINVAL without the VGA region or past 0xbffff or outside 0xa0000-0xbffff, 0x3b0-0x3bb and
 * 0x3c0-0x3df; an access is cut at the end of its range. The arbiter gives the function legacy decoding for the
 * access (vga_get: its COMMAND's I/O or memory enable), whatever the user's COMMAND says, as the kernel does.
 */
export function vfioPciVgaRw(vdev: VfioPciCoreDevice, pos: number, buf: Uint8Array, write: boolean): number {
  if (!vdev.hasVga) throw new VfioError('EINVAL', 'no VGA region');
  if (pos >= VFIO_PCI_VGA_REGION_SIZE) throw new VfioError('EINVAL', `VGA offset 0x${pos.toString(16)}`);
  let end: number;
  let space: VgaSpace;
  if (pos >= 0xa0000) {
    end = 0xc0000;
    space = 'mem';
  } else if (pos >= 0x3b0 && pos <= 0x3bb) {
    end = 0x3bc;
    space = 'io';
  } else if (pos >= 0x3c0 && pos <= 0x3df) {
    end = 0x3e0;
    space = 'io';
  } else {
    throw new VfioError('EINVAL', `VGA offset 0x${pos.toString(16)} is no legacy VGA address`);
  }
  const count = Math.min(buf.length, end - pos);
  const pdev = pdevOf(vdev);
  const bit = space === 'mem' ? PCI_COMMAND_MEMORY : PCI_COMMAND_IO;
  const cmd = pciReadConfig(pdev, PCI_COMMAND, 2);
  if ((cmd & bit) === 0) pciWriteConfig(pdev, PCI_COMMAND, 2, cmd | bit);
  try {
    // vfio_pci_core_do_io_rw() with no excluded range: aligned 4/2/1-byte cycles.
    let done = 0;
    while (done < count) {
      const at = pos + done;
      const left = count - done;
      const n = left >= 4 && at % 4 === 0 ? 4 : left >= 2 && at % 2 === 0 ? 2 : 1;
      pciVgaRw(pdev, space, at, buf.subarray(done, done + n), write);
      done += n;
    }
  } finally {
    if ((cmd & bit) === 0) pciWriteConfig(pdev, PCI_COMMAND, 2, cmd);
  }
  return count;
}
