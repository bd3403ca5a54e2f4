// Tests for BAR sizing and decoding: I/O, 32-bit memory, 64-bit prefetchable pairs, ROM.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PciConfigSpace } from './config-space.js';
import { PciBars } from './bar.js';
import { VfioError } from '../uapi/errno.js';
import {
  PCI_BASE_ADDRESS_0,
  PCI_BASE_ADDRESS_1,
  PCI_BASE_ADDRESS_2,
  PCI_BASE_ADDRESS_3,
  PCI_BASE_ADDRESS_4,
  PCI_BASE_ADDRESS_5,
  PCI_COMMAND,
  PCI_COMMAND_IO,
  PCI_ROM_ADDRESS,
} from '../uapi/pci-regs.js';

function size(c: PciConfigSpace, off: number): number {
  const saved = c.read(off, 4);
  c.write(off, 4, 0xffffffff);
  const probe = c.read(off, 4);
  c.write(off, 4, saved);
  return probe;
}

test('an 8-byte I/O BAR (mtty) sizes to 0xfffffff9 and keeps its address', () => {
  const c = new PciConfigSpace();
  const bars = new PciBars(c, [{ index: 0, kind: 'io', size: 8 }]);
  assert.equal(c.read(PCI_BASE_ADDRESS_0, 4), 0x1);
  assert.equal(size(c, PCI_BASE_ADDRESS_0), 0xfffffff9);
  c.write(PCI_BASE_ADDRESS_0, 4, 0xc05f);
  assert.equal(c.read(PCI_BASE_ADDRESS_0, 4), 0xc059, 'low address bits below the size are hardwired');
  assert.equal(bars.bar(0)?.address, 0xc058n);
  assert.equal(bars.bar(0)?.enabled, false);
  c.write(PCI_COMMAND, 2, PCI_COMMAND_IO);
  assert.equal(bars.bar(0)?.enabled, true);
  // Unimplemented BARs read 0 and ignore writes, even a sizing probe.
  for (const off of [PCI_BASE_ADDRESS_1, PCI_BASE_ADDRESS_2, PCI_BASE_ADDRESS_5]) assert.equal(size(c, off), 0);
});

test('a 32-bit memory BAR sizes with its type bits; byte writes merge', () => {
  const c = new PciConfigSpace();
  const bars = new PciBars(c, [{ index: 2, kind: 'mem32', size: 0x1000 }]);
  assert.equal(size(c, PCI_BASE_ADDRESS_2), 0xfffff000);
  c.write(PCI_BASE_ADDRESS_2 + 2, 2, 0xfebf);
  c.write(PCI_BASE_ADDRESS_2 + 1, 1, 0x10);
  assert.equal(c.read(PCI_BASE_ADDRESS_2, 4), 0xfebf1000);
  assert.equal(bars.decoded()[0]?.address, 0xfebf1000n);
});

test('a 64-bit prefetchable BAR uses two dwords; the upper one sizes too', () => {
  const c = new PciConfigSpace();
  const bars = new PciBars(c, [{ index: 4, kind: 'mem64', size: 2 ** 33, prefetchable: true }]);
  assert.equal(c.read(PCI_BASE_ADDRESS_4, 4), 0xc);
  assert.equal(size(c, PCI_BASE_ADDRESS_4), 0x0000000c);
  assert.equal(size(c, PCI_BASE_ADDRESS_5), 0xfffffffe);
  c.write(PCI_BASE_ADDRESS_5, 4, 0x00000038);
  c.write(PCI_BASE_ADDRESS_4, 4, 0x00000000);
  assert.equal(bars.bar(4)?.address, 0x38_0000_0000n);
  assert.equal(bars.bar(5), undefined);

  const small = new PciConfigSpace();
  new PciBars(small, [{ index: 0, kind: 'mem64', size: 0x4000 }]);
  assert.equal(size(small, PCI_BASE_ADDRESS_0), 0xffffc004);
  assert.equal(size(small, PCI_BASE_ADDRESS_1), 0xffffffff);
});

test('ROM BAR sizes to its mask and has an enable bit', () => {
  const c = new PciConfigSpace();
  const bars = new PciBars(c, [], { size: 0x10000 });
  c.write(PCI_ROM_ADDRESS, 4, 0xfffffffe);
  assert.equal(c.read(PCI_ROM_ADDRESS, 4), 0xffff0000);
  c.write(PCI_ROM_ADDRESS, 4, 0xfeb00001);
  assert.equal(c.read(PCI_ROM_ADDRESS, 4), 0xfeb00001);
  assert.deepEqual(bars.rom(), { address: 0xfeb00000, size: 0x10000, enabled: true });
  bars.reset();
  assert.equal(c.read(PCI_ROM_ADDRESS, 4), 0);
  const none = new PciConfigSpace();
  new PciBars(none, []);
  assert.equal(size(none, PCI_ROM_ADDRESS), 0, 'no ROM reads 0');
  assert.equal(size(none, PCI_BASE_ADDRESS_3), 0);
});

test('bad BAR definitions are rejected', () => {
  const bad = (defs: ConstructorParameters<typeof PciBars>[1]) =>
    assert.throws(() => new PciBars(new PciConfigSpace(), defs), (e: unknown) => e instanceof VfioError);
  bad([{ index: 0, kind: 'io', size: 2 }]);
  bad([{ index: 0, kind: 'mem32', size: 8 }]);
  bad([{ index: 0, kind: 'mem32', size: 24 }]);
  bad([{ index: 5, kind: 'mem64', size: 16 }]);
  bad([{ index: 0, kind: 'mem64', size: 16 }, { index: 1, kind: 'io', size: 4 }]);
  bad([{ index: 6, kind: 'io', size: 4 }]);
  bad([{ index: 0, kind: 'io', size: 4, prefetchable: true }]);
});
