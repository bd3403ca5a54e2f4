// vfio-pci bound to QEMU's standard VGA (1234:1111, class 0300), through the uAPI on the group path: the ROM
// region (BAR size, read-only, bytes past the image 0xff, EIO with memory decoding off), the VGA region (size,
// legacy memory and ports, EINVAL outside them, absent with disable_vga), and BAR mmap (FLAG_MMAP on the VRAM BAR
// only, the device file's mmap giving the card's memfd, refusals as vfio_pci_core_mmap).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mmap, munmap } from '../../native/index.js';
import { STD_VGA_MMIO_BAR, STD_VGA_ROM_BAR_SIZE, STD_VGA_ROM_IMAGE_SIZE, StdVga } from '../../hw/pci/std-vga.js';
import { VBE_DISPI_INDEX_BANK } from '../../hw/bochs-dispi.js';
import { VFIO_DEVICE_GET_REGION_INFO } from '../../uapi/ioctl.js';
import { PCI_COMMAND, PCI_COMMAND_MEMORY } from '../../uapi/pci-regs.js';
import {
  VFIO_PCI_CONFIG_REGION_INDEX,
  VFIO_PCI_ROM_REGION_INDEX,
  VFIO_PCI_VGA_REGION_INDEX,
  VFIO_REGION_INFO_FLAG_CAPS,
  VFIO_REGION_INFO_FLAG_MMAP,
  VFIO_REGION_INFO_FLAG_READ,
  VFIO_REGION_INFO_FLAG_WRITE,
  decodeVfioRegionInfo,
  vfioPciIndexToOffset,
} from '../../uapi/region-info.js';
import { errno, u32s } from '../../vfio/uapi.test-kit.js';
import type { VfioPciOptions } from './vfio-pci.js';
import { openGroupPath, pciBed, regRead, regWrite } from './vfio-pci.test-kit.js';

const CFG = VFIO_PCI_CONFIG_REGION_INDEX;
const ROM = VFIO_PCI_ROM_REGION_INDEX;
const VGA = VFIO_PCI_VGA_REGION_INDEX;
const VRAM = 1 << 20;

function vgaBed(t: { after(fn: () => unknown): void }, opts: VfioPciOptions = {}) {
  const card = new StdVga({ vramSize: VRAM });
  const bed = pciBed({ devices: [{ device: 2, hw: card }] }, opts);
  t.after(async () => {
    await bed.done();
    card.close();
  });
  const vdev = bed.bind('0000:00:02.0');
  const { device } = openGroupPath(bed, vdev);
  const region = (index: number) => {
    const b = u32s(32, 0, index, 0, 0, 0, 0, 0);
    bed.proc.ioctl(device, VFIO_DEVICE_GET_REGION_INFO, b);
    return decodeVfioRegionInfo(b);
  };
  // The user turns memory decoding on, as a guest's BIOS would.
  regWrite(bed, device, CFG, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
  return { bed, card, device, region };
}

test('GET_REGION_INFO: the VRAM BAR mmappable, the MMIO BAR not, the ROM its BAR size read-only, VGA 0xc0000 bytes', (t) => {
  const { region } = vgaBed(t);
  const rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
  assert.equal(region(0).size, BigInt(VRAM));
  assert.equal(region(0).flags, rw | VFIO_REGION_INFO_FLAG_MMAP);
  assert.equal(region(STD_VGA_MMIO_BAR).flags, rw, 'registers: no mmap');
  assert.equal(region(STD_VGA_MMIO_BAR).flags & VFIO_REGION_INFO_FLAG_CAPS, 0);
  assert.equal(region(ROM).size, BigInt(STD_VGA_ROM_BAR_SIZE), 'the BAR size, not the 32 KiB image');
  assert.equal(region(ROM).flags, VFIO_REGION_INFO_FLAG_READ);
  assert.equal(region(VGA).size, 0xc0000n);
  assert.equal(region(VGA).flags, rw);
  assert.equal(region(VGA).offset, vfioPciIndexToOffset(VGA));
});

test('the ROM region reads the card\'s option ROM; past the image 0xff; writes EINVAL; EIO with memory decoding off', (t) => {
  const { bed, device } = vgaBed(t);
  assert.equal(regRead(bed, device, ROM, 0, 2), 0xaa55);
  const pcir = regRead(bed, device, ROM, 0x18, 2);
  assert.equal(regRead(bed, device, ROM, pcir, 4), 0x52494350, '"PCIR"');
  assert.equal(regRead(bed, device, ROM, pcir + 4, 4), 0x11111234, 'vendor and device of the function');
  assert.equal(regRead(bed, device, ROM, STD_VGA_ROM_IMAGE_SIZE, 4), 0xffffffff);
  const tail = new Uint8Array(8);
  const n = bed.proc.pread(device, tail, Number(vfioPciIndexToOffset(ROM)) + STD_VGA_ROM_BAR_SIZE - 4);
  assert.equal(n, 4, 'cut at the BAR\'s end');
  assert.throws(() => bed.proc.pread(device, tail, Number(vfioPciIndexToOffset(ROM)) + STD_VGA_ROM_BAR_SIZE), errno('EINVAL'));
  assert.throws(() => regWrite(bed, device, ROM, 0, 2, 0), errno('EINVAL'));
  regWrite(bed, device, CFG, PCI_COMMAND, 2, 0);
  assert.throws(() => regRead(bed, device, ROM, 0, 2), errno('EIO'));
});

test('the VGA region: 0xa0000 is the card\'s banked VRAM, 0x3c0-0x3df its ports; EINVAL elsewhere', (t) => {
  const { bed, card, device } = vgaBed(t);
  regWrite(bed, device, VGA, 0xa0100, 4, 0xdeadbeef);
  assert.equal(new DataView(card.vram.buffer).getUint32(0x100, true), 0xdeadbeef);
  card.dispi.writeReg(VBE_DISPI_INDEX_BANK, 3);
  card.vram[3 * 0x10000 + 4] = 0x5a;
  assert.equal(regRead(bed, device, VGA, 0xa0004, 1), 0x5a);
  regWrite(bed, device, VGA, 0x3c8, 1, 7);
  for (const v of [1, 2, 3]) regWrite(bed, device, VGA, 0x3c9, 1, v);
  assert.deepEqual([...card.vga.palette.subarray(21, 24)], [1, 2, 3]);
  regWrite(bed, device, VGA, 0x3c2, 1, 0x01);
  assert.equal(regRead(bed, device, VGA, 0x3cc, 1), 0x01, 'MISC written at 0x3c2 reads back at 0x3cc');
  const wide = new Uint8Array(8);
  assert.equal(bed.proc.pread(device, wide, Number(vfioPciIndexToOffset(VGA)) + 0x3bc - 4), 4, 'cut at the end of 0x3b0-0x3bb');
  assert.throws(() => regRead(bed, device, VGA, 0x3bc, 1), errno('EINVAL'));
  assert.throws(() => regRead(bed, device, VGA, 0x9ffff, 1), errno('EINVAL'));
  assert.throws(() => regRead(bed, device, VGA, 0xc0000, 1), errno('EINVAL'));
});

test('disable_vga: no VGA region for the VGA card', (t) => {
  const { bed, device, region } = vgaBed(t, { disableVga: true });
  assert.throws(() => region(VGA), errno('EINVAL'));
  assert.throws(() => regRead(bed, device, VGA, 0x3cc, 1), errno('EINVAL'));
});

test('mmap of the VRAM BAR is the card\'s memory: a write through it is seen by the card and by a BAR read', (t) => {
  const { bed, card, device } = vgaBed(t);
  const base = Number(vfioPciIndexToOffset(0));
  const m = bed.proc.mmap(device, base + 0x1000, VRAM - 0x1000, true);
  const ab = mmap(m.fd, m.offset, VRAM - 0x1000, true);
  t.after(() => munmap(ab));
  const fb = new Uint8Array(ab);
  fb.set([0x11, 0x22, 0x33, 0x44], 0x10);
  assert.deepEqual([...card.vram.subarray(0x1010, 0x1014)], [0x11, 0x22, 0x33, 0x44]);
  assert.equal(regRead(bed, device, 0, 0x1010, 4), 0x44332211);
  regWrite(bed, device, 0, 0x2000, 4, 0xcafef00d);
  assert.equal(new DataView(ab).getUint32(0x1000, true), 0xcafef00d, 'a BAR write shows in the mapping');
});

test('mmap refusals as vfio_pci_core_mmap: registers, ROM, CONFIG, VGA, past the BAR, unaligned, past the regions', (t) => {
  const { bed, device } = vgaBed(t);
  const at = (index: number, off = 0): number => Number(vfioPciIndexToOffset(index)) + off;
  assert.throws(() => bed.proc.mmap(device, at(STD_VGA_MMIO_BAR), 4096, true), errno('EINVAL'));
  assert.throws(() => bed.proc.mmap(device, at(1), 4096, true), errno('EINVAL'), 'an unimplemented BAR');
  for (const index of [ROM, CFG, VGA, 9]) assert.throws(() => bed.proc.mmap(device, at(index), 4096, false), errno('EINVAL'), `region ${index}`);
  assert.throws(() => bed.proc.mmap(device, at(0, VRAM - 4096), 8192, true), errno('EINVAL'));
  assert.throws(() => bed.proc.mmap(device, at(0, 100), 4096, true), errno('EINVAL'));
  assert.throws(() => bed.proc.mmap(device, at(0), 0, true), errno('EINVAL'));
  const whole = bed.proc.mmap(device, at(0), VRAM, true);
  assert.equal(whole.offset, 0);
});
