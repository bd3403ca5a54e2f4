// The bochs VBE dispi and QEMU extension registers of the MMIO BAR (QEMU bochs-vbe.h, vga.c, bochs-display.c).

import { VfioError, check } from '../uapi/errno.js';

export const VBE_DISPI_MAX_XRES = 16000;
export const VBE_DISPI_MAX_YRES = 12000;
export const VBE_DISPI_MAX_BPP = 32;

export const VBE_DISPI_INDEX_ID = 0x0;
export const VBE_DISPI_INDEX_XRES = 0x1;
export const VBE_DISPI_INDEX_YRES = 0x2;
export const VBE_DISPI_INDEX_BPP = 0x3;
export const VBE_DISPI_INDEX_ENABLE = 0x4;
export const VBE_DISPI_INDEX_BANK = 0x5;
export const VBE_DISPI_INDEX_VIRT_WIDTH = 0x6;
export const VBE_DISPI_INDEX_VIRT_HEIGHT = 0x7;
export const VBE_DISPI_INDEX_X_OFFSET = 0x8;
export const VBE_DISPI_INDEX_Y_OFFSET = 0x9;
/** Number of stored registers. */
export const VBE_DISPI_INDEX_NB = 0xa;
/** Read-only: VRAM size in 64 KiB units (not stored). */
export const VBE_DISPI_INDEX_VIDEO_MEMORY_64K = 0xa;

export const VBE_DISPI_ID0 = 0xb0c0;
export const VBE_DISPI_ID1 = 0xb0c1;
export const VBE_DISPI_ID2 = 0xb0c2;
export const VBE_DISPI_ID3 = 0xb0c3;
export const VBE_DISPI_ID4 = 0xb0c4;
export const VBE_DISPI_ID5 = 0xb0c5;

export const VBE_DISPI_DISABLED = 0x00;
export const VBE_DISPI_ENABLED = 0x01;
export const VBE_DISPI_GETCAPS = 0x02;
export const VBE_DISPI_8BIT_DAC = 0x20;
export const VBE_DISPI_LFB_ENABLED = 0x40;
export const VBE_DISPI_NOCLEARMEM = 0x80;

// The MMIO BAR layout (QEMU's "qemu extension: mmio bar").
export const PCI_VGA_MMIO_SIZE = 0x1000;
export const PCI_VGA_EDID_OFFSET = 0x000;
export const PCI_VGA_EDID_SIZE = 0x400;
export const PCI_VGA_IOPORT_OFFSET = 0x400;
export const PCI_VGA_IOPORT_SIZE = 0x3e0 - 0x3c0;
export const PCI_VGA_BOCHS_OFFSET = 0x500;
export const PCI_VGA_BOCHS_SIZE = 0x0b * 2;
export const PCI_VGA_QEXT_OFFSET = 0x600;
export const PCI_VGA_QEXT_SIZE = 2 * 4;
export const PCI_VGA_QEXT_REG_SIZE = 0 * 4;
export const PCI_VGA_QEXT_REG_BYTEORDER = 1 * 4;
export const PCI_VGA_QEXT_LITTLE_ENDIAN = 0x1e1e1e1e;
export const PCI_VGA_QEXT_BIG_ENDIAN = 0xbebebebe;

/** A displayable framebuffer in VRAM. */
export interface DispiMode {
  width: number;
  height: number;
  bpp: 16 | 32;
  bytesPerPixel: 2 | 4;
  /** Bytes per line (VIRT_WIDTH * bytes per pixel). */
  stride: number;
  /** Byte offset of the first visible pixel in VRAM. */
  offset: number;
  /** stride * height. */
  size: number;
  format: 'r5g6b5' | 'xrgb8888';
  bigEndian: boolean;
}

/** What the display engine would show now. */
export type DispiScanout = ({ enabled: true } & DispiMode) | { enabled: false; reason: string };

/** The saved register file. */
export interface DispiStateRecord {
  version: 1;
  /** VBE_DISPI_INDEX_ID .. VBE_DISPI_INDEX_Y_OFFSET. */
  regs: number[];
  bigEndianFb: boolean;
}

/**
 * The VBE register file of a bochs display with `vramSize` bytes of VRAM. Guest writes are
 * never errors: out-of-range values are adjusted to the closest valid one as QEMU's VGA does,
 * and a mode that still cannot be shown simply yields no scanout.
 */
export class BochsDispi {
  readonly vramSize: number;
  private readonly regs = new Uint16Array(VBE_DISPI_INDEX_NB);
  private bigEndianFb = false;

  constructor(vramSize: number) {
    check(
      Number.isSafeInteger(vramSize) && vramSize >= 64 * 1024 && vramSize % (64 * 1024) === 0 && vramSize / (64 * 1024) <= 0xffff,
      'EINVAL',
      `VRAM size ${vramSize} must be a multiple of 64 KiB below 4 GiB`,
    );
    this.vramSize = vramSize;
    this.reset();
  }

  /** Power-on: all registers 0 but the ID (what mbochs_reset does). */
  reset(): void {
    this.regs.fill(0);
    this.regs[VBE_DISPI_INDEX_ID] = VBE_DISPI_ID5;
    this.bigEndianFb = false;
  }

  // ---- the register file ---------------------------------------------------------------

  /** Reads VBE register `index` (GETCAPS turns XRES/YRES/BPP into the maxima). */
  readReg(index: number): number {
    if (index === VBE_DISPI_INDEX_VIDEO_MEMORY_64K) return this.vramSize / (64 * 1024);
    if (!Number.isInteger(index) || index < 0 || index >= VBE_DISPI_INDEX_NB) return 0;
    if ((this.reg(VBE_DISPI_INDEX_ENABLE) & VBE_DISPI_GETCAPS) !== 0) {
      if (index === VBE_DISPI_INDEX_XRES) return VBE_DISPI_MAX_XRES;
      if (index === VBE_DISPI_INDEX_YRES) return VBE_DISPI_MAX_YRES;
      if (index === VBE_DISPI_INDEX_BPP) return VBE_DISPI_MAX_BPP;
    }
    return this.reg(index);
  }

  /** Writes VBE register `index`; unknown indexes and read-only registers ignore the write. */
  writeReg(index: number, value: number): void {
    const val = value & 0xffff;
    switch (index) {
      case VBE_DISPI_INDEX_ID:
        if (val >= VBE_DISPI_ID0 && val <= VBE_DISPI_ID5) this.regs[index] = val;
        break;
      case VBE_DISPI_INDEX_XRES:
      case VBE_DISPI_INDEX_YRES:
      case VBE_DISPI_INDEX_BPP:
      case VBE_DISPI_INDEX_VIRT_WIDTH:
      case VBE_DISPI_INDEX_X_OFFSET:
      case VBE_DISPI_INDEX_Y_OFFSET:
        this.regs[index] = val;
        this.fixup();
        break;
      case VBE_DISPI_INDEX_BANK:
        this.regs[index] = val & (this.vramSize / (64 * 1024) - 1);
        break;
      case VBE_DISPI_INDEX_ENABLE:
        if ((val & VBE_DISPI_ENABLED) !== 0 && (this.reg(index) & VBE_DISPI_ENABLED) === 0) {
          // Enabling starts from an unpanned screen, then checks the mode.
          this.regs[VBE_DISPI_INDEX_VIRT_WIDTH] = 0;
          this.regs[VBE_DISPI_INDEX_X_OFFSET] = 0;
          this.regs[VBE_DISPI_INDEX_Y_OFFSET] = 0;
          this.regs[index] = this.reg(index) | VBE_DISPI_ENABLED;
          this.fixup();
        }
        this.regs[index] = val;
        break;
      default:
        // VIRT_HEIGHT is computed, VIDEO_MEMORY_64K is read-only, the rest do not exist.
        break;
    }
  }

  // ---- the MMIO BAR windows ------------------------------------------------------------

  /** Whether `offset` in the MMIO BAR belongs to the dispi or QEMU extension registers. */
  handles(offset: number): boolean {
    return (
      (offset >= PCI_VGA_BOCHS_OFFSET && offset < PCI_VGA_BOCHS_OFFSET + PCI_VGA_BOCHS_SIZE) ||
      (offset >= PCI_VGA_QEXT_OFFSET && offset < PCI_VGA_QEXT_OFFSET + PCI_VGA_QEXT_SIZE)
    );
  }

  /**
   * A guest read of 1, 2 or 4 bytes at `offset` in the MMIO BAR (little-endian). Dispi
   * registers are 16-bit and a wider access spans neighbours; extension registers take dword
   * accesses only. Offsets elsewhere belong to the caller (the EDID block, VGA ports).
   */
  mmioRead(offset: number, size: 1 | 2 | 4): number {
    check(this.handles(offset) && this.handles(offset + size - 1), 'EINVAL', `dispi MMIO read at 0x${offset.toString(16)}`);
    if (offset >= PCI_VGA_QEXT_OFFSET) {
      if (size !== 4) return 0;
      switch (offset - PCI_VGA_QEXT_OFFSET) {
        case PCI_VGA_QEXT_REG_SIZE:
          return PCI_VGA_QEXT_SIZE;
        case PCI_VGA_QEXT_REG_BYTEORDER:
          return this.bigEndianFb ? PCI_VGA_QEXT_BIG_ENDIAN : PCI_VGA_QEXT_LITTLE_ENDIAN;
        default:
          return 0;
      }
    }
    let value = 0;
    for (let i = 0; i < size; i++) {
      const at = offset - PCI_VGA_BOCHS_OFFSET + i;
      value += ((this.readReg(at >> 1) >> (8 * (at & 1))) & 0xff) * 2 ** (8 * i);
    }
    return value;
  }

  /** A guest write at `offset` in the MMIO BAR; a byte write merges into its 16-bit register. */
  mmioWrite(offset: number, size: 1 | 2 | 4, value: number): void {
    check(this.handles(offset) && this.handles(offset + size - 1), 'EINVAL', `dispi MMIO write at 0x${offset.toString(16)}`);
    if (offset >= PCI_VGA_QEXT_OFFSET) {
      if (size !== 4 || offset - PCI_VGA_QEXT_OFFSET !== PCI_VGA_QEXT_REG_BYTEORDER) return;
      if (value === PCI_VGA_QEXT_BIG_ENDIAN) this.bigEndianFb = true;
      if (value === PCI_VGA_QEXT_LITTLE_ENDIAN) this.bigEndianFb = false;
      return;
    }
    let i = 0;
    while (i < size) {
      const at = offset - PCI_VGA_BOCHS_OFFSET + i;
      const index = at >> 1;
      const byte = (v: number): number => Math.floor(value / 2 ** (8 * v)) & 0xff;
      if ((at & 1) === 0 && i + 1 < size) {
        this.writeReg(index, byte(i) | (byte(i + 1) << 8));
        i += 2;
      } else {
        const cur = this.reg(index);
        const shift = 8 * (at & 1);
        this.writeReg(index, (cur & ~(0xff << shift)) | (byte(i) << shift));
        i += 1;
      }
    }
  }

  /** Whether the framebuffer is big-endian (QEMU extension BYTEORDER register). */
  get bigEndian(): boolean {
    return this.bigEndianFb;
  }

  // ---- scanout -------------------------------------------------------------------------

  /** The current framebuffer, validated as bochs-display and mbochs do before showing it. */
  scanout(): DispiScanout {
    const r = (i: number): number => this.reg(i);
    if ((r(VBE_DISPI_INDEX_ENABLE) & VBE_DISPI_ENABLED) === 0) return { enabled: false, reason: 'disabled' };
    const bpp = r(VBE_DISPI_INDEX_BPP);
    if (bpp !== 16 && bpp !== 32) return { enabled: false, reason: `bpp ${bpp} not supported` };
    const bytesPerPixel = bpp === 16 ? 2 : 4;
    const width = r(VBE_DISPI_INDEX_XRES);
    const height = r(VBE_DISPI_INDEX_YRES);
    const stride = Math.max(r(VBE_DISPI_INDEX_VIRT_WIDTH), width) * bytesPerPixel;
    const size = stride * height;
    const offset = r(VBE_DISPI_INDEX_X_OFFSET) * bytesPerPixel + r(VBE_DISPI_INDEX_Y_OFFSET) * stride;
    if (width < 64 || height < 64) return { enabled: false, reason: `mode ${width}x${height} too small` };
    if (offset + size > this.vramSize) return { enabled: false, reason: 'framebuffer exceeds VRAM' };
    return {
      enabled: true,
      width,
      height,
      bpp,
      bytesPerPixel,
      stride,
      offset,
      size,
      format: bpp === 16 ? 'r5g6b5' : 'xrgb8888',
      bigEndian: this.bigEndianFb,
    };
  }

  // ---- save / restore ------------------------------------------------------------------

  save(): DispiStateRecord {
    return { version: 1, regs: [...this.regs], bigEndianFb: this.bigEndianFb };
  }

  /** Replaces the registers with a saved record; EINVAL (state unchanged) when malformed. */
  restore(record: unknown): void {
    if (typeof record !== 'object' || record === null) throw new VfioError('EINVAL', 'dispi record is not an object');
    const m = new Map<string, unknown>(Object.entries(record));
    check(m.get('version') === 1, 'EINVAL', `dispi record version ${String(m.get('version'))}`);
    const regs = m.get('regs');
    check(Array.isArray(regs) && regs.length === VBE_DISPI_INDEX_NB, 'EINVAL', 'dispi record regs');
    const values: number[] = [];
    for (const v of regs) {
      check(typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff, 'EINVAL', 'dispi record register');
      values.push(v);
    }
    const be = m.get('bigEndianFb');
    check(typeof be === 'boolean', 'EINVAL', 'dispi record bigEndianFb');
    this.regs.set(values);
    this.bigEndianFb = be;
  }

  // ---- internals -----------------------------------------------------------------------

  private reg(i: number): number {
    return this.regs[i] ?? 0;
  }

  /**
   * Adjusts the registers to the closest valid mode while enabled (vga.c's vbe_fixup_regs,
   * with the newer even-width rounding so 1366-wide modes survive).
   */
  private fixup(): void {
    const r = this.regs;
    if ((this.reg(VBE_DISPI_INDEX_ENABLE) & VBE_DISPI_ENABLED) === 0) return;
    let bits: number;
    switch (this.reg(VBE_DISPI_INDEX_BPP)) {
      case 4:
      case 8:
      case 16:
      case 24:
      case 32:
        bits = this.reg(VBE_DISPI_INDEX_BPP);
        break;
      case 15:
        bits = 16;
        break;
      default:
        bits = 8;
        r[VBE_DISPI_INDEX_BPP] = 8;
    }
    let xres = this.reg(VBE_DISPI_INDEX_XRES) & ~1;
    if (xres === 0) xres = 8;
    xres = Math.min(xres, VBE_DISPI_MAX_XRES);
    r[VBE_DISPI_INDEX_XRES] = xres;
    let virtWidth = Math.min(this.reg(VBE_DISPI_INDEX_VIRT_WIDTH) & ~1, VBE_DISPI_MAX_XRES);
    if (virtWidth < xres) virtWidth = xres;
    r[VBE_DISPI_INDEX_VIRT_WIDTH] = virtWidth;

    const lineLength = (virtWidth * bits) / 8;
    const maxY = Math.floor(this.vramSize / lineLength);
    let yres = this.reg(VBE_DISPI_INDEX_YRES);
    if (yres === 0) yres = 1;
    yres = Math.min(yres, VBE_DISPI_MAX_YRES, maxY);
    r[VBE_DISPI_INDEX_YRES] = yres;

    r[VBE_DISPI_INDEX_X_OFFSET] = Math.min(this.reg(VBE_DISPI_INDEX_X_OFFSET), VBE_DISPI_MAX_XRES);
    r[VBE_DISPI_INDEX_Y_OFFSET] = Math.min(this.reg(VBE_DISPI_INDEX_Y_OFFSET), VBE_DISPI_MAX_YRES);
    let offset = (this.reg(VBE_DISPI_INDEX_X_OFFSET) * bits) / 8 + this.reg(VBE_DISPI_INDEX_Y_OFFSET) * lineLength;
    if (offset + yres * lineLength > this.vramSize) {
      r[VBE_DISPI_INDEX_Y_OFFSET] = 0;
      offset = (this.reg(VBE_DISPI_INDEX_X_OFFSET) * bits) / 8;
      if (offset + yres * lineLength > this.vramSize) r[VBE_DISPI_INDEX_X_OFFSET] = 0;
    }
    r[VBE_DISPI_INDEX_VIRT_HEIGHT] = Math.min(maxY, 0xffff);
  }
}
