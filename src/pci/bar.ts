// BARs and the expansion ROM BAR with hardware sizing semantics (PCI Local Bus spec 6.2.5; pci_regs.h).

import { check } from '../uapi/errno.js';
import {
  PCI_BASE_ADDRESS_0,
  PCI_BASE_ADDRESS_MEM_PREFETCH,
  PCI_BASE_ADDRESS_MEM_TYPE_64,
  PCI_BASE_ADDRESS_SPACE_IO,
  PCI_COMMAND,
  PCI_COMMAND_IO,
  PCI_COMMAND_MEMORY,
  PCI_ROM_ADDRESS,
  PCI_ROM_ADDRESS_ENABLE,
  PCI_STD_NUM_BARS,
} from '../uapi/pci-regs.js';
import type { PciConfigSpace } from './config-space.js';

export type PciBarKind = 'io' | 'mem32' | 'mem64';

/** One implemented BAR. A mem64 BAR also takes index + 1 (its upper dword). */
export interface PciBarDef {
  index: number;
  kind: PciBarKind;
  /** Bytes; a power of two, at least 4 for I/O and 16 for memory. */
  size: number;
  prefetchable?: boolean;
}

/** The expansion ROM BAR (0x30). */
export interface PciRomDef {
  /** Bytes; a power of two, at least 2 KiB. */
  size: number;
}

/** A BAR as decoded from config space, for logs and region mapping. */
export interface PciBarState {
  index: number;
  kind: PciBarKind;
  size: number;
  prefetchable: boolean;
  /** The programmed base address. */
  address: bigint;
  /** Whether PCI_COMMAND enables the BAR's address space (I/O or memory). */
  enabled: boolean;
}

const MIN_IO = 4;
const MIN_MEM = 16;
const MIN_ROM = 2048;
const U32 = 0xffffffffn;

const isPow2 = (n: number): boolean => Number.isSafeInteger(n) && n > 0 && (BigInt(n) & (BigInt(n) - 1n)) === 0n;

interface BarSlot {
  def: Required<PciBarDef>;
  /** Low bits that are hardwired: space, type and prefetch. */
  flags: number;
  /** ~(size - 1) over the BAR's full width. */
  sizeMask: bigint;
  address: bigint;
}

/**
 * The six BAR dwords and the ROM BAR of a type 0 header, virtualized through config-space
 * hooks. Writing all ones and reading back yields the size mask with the type bits, exactly
 * as hardware answers a sizing probe; unimplemented BARs read 0 and ignore writes.
 */
export class PciBars {
  private readonly slots: (BarSlot | undefined)[] = new Array<BarSlot | undefined>(PCI_STD_NUM_BARS).fill(undefined);
  private readonly romSize: number;
  private romAddress = 0;
  private romEnable = false;

  constructor(
    private readonly config: PciConfigSpace,
    defs: readonly PciBarDef[],
    rom?: PciRomDef,
  ) {
    const taken = new Set<number>();
    for (const d of defs) {
      const def: Required<PciBarDef> = { prefetchable: false, ...d };
      check(Number.isInteger(def.index) && def.index >= 0 && def.index < PCI_STD_NUM_BARS, 'EINVAL', `BAR index ${def.index}`);
      check(isPow2(def.size), 'EINVAL', `BAR${def.index} size ${def.size} is not a power of two`);
      const width = def.kind === 'mem64' ? 64 : 32;
      check(def.size >= (def.kind === 'io' ? MIN_IO : MIN_MEM), 'EINVAL', `BAR${def.index} size ${def.size} too small`);
      check(BigInt(def.size) <= 1n << BigInt(width - 1), 'EINVAL', `BAR${def.index} size ${def.size} too large`);
      check(def.kind !== 'io' || !def.prefetchable, 'EINVAL', `I/O BAR${def.index} cannot be prefetchable`);
      const uses = def.kind === 'mem64' ? [def.index, def.index + 1] : [def.index];
      for (const i of uses) {
        check(i < PCI_STD_NUM_BARS, 'EINVAL', `64-bit BAR${def.index} has no upper dword`);
        check(!taken.has(i), 'EEXIST', `BAR${i} defined twice`);
        taken.add(i);
      }
      const flags =
        def.kind === 'io'
          ? PCI_BASE_ADDRESS_SPACE_IO
          : (def.kind === 'mem64' ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0) | (def.prefetchable ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
      const full = width === 64 ? (1n << 64n) - 1n : U32;
      this.slots[def.index] = { def, flags, sizeMask: full & ~(BigInt(def.size) - 1n), address: 0n };
    }
    if (rom !== undefined) {
      check(isPow2(rom.size) && rom.size >= MIN_ROM && rom.size <= 2 ** 31, 'EINVAL', `ROM size ${rom.size}`);
    }
    this.romSize = rom?.size ?? 0;

    for (let i = 0; i < PCI_STD_NUM_BARS; i++) this.hookBar(i);
    config.hookDword(PCI_ROM_ADDRESS, {
      read: () => (this.romSize === 0 ? 0 : (this.romAddress | (this.romEnable ? PCI_ROM_ADDRESS_ENABLE : 0)) >>> 0),
      write: (value, mask) => {
        if (this.romSize === 0) return;
        const cur = this.romAddress | (this.romEnable ? PCI_ROM_ADDRESS_ENABLE : 0);
        const v = ((cur & ~mask) | (value & mask)) >>> 0;
        this.romAddress = (v & ~(this.romSize - 1)) >>> 0;
        this.romEnable = (v & PCI_ROM_ADDRESS_ENABLE) !== 0;
      },
    });
  }

  /** The decoded state of an implemented BAR, or undefined. */
  bar(index: number): PciBarState | undefined {
    const s = this.slots[index];
    if (s === undefined) return undefined;
    const cmd = this.config.getWord(PCI_COMMAND);
    return {
      index,
      kind: s.def.kind,
      size: s.def.size,
      prefetchable: s.def.prefetchable,
      address: s.address,
      enabled: (cmd & (s.def.kind === 'io' ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)) !== 0,
    };
  }

  /** Every implemented BAR, decoded (for logs). */
  decoded(): PciBarState[] {
    const out: PciBarState[] = [];
    for (let i = 0; i < PCI_STD_NUM_BARS; i++) {
      const b = this.bar(i);
      if (b !== undefined) out.push(b);
    }
    return out;
  }

  /** The ROM BAR's programmed address, size and enable bit (size 0: no ROM). */
  rom(): { address: number; size: number; enabled: boolean } {
    return { address: this.romAddress, size: this.romSize, enabled: this.romEnable };
  }

  /** Puts every BAR back to address 0 (what a function reset does). */
  reset(): void {
    for (const s of this.slots) if (s !== undefined) s.address = 0n;
    this.romAddress = 0;
    this.romEnable = false;
  }

  private hookBar(i: number): void {
    const offset = PCI_BASE_ADDRESS_0 + 4 * i;
    const own = this.slots[i];
    const lower = i > 0 ? this.slots[i - 1] : undefined;
    if (own !== undefined) {
      this.config.hookDword(offset, {
        // The address is stored already masked by the size, so the type bits never collide.
        read: () => (Number(own.address & U32) | own.flags) >>> 0,
        write: (value, mask) => {
          const low = merge(Number(own.address & U32), value, mask);
          own.address = ((own.address & ~U32) | BigInt(low)) & own.sizeMask;
        },
      });
    } else if (lower !== undefined && lower.def.kind === 'mem64') {
      this.config.hookDword(offset, {
        read: () => Number(lower.address >> 32n),
        write: (value, mask) => {
          const high = merge(Number(lower.address >> 32n), value, mask);
          lower.address = ((BigInt(high) << 32n) | (lower.address & U32)) & lower.sizeMask;
        },
      });
    } else {
      // Unimplemented: reads 0, writes ignored.
      this.config.hookDword(offset, { read: () => 0, write: () => {} });
    }
  }
}

/** The dword `cur` after a guest write of `value` to the bytes in `mask` (unsigned). */
function merge(cur: number, value: number, mask: number): number {
  return ((cur & ~mask) | (value & mask)) >>> 0;
}
