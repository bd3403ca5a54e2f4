// BAR sizing and address assignment (drivers/pci/probe.c __pci_read_base, setup-bus.c in its simplest form):
// each BAR is sized by writing all ones, then given the next naturally aligned address of its kind.
import { PCI_BASE_ADDRESS_0, PCI_BASE_ADDRESS_MEM_PREFETCH, PCI_BASE_ADDRESS_MEM_TYPE_64, PCI_BASE_ADDRESS_SPACE_IO, PCI_HEADER_TYPE_BRIDGE, PCI_HEADER_TYPE_MASK, PCI_ROM_ADDRESS } from '../../uapi/pci-regs.js';
import { PCI_ROM_ADDRESS1 } from '../../uapi/pci-regs-ext.js';
import { pciReadConfig, pciWriteConfig } from './pci-dev.js';
import type { PciDev } from './pci-dev.js';
import type { PciHwRoot } from './hw-bus.js';

// include/linux/ioport.h resource flags, as the `resource` file shows them.
export const IORESOURCE_IO = 0x100;
export const IORESOURCE_MEM = 0x200;
export const IORESOURCE_PREFETCH = 0x2000;
export const IORESOURCE_READONLY = 0x4000;
export const IORESOURCE_SIZEALIGN = 0x40000;
export const IORESOURCE_MEM_64 = 0x100000;

/** The next free address per kind of space, per host bridge. */
interface Windows {
  io: bigint;
  mem32: bigint;
  mem64: bigint;
}

const windows = new WeakMap<PciHwRoot, Windows>();

function take(root: PciHwRoot, kind: keyof Windows, size: bigint): bigint {
  let w = windows.get(root);
  if (w === undefined) {
    w = { io: 0xc000n, mem32: 0xc0000000n, mem64: 0x80_0000_0000n };
    windows.set(root, w);
  }
  const start = (w[kind] + size - 1n) & ~(size - 1n);
  w[kind] = start + size;
  return start;
}

/** Writes all ones to a BAR dword and reads the size mask back, restoring the original. */
function sizeDword(pdev: PciDev, offset: number, ones: number): number {
  const orig = pciReadConfig(pdev, offset, 4);
  pciWriteConfig(pdev, offset, 4, ones);
  const mask = pciReadConfig(pdev, offset, 4);
  pciWriteConfig(pdev, offset, 4, orig);
  return mask;
}

/** pci_read_bases() + assignment: fills `pdev.resource` and programs each BAR's address (decoding stays off). */
export function pciAssignResources(pdev: PciDev, root: PciHwRoot): void {
  const isBridge = (pdev.hdrType & PCI_HEADER_TYPE_MASK) === PCI_HEADER_TYPE_BRIDGE;
  const bars = isBridge ? 2 : 6;
  for (let i = 0; i < bars; i++) {
    const off = PCI_BASE_ADDRESS_0 + 4 * i;
    const lo = sizeDword(pdev, off, 0xffffffff);
    if (lo === 0 || lo === 0xffffffff) {
      pdev.resource[i] = { start: 0n, size: 0n, flags: 0 };
      continue;
    }
    if ((lo & PCI_BASE_ADDRESS_SPACE_IO) !== 0) {
      const size = BigInt((~(lo & ~3) >>> 0) + 1) & 0xffffn;
      const start = take(root, 'io', size);
      pciWriteConfig(pdev, off, 4, Number(start));
      pdev.resource[i] = { start, size, flags: IORESOURCE_IO | IORESOURCE_SIZEALIGN | (lo & 0x3) };
      continue;
    }
    const is64 = (lo & 0x6) === PCI_BASE_ADDRESS_MEM_TYPE_64;
    const hi = is64 && i + 1 < bars ? sizeDword(pdev, off + 4, 0xffffffff) : 0xffffffff;
    const mask = (BigInt(hi) << 32n) | BigInt((lo & ~0xf) >>> 0);
    const size = is64 ? (1n << 64n) - mask : (1n << 32n) - (mask & 0xffffffffn);
    const prefetch = (lo & PCI_BASE_ADDRESS_MEM_PREFETCH) !== 0;
    const start = take(root, is64 ? 'mem64' : 'mem32', size);
    pciWriteConfig(pdev, off, 4, Number(start & 0xffffffffn));
    if (is64) pciWriteConfig(pdev, off + 4, 4, Number(start >> 32n));
    pdev.resource[i] = {
      start,
      size,
      flags: IORESOURCE_MEM | IORESOURCE_SIZEALIGN | (lo & 0xf) | (is64 ? IORESOURCE_MEM_64 : 0) | (prefetch ? IORESOURCE_PREFETCH : 0),
    };
    if (is64) {
      i++;
      pdev.resource[i] = { start: 0n, size: 0n, flags: 0 };
    }
  }
  for (let i = bars; i < 6; i++) pdev.resource[i] = { start: 0n, size: 0n, flags: 0 };
  const romOff = isBridge ? PCI_ROM_ADDRESS1 : PCI_ROM_ADDRESS;
  const rom = sizeDword(pdev, romOff, 0xfffff800);
  if (rom !== 0 && rom !== 0xffffffff && (rom & 0xfffff800) !== 0) {
    const size = (1n << 32n) - BigInt((rom & 0xfffff800) >>> 0);
    const start = take(root, 'mem32', size);
    // The ROM gets its address but stays disabled until someone reads it (pci_map_rom).
    pciWriteConfig(pdev, romOff, 4, Number(start));
    pdev.resource[6] = { start, size, flags: IORESOURCE_MEM | IORESOURCE_PREFETCH | IORESOURCE_READONLY | IORESOURCE_SIZEALIGN };
  } else {
    pdev.resource[6] = { start: 0n, size: 0n, flags: 0 };
  }
}
