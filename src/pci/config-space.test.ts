// Tests for the config space: masks, w1c, unaligned accesses, hooks, watchers, bounds.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PciConfigSpace } from './config-space.js';
import { VfioError } from '../uapi/errno.js';
import {
  PCI_CLASS_COMMUNICATION_SERIAL,
  PCI_COMMAND,
  PCI_COMMAND_INTX_DISABLE,
  PCI_COMMAND_IO,
  PCI_DEVICE_ID,
  PCI_INTERRUPT_LINE,
  PCI_INTERRUPT_PIN,
  PCI_STATUS,
  PCI_STATUS_CAP_LIST,
  PCI_STATUS_DETECTED_PARITY,
  PCI_STATUS_REC_MASTER_ABORT,
  PCI_VENDOR_ID,
} from '../uapi/pci-regs.js';

test('ids are read-only to the guest; writes to them are silently ignored', () => {
  const c = new PciConfigSpace();
  c.setIds({ vendor: 0x4348, device: 0x3253, subVendor: 0x4348, subDevice: 0x3253, revision: 0x10, classCode: PCI_CLASS_COMMUNICATION_SERIAL, progIf: 2 });
  assert.equal(c.read(PCI_VENDOR_ID, 4), 0x32534348);
  c.write(PCI_VENDOR_ID, 4, 0xdeadbeef);
  assert.equal(c.read(PCI_VENDOR_ID, 2), 0x4348);
  assert.equal(c.read(PCI_DEVICE_ID, 2), 0x3253);
  assert.equal(c.read(0x08, 4), 0x07000210);
});

test('COMMAND keeps only writable bits; STATUS error bits are write-1-to-clear', () => {
  const c = new PciConfigSpace();
  c.write(PCI_COMMAND, 2, 0xffff);
  assert.equal(c.read(PCI_COMMAND, 2), 0x0547); // IO MEMORY MASTER PARITY SERR INTX_DISABLE
  c.setWord(PCI_STATUS, PCI_STATUS_CAP_LIST | PCI_STATUS_DETECTED_PARITY | PCI_STATUS_REC_MASTER_ABORT);
  // Writing 0 leaves w1c bits alone; writing 1 to one of them clears only that one.
  c.write(PCI_STATUS, 2, 0);
  assert.equal(c.read(PCI_STATUS, 2), PCI_STATUS_CAP_LIST | PCI_STATUS_DETECTED_PARITY | PCI_STATUS_REC_MASTER_ABORT);
  c.write(PCI_STATUS, 2, PCI_STATUS_DETECTED_PARITY | PCI_STATUS_CAP_LIST);
  assert.equal(c.read(PCI_STATUS, 2), PCI_STATUS_CAP_LIST | PCI_STATUS_REC_MASTER_ABORT);
  // A dword write over COMMAND+STATUS applies both masks.
  c.write(PCI_COMMAND, 4, (PCI_STATUS_REC_MASTER_ABORT << 16) | PCI_COMMAND_IO);
  assert.equal(c.read(PCI_COMMAND, 4), (PCI_STATUS_CAP_LIST << 16) | PCI_COMMAND_IO);
});

test('interrupt line is writable, pin is not; unaligned and crossing accesses work byte-wise', () => {
  const c = new PciConfigSpace();
  c.setInterruptPin(1);
  c.write(PCI_INTERRUPT_LINE, 2, 0x030b);
  assert.equal(c.read(PCI_INTERRUPT_LINE, 1), 0x0b);
  assert.equal(c.read(PCI_INTERRUPT_PIN, 1), 1);
  c.setDword(0x40, 0x44332211);
  c.setDword(0x44, 0x88776655);
  assert.equal(c.read(0x43, 2), 0x5544);
  assert.equal(c.read(0x42, 4), 0x66554433);
  assert.equal(c.read(0xfc, 4), 0, 'undefined registers read 0');
  c.write(0x80, 4, 0xffffffff);
  assert.equal(c.read(0x80, 4), 0, 'writes to undefined registers are ignored');
});

test('guest accesses outside the space are EINVAL; a 4096-byte space reaches 0xffc', () => {
  const c = new PciConfigSpace();
  assert.throws(() => c.read(0xff, 2), (e: unknown) => VfioError.is(e, 'EINVAL'));
  assert.throws(() => c.write(0x100, 1, 0), (e: unknown) => VfioError.is(e, 'EINVAL'));
  assert.throws(() => c.write(0, 1, 0x100), (e: unknown) => VfioError.is(e, 'EINVAL'));
  const e = new PciConfigSpace(4096);
  assert.equal(e.read(0xffc, 4), 0);
  assert.throws(() => new PciConfigSpace(512), (err: unknown) => VfioError.is(err, 'EINVAL'));
});

test('hooks virtualize a dword (partial writes carry a byte mask); watchers see guest writes', () => {
  const c = new PciConfigSpace();
  let reg = 0x11223344;
  const writes: Array<[number, number]> = [];
  c.hookDword(0x50, {
    read: () => reg,
    write: (v, m) => {
      writes.push([v, m]);
      reg = ((reg & ~m) | (v & m)) >>> 0;
    },
  });
  assert.equal(c.read(0x51, 2), 0x2233);
  c.write(0x52, 1, 0xaa);
  assert.deepEqual(writes, [[0x00aa0000, 0x00ff0000]]);
  assert.equal(c.read(0x50, 4), 0x11aa3344);
  // An unaligned write spanning two dwords splits at the boundary.
  c.write(0x4e, 4, 0xbbbbcccc);
  assert.deepEqual(writes[1], [0x0000bbbb, 0x0000ffff]);

  const seen: number[] = [];
  const unwatch = c.watch(PCI_COMMAND, 2, (off) => seen.push(off));
  c.write(PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
  c.write(0x3c, 1, 1);
  c.write(0x02, 4, 0); // covers 0x04
  unwatch();
  c.write(PCI_COMMAND, 2, 0);
  assert.deepEqual(seen, [PCI_COMMAND, 0x02]);
});
