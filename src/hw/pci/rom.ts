// Reading a function's expansion ROM (drivers/pci/rom.c pci_enable_rom, pci_disable_rom, pci_get_rom_size,
// pci_map_rom, pci_unmap_rom; PCI Firmware 3.0 5.1): the ROM BAR enabled while mapped, the image chain walked from
// its 0x55AA headers and PCIR data structures to find how much of the BAR the ROM really fills.
import { PCI_ROM_ADDRESS, PCI_ROM_ADDRESS_ENABLE } from '../../uapi/pci-regs.js';
import { pciBarRead, pciReadConfig, pciWriteConfig } from './pci-dev.js';
import type { PciDev } from './pci-dev.js';
import { PCI_ROM_BAR } from './pci-function.js';

/** The ROM header's signature, and the PCI data structure's ("PCIR"). */
export const PCI_ROM_SIGNATURE = 0xaa55;
export const PCI_DATA_STRUCT_SIGNATURE = 0x52494350;
/** Offsets in a ROM image header and its PCI data structure. */
export const PCI_ROM_PCIR_POINTER = 0x18;
export const PCIR_VENDOR = 4;
export const PCIR_DEVICE = 6;
export const PCIR_LENGTH = 10;
export const PCIR_CLASS_CODE = 13;
export const PCIR_IMAGE_LENGTH = 16;
export const PCIR_INDICATOR = 21;
/** PCIR indicator: this is the last image. */
export const PCIR_INDICATOR_LAST = 0x80;

/** A mapped ROM: `size` is how much the image chain fills (at most the BAR). */
export interface PciMappedRom {
  readonly size: number;
  read(offset: number, out: Uint8Array): void;
}

function romRead(pdev: PciDev, offset: number, n: 1 | 2 | 4): number {
  const b = new Uint8Array(n);
  pciBarRead(pdev, PCI_ROM_BAR, offset, b);
  let v = 0;
  for (let i = n - 1; i >= 0; i--) v = v * 256 + (b[i] ?? 0);
  return v;
}

/** pci_enable_rom(): the BAR's enable bit set, keeping the address the host assigned. */
export function pciEnableRom(pdev: PciDev): void {
  const start = Number(pdev.resource[PCI_ROM_BAR]?.start ?? 0n);
  pciWriteConfig(pdev, PCI_ROM_ADDRESS, 4, (start | PCI_ROM_ADDRESS_ENABLE) >>> 0);
}

/** pci_disable_rom(). */
export function pciDisableRom(pdev: PciDev): void {
  pciWriteConfig(pdev, PCI_ROM_ADDRESS, 4, (pciReadConfig(pdev, PCI_ROM_ADDRESS, 4) & ~PCI_ROM_ADDRESS_ENABLE) >>> 0);
}

/**
 * pci_get_rom_size(): walks the images (each a 0x55AA header whose word at 0x18 points at a "PCIR" structure
 * giving its length in 512-byte units and whether it is the last); stops at the first invalid one. Never more
 * than the BAR.
 */
export function pciGetRomSize(pdev: PciDev, barSize: number): number {
  let image = 0;
  for (;;) {
    if (image + 2 > barSize || romRead(pdev, image, 2) !== PCI_ROM_SIGNATURE) break;
    if (image + PCI_ROM_PCIR_POINTER + 2 > barSize) break;
    const pds = image + romRead(pdev, image + PCI_ROM_PCIR_POINTER, 2);
    if (pds + PCIR_INDICATOR + 1 > barSize || romRead(pdev, pds, 4) !== PCI_DATA_STRUCT_SIGNATURE) break;
    const last = (romRead(pdev, pds + PCIR_INDICATOR, 1) & PCIR_INDICATOR_LAST) !== 0;
    const length = romRead(pdev, pds + PCIR_IMAGE_LENGTH, 2);
    image += length * 512;
    if (image >= barSize || length === 0 || last) break;
  }
  return Math.min(image, barSize);
}

/**
 * pci_map_rom(): the ROM BAR enabled (the caller has memory decoding on) and its true size found; null (the BAR
 * disabled again) when the function has no ROM or its first image is not valid. Undo with pciUnmapRom.
 */
export function pciMapRom(pdev: PciDev): PciMappedRom | null {
  const barSize = Number(pdev.resource[PCI_ROM_BAR]?.size ?? 0n);
  if (barSize === 0) return null;
  pciEnableRom(pdev);
  const size = pciGetRomSize(pdev, barSize);
  if (size === 0) {
    pciDisableRom(pdev);
    return null;
  }
  return { size, read: (offset, out) => pciBarRead(pdev, PCI_ROM_BAR, offset, out) };
}

/** pci_unmap_rom(): balances pciMapRom. */
export function pciUnmapRom(pdev: PciDev, _rom: PciMappedRom): void {
  pciDisableRom(pdev);
}
