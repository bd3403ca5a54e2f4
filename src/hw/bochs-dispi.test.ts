// Tests for the dispi register file: bochs-drm's mode set, scanout, clamping, MMIO windows, save/restore.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioError } from '../uapi/errno.js';
import {
  BochsDispi,
  PCI_VGA_BOCHS_OFFSET,
  PCI_VGA_QEXT_BIG_ENDIAN,
  PCI_VGA_QEXT_OFFSET,
  PCI_VGA_QEXT_REG_BYTEORDER,
  VBE_DISPI_ENABLED,
  VBE_DISPI_GETCAPS,
  VBE_DISPI_ID5,
  VBE_DISPI_INDEX_BANK,
  VBE_DISPI_INDEX_BPP,
  VBE_DISPI_INDEX_ENABLE,
  VBE_DISPI_INDEX_ID,
  VBE_DISPI_INDEX_VIDEO_MEMORY_64K,
  VBE_DISPI_INDEX_VIRT_HEIGHT,
  VBE_DISPI_INDEX_VIRT_WIDTH,
  VBE_DISPI_INDEX_XRES,
  VBE_DISPI_INDEX_X_OFFSET,
  VBE_DISPI_INDEX_YRES,
  VBE_DISPI_INDEX_Y_OFFSET,
  VBE_DISPI_LFB_ENABLED,
  VBE_DISPI_MAX_XRES,
} from './bochs-dispi.js';

const MiB = 1024 * 1024;
const reg = (index: number): number => PCI_VGA_BOCHS_OFFSET + 2 * index;

/** bochs-drm's bochs_hw_setmode(), through 16-bit MMIO writes. */
function setMode(d: BochsDispi, xres: number, yres: number, bpp: number, yresVirtual = yres): void {
  const w = (i: number, v: number): void => d.mmioWrite(reg(i), 2, v);
  w(VBE_DISPI_INDEX_ENABLE, 0);
  w(VBE_DISPI_INDEX_BPP, bpp);
  w(VBE_DISPI_INDEX_XRES, xres);
  w(VBE_DISPI_INDEX_YRES, yres);
  w(VBE_DISPI_INDEX_BANK, 0);
  w(VBE_DISPI_INDEX_VIRT_WIDTH, xres);
  w(VBE_DISPI_INDEX_VIRT_HEIGHT, yresVirtual);
  w(VBE_DISPI_INDEX_X_OFFSET, 0);
  w(VBE_DISPI_INDEX_Y_OFFSET, 0);
  w(VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED);
}

test('probe registers: ID5 and video memory in 64 KiB units; nothing shown before a mode', () => {
  const d = new BochsDispi(16 * MiB);
  assert.equal(d.mmioRead(reg(VBE_DISPI_INDEX_ID), 2), VBE_DISPI_ID5);
  assert.equal(d.mmioRead(reg(VBE_DISPI_INDEX_VIDEO_MEMORY_64K), 2), 256);
  d.mmioWrite(reg(VBE_DISPI_INDEX_VIDEO_MEMORY_64K), 2, 1);
  assert.equal(d.readReg(VBE_DISPI_INDEX_VIDEO_MEMORY_64K), 256, 'read-only');
  d.writeReg(VBE_DISPI_INDEX_ID, 0x1234);
  assert.equal(d.readReg(VBE_DISPI_INDEX_ID), VBE_DISPI_ID5, 'only B0C0..B0C5 are accepted');
  assert.deepEqual(d.scanout(), { enabled: false, reason: 'disabled' });
});

test('setting a mode reads back and gives the scanout; panning moves the offset', () => {
  const d = new BochsDispi(16 * MiB);
  setMode(d, 1024, 768, 32, 1536);
  assert.equal(d.mmioRead(reg(VBE_DISPI_INDEX_XRES), 2), 1024);
  assert.equal(d.mmioRead(reg(VBE_DISPI_INDEX_YRES), 2), 768);
  assert.equal(d.mmioRead(reg(VBE_DISPI_INDEX_BPP), 2), 32);
  assert.equal(d.readReg(VBE_DISPI_INDEX_VIRT_HEIGHT), (16 * MiB) / 4096, 'computed from VRAM');
  assert.deepEqual(d.scanout(), {
    enabled: true, width: 1024, height: 768, bpp: 32, bytesPerPixel: 4,
    stride: 4096, offset: 0, size: 4096 * 768, format: 'xrgb8888', bigEndian: false,
  });
  // bochs_hw_setbase() flips to the second buffer.
  d.writeReg(VBE_DISPI_INDEX_Y_OFFSET, 768);
  const s = d.scanout();
  assert.equal(s.enabled && s.offset, 768 * 4096);
  // A 4-byte access spans XRES and YRES.
  assert.equal(d.mmioRead(reg(VBE_DISPI_INDEX_XRES), 4), (768 << 16) | 1024);
  assert.equal(d.mmioRead(reg(VBE_DISPI_INDEX_XRES) + 1, 1), 1024 >> 8);
  d.mmioWrite(reg(VBE_DISPI_INDEX_X_OFFSET), 1, 8);
  assert.equal(d.readReg(VBE_DISPI_INDEX_X_OFFSET), 8, 'a byte write merges into the register');
});

test('invalid modes are adjusted as QEMU does, never thrown; unshowable ones yield no scanout', () => {
  const d = new BochsDispi(4 * MiB);
  setMode(d, 1921, 4000, 32);
  assert.equal(d.readReg(VBE_DISPI_INDEX_XRES), 1920, 'even width');
  assert.equal(d.readReg(VBE_DISPI_INDEX_YRES), Math.floor((4 * MiB) / (1920 * 4)), 'clamped to VRAM');
  const s = d.scanout();
  assert.ok(s.enabled && s.offset + s.size <= 4 * MiB);
  // Panning past the end of VRAM resets the offset.
  d.writeReg(VBE_DISPI_INDEX_Y_OFFSET, 500);
  assert.equal(d.readReg(VBE_DISPI_INDEX_Y_OFFSET), 0);
  d.writeReg(VBE_DISPI_INDEX_XRES, 60000);
  assert.equal(d.readReg(VBE_DISPI_INDEX_XRES), VBE_DISPI_MAX_XRES);
  // A bad depth becomes 8 bpp, which this display cannot scan out.
  d.writeReg(VBE_DISPI_INDEX_BPP, 7);
  assert.equal(d.readReg(VBE_DISPI_INDEX_BPP), 8);
  assert.deepEqual(d.scanout(), { enabled: false, reason: 'bpp 8 not supported' });
  setMode(d, 32, 32, 16);
  assert.deepEqual(d.scanout(), { enabled: false, reason: 'mode 32x32 too small' });
  setMode(d, 800, 600, 16);
  const t = d.scanout();
  assert.equal(t.enabled && t.format, 'r5g6b5');
  assert.equal(t.enabled && t.stride, 1600);
  d.writeReg(VBE_DISPI_INDEX_BANK, 0xffff);
  assert.equal(d.readReg(VBE_DISPI_INDEX_BANK), 63, 'bank masked to VRAM');
  d.writeReg(0x20, 5); // no such register: ignored
  assert.equal(d.readReg(0x20), 0);
});

test('GETCAPS reports the maxima; VIRT_WIDTH below XRES is raised to it', () => {
  const d = new BochsDispi(16 * MiB);
  d.writeReg(VBE_DISPI_INDEX_ENABLE, VBE_DISPI_GETCAPS);
  assert.equal(d.readReg(VBE_DISPI_INDEX_XRES), VBE_DISPI_MAX_XRES);
  assert.equal(d.readReg(VBE_DISPI_INDEX_BPP), 32);
  setMode(d, 640, 480, 32);
  d.writeReg(VBE_DISPI_INDEX_VIRT_WIDTH, 100);
  assert.equal(d.readReg(VBE_DISPI_INDEX_VIRT_WIDTH), 640);
});

test('QEMU extension registers: size and byte order', () => {
  const d = new BochsDispi(16 * MiB);
  assert.equal(d.mmioRead(PCI_VGA_QEXT_OFFSET, 4), 8);
  assert.equal(d.mmioRead(PCI_VGA_QEXT_OFFSET + PCI_VGA_QEXT_REG_BYTEORDER, 4), 0x1e1e1e1e);
  d.mmioWrite(PCI_VGA_QEXT_OFFSET + PCI_VGA_QEXT_REG_BYTEORDER, 4, 0x12345678);
  assert.equal(d.bigEndian, false, 'unknown values ignored');
  d.mmioWrite(PCI_VGA_QEXT_OFFSET + PCI_VGA_QEXT_REG_BYTEORDER, 4, PCI_VGA_QEXT_BIG_ENDIAN);
  assert.equal(d.bigEndian, true);
  assert.equal(d.mmioRead(PCI_VGA_QEXT_OFFSET + PCI_VGA_QEXT_REG_BYTEORDER, 2), 0, 'dword access only');
  assert.equal(d.handles(0x100), false);
  assert.throws(() => d.mmioRead(0x100, 4), (e: unknown) => VfioError.is(e, 'EINVAL'));
  assert.throws(() => new BochsDispi(1000), (e: unknown) => VfioError.is(e, 'EINVAL'));
});

test('save/restore round trip; malformed records are EINVAL', () => {
  const d = new BochsDispi(16 * MiB);
  setMode(d, 1280, 720, 32);
  const rec = d.save();
  const e = new BochsDispi(16 * MiB);
  e.restore(JSON.parse(JSON.stringify(rec)) as unknown);
  assert.deepEqual(e.scanout(), d.scanout());
  for (const bad of [null, { ...rec, version: 0 }, { ...rec, regs: [1, 2] }, { ...rec, regs: new Array<number>(10).fill(70000) }, { ...rec, bigEndianFb: 1 }]) {
    assert.throws(() => e.restore(bad), (err: unknown) => VfioError.is(err, 'EINVAL'));
  }
  assert.deepEqual(e.save(), rec, 'unchanged after failed restores');
});
