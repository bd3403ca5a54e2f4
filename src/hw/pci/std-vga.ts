// QEMU's standard VGA (hw/display/vga-pci.c "VGA", vga.c, vga_int.h): PCI 1234:1111, class 0300. BAR0 the
// framebuffer (VRAM in a memfd a host process can map), BAR2 the MMIO window (EDID block, the VGA ports at 0x400,
// the bochs dispi registers at 0x500, QEMU's extension registers at 0x600), an option ROM, and the legacy VGA
// ranges: 0xa0000-0xbffff onto VRAM through the VBE bank, the VGA ports at 0x3b0-0x3bb and 0x3c0-0x3df.
import { BochsDispi, PCI_VGA_IOPORT_OFFSET, PCI_VGA_IOPORT_SIZE, VBE_DISPI_INDEX_BANK } from '../bochs-dispi.js';
import type { DispiStateRecord } from '../bochs-dispi.js';
import { close, memfdCreate, mmap, munmap } from '../../native/index.js';
import { PciBars } from '../../pci/bar.js';
import { VfioError, check } from '../../uapi/errno.js';
import { PCI_CFG_SPACE_SIZE, PCI_CLASS_DISPLAY_VGA } from '../../uapi/pci-regs.js';
import type { PciBarBacking, PciSharedBars } from './bar-memory.js';
import { PciFunction, PCI_ROM_BAR } from './pci-function.js';
import type { PciHwResetKind } from './pci-function.js';
import { PCIR_CLASS_CODE, PCIR_DEVICE, PCIR_IMAGE_LENGTH, PCIR_INDICATOR, PCIR_INDICATOR_LAST, PCIR_LENGTH, PCIR_VENDOR, PCI_ROM_PCIR_POINTER } from './rom.js';
import type { PciVgaLegacy, VgaSpace } from './vga.js';
import { VGA_LEGACY_MEM_START } from './vga.js';
import { VgaRegisters } from '../vga-registers.js';
import type { VgaRegistersRecord } from '../vga-registers.js';

export const STD_VGA_VENDOR = 0x1234;
export const STD_VGA_DEVICE = 0x1111;
export const STD_VGA_VRAM_BAR = 0;
export const STD_VGA_MMIO_BAR = 2;
export const STD_VGA_MMIO_SIZE = 0x1000;
/** The ROM BAR's size (QEMU's vgabios-stdvga.bin is a 64 KiB BAR), and the image in it. */
export const STD_VGA_ROM_BAR_SIZE = 0x10000;
export const STD_VGA_ROM_IMAGE_SIZE = 0x8000;
const PCIR_AT = 0x40;
const BANK_SIZE = 0x10000;

export interface StdVgaOptions {
  /** VRAM bytes: a power of two, 1-256 MiB (QEMU's vgamem_mb; default 16 MiB). */
  readonly vramSize?: number;
}

export interface StdVgaStateRecord {
  readonly kind: 'std-vga';
  readonly version: 1;
  readonly dispi: DispiStateRecord;
  readonly vga: VgaRegistersRecord;
}

/**
 * The option ROM image: one x86 image with a 0x55AA header (length in 512-byte units at 2, an entry point doing
 * `retf` at 3), its "PCIR" structure at 0x40 naming the function's ids and class, marked last, and a checksum
 * byte making the image sum to 0 as a BIOS checks. The rest of the BAR reads 0xff (erased flash).
 */
export function stdVgaRomImage(vendor: number, device: number, classCode: number): Uint8Array {
  const rom = new Uint8Array(STD_VGA_ROM_BAR_SIZE).fill(0xff);
  const img = rom.subarray(0, STD_VGA_ROM_IMAGE_SIZE);
  img.fill(0);
  const dv = new DataView(img.buffer, img.byteOffset, img.byteLength);
  dv.setUint16(0, 0xaa55, true);
  img[2] = STD_VGA_ROM_IMAGE_SIZE / 512;
  img[3] = 0xcb; // retf: an init entry that returns at once
  dv.setUint16(PCI_ROM_PCIR_POINTER, PCIR_AT, true);
  dv.setUint32(PCIR_AT, 0x52494350, true); // "PCIR"
  dv.setUint16(PCIR_AT + PCIR_VENDOR, vendor, true);
  dv.setUint16(PCIR_AT + PCIR_DEVICE, device, true);
  dv.setUint16(PCIR_AT + PCIR_LENGTH, 0x18, true);
  img[PCIR_AT + PCIR_CLASS_CODE] = 0x00; // prog-if
  img[PCIR_AT + PCIR_CLASS_CODE + 1] = classCode & 0xff;
  img[PCIR_AT + PCIR_CLASS_CODE + 2] = classCode >> 8;
  dv.setUint16(PCIR_AT + PCIR_IMAGE_LENGTH, STD_VGA_ROM_IMAGE_SIZE / 512, true);
  img[PCIR_AT + PCIR_INDICATOR] = PCIR_INDICATOR_LAST; // code type 0 (x86) at 20
  let sum = 0;
  for (const b of img) sum = (sum + b) & 0xff;
  img[img.length - 1] = (0x100 - sum) & 0xff;
  return rom;
}

export class StdVga extends PciFunction implements PciVgaLegacy, PciSharedBars {
  readonly model = 'std-vga';
  readonly vramSize: number;
  readonly dispi: BochsDispi;
  readonly vga = new VgaRegisters();
  private readonly rom: Uint8Array;
  private vramFd: number;
  private vramBuf: ArrayBuffer | null;
  /** VRAM as the card sees it: the memfd's pages, shared with anyone who maps BAR0. */
  readonly vram: Uint8Array;

  constructor(opts: StdVgaOptions = {}) {
    super(PCI_CFG_SPACE_SIZE);
    const vramSize = opts.vramSize ?? 16 << 20;
    check(Number.isSafeInteger(vramSize) && vramSize >= 1 << 20 && vramSize <= 256 << 20 && (vramSize & (vramSize - 1)) === 0, 'EINVAL', `std-vga VRAM size ${vramSize}`);
    this.vramSize = vramSize;
    this.setIds({ vendor: STD_VGA_VENDOR, device: STD_VGA_DEVICE, subVendor: 0x1af4, subDevice: 0x1100, revision: 2, classCode: PCI_CLASS_DISPLAY_VGA });
    this.bars = new PciBars(
      this.config,
      [
        { index: STD_VGA_VRAM_BAR, kind: 'mem32', size: vramSize, prefetchable: true },
        { index: STD_VGA_MMIO_BAR, kind: 'mem32', size: STD_VGA_MMIO_SIZE },
      ],
      { size: STD_VGA_ROM_BAR_SIZE },
    );
    this.rom = stdVgaRomImage(STD_VGA_VENDOR, STD_VGA_DEVICE, PCI_CLASS_DISPLAY_VGA);
    this.dispi = new BochsDispi(vramSize);
    this.vramFd = memfdCreate('std-vga-vram', vramSize);
    try {
      this.vramBuf = mmap(this.vramFd, 0, vramSize, true);
    } catch (err) {
      close(this.vramFd);
      throw err;
    }
    this.vram = new Uint8Array(this.vramBuf);
    this.powerOn();
  }

  /** Unmaps VRAM and closes its memfd (the machine calls it when the card goes). Idempotent. */
  close(): void {
    if (this.vramBuf !== null) munmap(this.vramBuf);
    this.vramBuf = null;
    if (this.vramFd >= 0) close(this.vramFd);
    this.vramFd = -1;
  }

  /** BAR0 is VRAM, which a host process may map; BAR2 is registers. */
  barBacking(bar: number): PciBarBacking | null {
    return bar === STD_VGA_VRAM_BAR && this.vramFd >= 0 ? { fd: this.vramFd, offset: 0 } : null;
  }

  /** The card raises no interrupts (QEMU's VGA has no INTx pin). */
  updateIrq(): void {
    this.irq.setLine(false);
  }

  save(): StdVgaStateRecord {
    return { kind: 'std-vga', version: 1, dispi: this.dispi.save(), vga: this.vga.save() };
  }

  /** EINVAL (state unchanged) for a malformed record. */
  load(record: unknown): void {
    if (typeof record !== 'object' || record === null) throw new VfioError('EINVAL', 'std-vga record is not an object');
    const r = new Map<string, unknown>(Object.entries(record));
    if (r.get('kind') !== 'std-vga' || r.get('version') !== 1) throw new VfioError('EINVAL', 'not a std-vga v1 record');
    const vga = VgaRegisters.parse(r.get('vga'));
    this.dispi.restore(r.get('dispi'));
    this.vga.load(vga);
  }

  /** Registers back to power-on; VRAM keeps its contents, as on the real card. */
  protected resetState(_kind: PciHwResetKind): void {
    this.dispi.reset();
    this.vga.reset();
    this.updateIrq();
  }

  protected mmioRead(bar: number, offset: number, out: Uint8Array): void {
    if (bar === STD_VGA_VRAM_BAR) out.set(this.vram.subarray(offset, offset + out.length));
    else if (bar === PCI_ROM_BAR) out.set(this.rom.subarray(offset, offset + out.length));
    else if (bar === STD_VGA_MMIO_BAR) this.mmioWindowRead(offset, out);
  }

  protected mmioWrite(bar: number, offset: number, data: Uint8Array): void {
    if (bar === STD_VGA_VRAM_BAR) this.vram.set(data, offset);
    else if (bar === STD_VGA_MMIO_BAR) this.mmioWindowWrite(offset, data);
    // The ROM ignores writes.
  }

  vgaLegacyRead(space: VgaSpace, addr: number, out: Uint8Array): void {
    if (space === 'mem') {
      const at = this.legacyVramOffset(addr);
      out.set(this.vram.subarray(at, at + out.length));
    } else {
      for (let i = 0; i < out.length; i++) out[i] = this.vga.ioRead(addr + i);
    }
  }

  vgaLegacyWrite(space: VgaSpace, addr: number, data: Uint8Array): void {
    if (space === 'mem') this.vram.set(data, this.legacyVramOffset(addr));
    else for (let i = 0; i < data.length; i++) this.vga.ioWrite(addr + i, data[i] ?? 0);
  }

  /** The legacy window onto VRAM: 0xa0000 + n is VRAM[bank * 64 KiB + n] (the VBE banked window). */
  private legacyVramOffset(addr: number): number {
    const bank = this.dispi.readReg(VBE_DISPI_INDEX_BANK);
    return (bank * BANK_SIZE + (addr - VGA_LEGACY_MEM_START)) % this.vramSize;
  }

  private mmioWindowRead(offset: number, out: Uint8Array): void {
    const size = out.length;
    if (offset >= PCI_VGA_IOPORT_OFFSET && offset + size <= PCI_VGA_IOPORT_OFFSET + PCI_VGA_IOPORT_SIZE) {
      this.vgaLegacyRead('io', 0x3c0 + offset - PCI_VGA_IOPORT_OFFSET, out);
      return;
    }
    if ((size === 1 || size === 2 || size === 4) && this.dispi.handles(offset) && this.dispi.handles(offset + size - 1)) {
      const v = this.dispi.mmioRead(offset, size);
      for (let i = 0; i < size; i++) out[i] = Math.floor(v / 2 ** (8 * i)) & 0xff;
      return;
    }
    out.fill(0); // the EDID block is empty; the rest reads as zero, as QEMU's unassigned MMIO
  }

  private mmioWindowWrite(offset: number, data: Uint8Array): void {
    const size = data.length;
    if (offset >= PCI_VGA_IOPORT_OFFSET && offset + size <= PCI_VGA_IOPORT_OFFSET + PCI_VGA_IOPORT_SIZE) {
      this.vgaLegacyWrite('io', 0x3c0 + offset - PCI_VGA_IOPORT_OFFSET, data);
      return;
    }
    if ((size === 1 || size === 2 || size === 4) && this.dispi.handles(offset) && this.dispi.handles(offset + size - 1)) {
      let v = 0;
      for (let i = size - 1; i >= 0; i--) v = v * 256 + (data[i] ?? 0);
      this.dispi.mmioWrite(offset, size, v);
    }
  }
}
