// QEMU's standard VGA driven as a host driver would: ids and BAR sizing, VRAM through BAR0 and through a mapping
// of its memfd, the dispi and VGA port windows of BAR2, the option ROM read through pci_map_rom, the legacy VGA
// ranges, reset and the saved record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Host } from '../../base/host.js';
import { mmap, munmap } from '../../native/index.js';
import { VfioError } from '../../uapi/errno.js';
import { PCI_BASE_ADDRESS_0, PCI_CLASS_DISPLAY_VGA, PCI_COMMAND, PCI_COMMAND_IO, PCI_COMMAND_MEMORY, PCI_ROM_ADDRESS } from '../../uapi/pci-regs.js';
import { PCI_VGA_BOCHS_OFFSET, VBE_DISPI_ID5, VBE_DISPI_INDEX_BANK, VBE_DISPI_INDEX_XRES } from '../bochs-dispi.js';
import { pciBarBacking } from './bar-memory.js';
import { pciBarRead, pciBarWrite, pciReadConfig, pciWriteConfig } from './pci-dev.js';
import { PCI_ROM_BAR } from './pci-function.js';
import { pciMapRom, pciUnmapRom } from './rom.js';
import { pciGetDevice, pciRemoveRootBus, pciScanRootBus } from './scan.js';
import { STD_VGA_MMIO_BAR, STD_VGA_ROM_BAR_SIZE, STD_VGA_ROM_IMAGE_SIZE, StdVga } from './std-vga.js';
import { pciVgaRw } from './vga.js';

const isErr = (code: Parameters<typeof VfioError.is>[1]) => (e: unknown) => VfioError.is(e, code);

function setup(t: { after(fn: () => unknown): void }) {
  const host = new Host();
  const vga = new StdVga({ vramSize: 1 << 20 });
  const root = pciScanRootBus(host, { devices: [{ device: 2, hw: vga }] });
  t.after(async () => {
    await pciRemoveRootBus(root);
    vga.close();
  });
  const pdev = pciGetDevice(host, '0000:00:02.0');
  assert.ok(pdev);
  return { host, vga, pdev };
}

test('1234:1111 class 0300 with a prefetchable VRAM BAR, a 4 KiB MMIO BAR and a 64 KiB ROM BAR', (t) => {
  const { pdev, vga } = setup(t);
  assert.equal(pciReadConfig(pdev, 0, 4), 0x11111234);
  assert.equal(pdev.classCode >> 8, PCI_CLASS_DISPLAY_VGA);
  assert.equal(pdev.resource[0]?.size, 1n << 20n);
  assert.equal(pdev.resource[STD_VGA_MMIO_BAR]?.size, 0x1000n);
  assert.equal(pdev.resource[PCI_ROM_BAR]?.size, BigInt(STD_VGA_ROM_BAR_SIZE));
  vga.config.write(PCI_BASE_ADDRESS_0, 4, 0xffffffff);
  assert.equal(vga.config.read(PCI_BASE_ADDRESS_0, 4), 0xfff00008, '1 MiB, 32-bit, prefetchable');
  assert.equal(pciReadConfig(pdev, 0x3d, 1), 0, 'no INTx pin');
});

test('VRAM written through BAR0 is in the memfd a process maps, and the other way round', (t) => {
  const { pdev, vga } = setup(t);
  pciWriteConfig(pdev, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
  pciBarWrite(pdev, 0, 0x1230, Uint8Array.of(1, 2, 3, 4));
  const backing = pciBarBacking(vga, 0);
  assert.ok(backing);
  assert.equal(pciBarBacking(vga, STD_VGA_MMIO_BAR), null, 'registers are not memory');
  const ab = mmap(backing.fd, 0, 1 << 20, true);
  t.after(() => munmap(ab));
  const view = new Uint8Array(ab);
  assert.deepEqual([...view.subarray(0x1230, 0x1234)], [1, 2, 3, 4]);
  view.set([9, 8, 7], 0x8000);
  const out = new Uint8Array(3);
  pciBarRead(pdev, 0, 0x8000, out);
  assert.deepEqual([...out], [9, 8, 7]);
});

test('BAR2 holds the dispi registers at 0x500 and the VGA ports at 0x400', (t) => {
  const { pdev, vga } = setup(t);
  const id = new Uint8Array(2);
  pciBarRead(pdev, STD_VGA_MMIO_BAR, PCI_VGA_BOCHS_OFFSET, id);
  assert.deepEqual([...id], [0xff, 0xff], 'no decode before COMMAND.MEMORY');
  pciWriteConfig(pdev, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
  pciBarRead(pdev, STD_VGA_MMIO_BAR, PCI_VGA_BOCHS_OFFSET, id);
  assert.equal(id[0]! | (id[1]! << 8), VBE_DISPI_ID5);
  pciBarWrite(pdev, STD_VGA_MMIO_BAR, PCI_VGA_BOCHS_OFFSET + 2 * VBE_DISPI_INDEX_XRES, Uint8Array.of(0x20, 0x03));
  assert.equal(vga.dispi.readReg(VBE_DISPI_INDEX_XRES), 800);
  // The DAC through the MMIO window (0x400 + 0x08 = port 0x3c8), read back through the legacy ports (0x3c7/0x3c9).
  pciBarWrite(pdev, STD_VGA_MMIO_BAR, 0x408, Uint8Array.of(5));
  pciBarWrite(pdev, STD_VGA_MMIO_BAR, 0x409, Uint8Array.of(0x3f));
  pciBarWrite(pdev, STD_VGA_MMIO_BAR, 0x409, Uint8Array.of(0x10));
  pciBarWrite(pdev, STD_VGA_MMIO_BAR, 0x409, Uint8Array.of(0x01));
  pciWriteConfig(pdev, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
  pciVgaRw(pdev, 'io', 0x3c7, Uint8Array.of(5), true);
  const rgb = new Uint8Array(3);
  for (let i = 0; i < 3; i++) pciVgaRw(pdev, 'io', 0x3c9, rgb.subarray(i, i + 1), false);
  assert.deepEqual([...rgb], [0x3f, 0x10, 0x01]);
});

test('the option ROM: decoded only while its BAR is enabled; pci_map_rom finds one 32 KiB image with a PCIR for 1234:1111', (t) => {
  const { pdev } = setup(t);
  pciWriteConfig(pdev, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
  const sig = new Uint8Array(2);
  pciBarRead(pdev, PCI_ROM_BAR, 0, sig);
  assert.deepEqual([...sig], [0xff, 0xff], 'ROM BAR disabled: master abort');
  const rom = pciMapRom(pdev);
  assert.ok(rom);
  assert.equal(rom.size, STD_VGA_ROM_IMAGE_SIZE);
  assert.equal(pciReadConfig(pdev, PCI_ROM_ADDRESS, 4) & 1, 1, 'enabled while mapped');
  const img = new Uint8Array(STD_VGA_ROM_IMAGE_SIZE);
  rom.read(0, img);
  assert.deepEqual([...img.subarray(0, 2)], [0x55, 0xaa]);
  const pcir = img[0x18]! | (img[0x19]! << 8);
  assert.equal(String.fromCharCode(...img.subarray(pcir, pcir + 4)), 'PCIR');
  const dv = new DataView(img.buffer);
  assert.equal(dv.getUint16(pcir + 4, true), 0x1234);
  assert.equal(dv.getUint16(pcir + 6, true), 0x1111);
  assert.equal(img[pcir + 15], 0x03, 'base class display');
  assert.equal(img.reduce((s, b) => (s + b) & 0xff, 0), 0, 'the image checksums to 0');
  const past = new Uint8Array(4);
  rom.read(STD_VGA_ROM_IMAGE_SIZE, past);
  assert.deepEqual([...past], [0xff, 0xff, 0xff, 0xff], 'the BAR past the image is erased');
  pciUnmapRom(pdev, rom);
  assert.equal(pciReadConfig(pdev, PCI_ROM_ADDRESS, 4) & 1, 0, 'disabled again');
});

test('legacy VGA: 0xa0000 is VRAM through the VBE bank; ports 0x3b0/0x3c0 as MISC selects; nothing without COMMAND', (t) => {
  const { pdev, vga } = setup(t);
  const b = new Uint8Array(1);
  pciVgaRw(pdev, 'mem', 0xa0010, Uint8Array.of(0x77), true);
  assert.equal(vga.vram[0x10], 0, 'memory decoding off: the write went nowhere');
  pciWriteConfig(pdev, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
  pciVgaRw(pdev, 'mem', 0xa0010, Uint8Array.of(0x77), true);
  assert.equal(vga.vram[0x10], 0x77);
  vga.dispi.writeReg(VBE_DISPI_INDEX_BANK, 2);
  pciVgaRw(pdev, 'mem', 0xa0010, Uint8Array.of(0x55), true);
  assert.equal(vga.vram[0x20010], 0x55, 'bank 2 is VRAM at 128 KiB');
  pciVgaRw(pdev, 'io', 0x3d4, Uint8Array.of(0x0c), true);
  pciVgaRw(pdev, 'io', 0x3d5, b, false);
  assert.equal(b[0], 0xff, 'colour CRTC ports ignored while MISC selects mono');
  pciVgaRw(pdev, 'io', 0x3c2, Uint8Array.of(0x01), true);
  pciVgaRw(pdev, 'io', 0x3d4, Uint8Array.of(0x0c), true);
  pciVgaRw(pdev, 'io', 0x3d5, Uint8Array.of(0x42), true);
  pciVgaRw(pdev, 'io', 0x3d5, b, false);
  assert.equal(b[0], 0x42);
  pciVgaRw(pdev, 'io', 0x3cc, b, false);
  assert.equal(b[0], 0x01, 'MISC reads back at 0x3cc');
  pciVgaRw(pdev, 'io', 0x3e0, b, false);
  assert.equal(b[0], 0xff, 'outside the legacy ranges');
});

test('a reset clears the registers but keeps VRAM; the saved record round-trips and a bad one is EINVAL', (t) => {
  const { vga } = setup(t);
  vga.vram[100] = 0xab;
  vga.dispi.writeReg(VBE_DISPI_INDEX_XRES, 640);
  vga.vga.ioWrite(0x3c2, 0x01);
  const saved = vga.save();
  vga.hardwareReset('bus');
  assert.equal(vga.dispi.readReg(VBE_DISPI_INDEX_XRES), 0);
  assert.equal(vga.vga.ioRead(0x3cc), 0);
  assert.equal(vga.vram[100], 0xab);
  vga.load(JSON.parse(JSON.stringify(saved)));
  assert.equal(vga.dispi.readReg(VBE_DISPI_INDEX_XRES), 640);
  assert.equal(vga.vga.ioRead(0x3cc), 0x01);
  assert.throws(() => vga.load({ ...saved, vga: { ...saved.vga, sr: [1] } }), isErr('EINVAL'));
  assert.throws(() => vga.load({ kind: 'std-vga', version: 2 }), isErr('EINVAL'));
  assert.equal(vga.vga.ioRead(0x3cc), 0x01, 'a refused record changes nothing');
});
