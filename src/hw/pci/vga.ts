// Legacy VGA decode (PCI Local Bus 3.0 3.10, the VGA arbiter's view in drivers/pci/vgaarb.c): a VGA-class function
// also answers the fixed ranges 0xa0000-0xbffff (memory) and 0x3b0-0x3bb, 0x3c0-0x3df (I/O) while COMMAND enables
// that space. Host bridges and bridges' VGA Enable routing are not modelled: a cycle reaches the function directly.
import { PCI_COMMAND, PCI_COMMAND_IO, PCI_COMMAND_MEMORY } from '../../uapi/pci-regs.js';
import type { PciDev } from './pci-dev.js';
import type { PciFunction } from './pci-function.js';

export type VgaSpace = 'mem' | 'io';

/** The legacy ranges, [start, end] inclusive. */
export const VGA_LEGACY_MEM_START = 0xa0000;
export const VGA_LEGACY_MEM_END = 0xbffff;
export const VGA_LEGACY_IO_MONO_START = 0x3b0;
export const VGA_LEGACY_IO_MONO_END = 0x3bb;
export const VGA_LEGACY_IO_START = 0x3c0;
export const VGA_LEGACY_IO_END = 0x3df;

/** What a VGA-class model implements for its legacy ranges (addresses are bus addresses: 0xa0000.., 0x3c0..). */
export interface PciVgaLegacy {
  vgaLegacyRead(space: VgaSpace, addr: number, out: Uint8Array): void;
  vgaLegacyWrite(space: VgaSpace, addr: number, data: Uint8Array): void;
}

/** Whether `hw` decodes the legacy VGA ranges. */
export function isPciVgaLegacy(hw: PciFunction): hw is PciFunction & PciVgaLegacy {
  return 'vgaLegacyRead' in hw && 'vgaLegacyWrite' in hw;
}

/** Whether [addr, addr + length) lies inside one legacy range of `space`. */
export function vgaLegacyRange(space: VgaSpace, addr: number, length: number): boolean {
  const inside = (s: number, e: number): boolean => addr >= s && addr + length - 1 <= e;
  if (space === 'mem') return inside(VGA_LEGACY_MEM_START, VGA_LEGACY_MEM_END);
  return inside(VGA_LEGACY_IO_MONO_START, VGA_LEGACY_IO_MONO_END) || inside(VGA_LEGACY_IO_START, VGA_LEGACY_IO_END);
}

/**
 * A legacy VGA cycle at the function: reaches it only if it is a VGA decoder with that space enabled in COMMAND,
 * in D0; otherwise master abort (reads all ones, writes dropped).
 */
export function pciVgaRw(pdev: PciDev, space: VgaSpace, addr: number, buf: Uint8Array, write: boolean): void {
  const hw = pdev.hw;
  const bit = space === 'mem' ? PCI_COMMAND_MEMORY : PCI_COMMAND_IO;
  const decodes = isPciVgaLegacy(hw) && vgaLegacyRange(space, addr, buf.length) && hw.powerState === 0 && (hw.config.getWord(PCI_COMMAND) & bit) !== 0;
  if (!decodes) {
    if (!write) buf.fill(0xff);
    return;
  }
  if (write) hw.vgaLegacyWrite(space, addr, buf);
  else hw.vgaLegacyRead(space, addr, buf);
}
