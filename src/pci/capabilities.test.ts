// Tests for the capability builder: list layout, walk order and per-field masks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PciConfigSpace } from './config-space.js';
import { PciCapabilityBuilder, findCapability, walkCapabilities } from './capabilities.js';
import { VfioError } from '../uapi/errno.js';
import {
  PCI_CAPABILITY_LIST,
  PCI_CAP_ID_EXP,
  PCI_CAP_ID_MSI,
  PCI_CAP_ID_MSIX,
  PCI_CAP_ID_PM,
  PCI_CAP_ID_VNDR,
  PCI_MSIX_FLAGS,
  PCI_MSIX_PBA,
  PCI_MSIX_TABLE,
  PCI_MSI_ADDRESS_HI,
  PCI_MSI_ADDRESS_LO,
  PCI_MSI_FLAGS,
  PCI_PM_CTRL,
  PCI_STATUS,
  PCI_STATUS_CAP_LIST,
} from '../uapi/pci-regs.js';

test('no capabilities: CAP_LIST clear and the walk is empty', () => {
  const c = new PciConfigSpace();
  assert.equal(c.read(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, 0);
  assert.deepEqual(walkCapabilities(c), []);
});

test('the walk from 0x34 finds every capability in order', () => {
  const c = new PciConfigSpace();
  const b = new PciCapabilityBuilder(c);
  const pm = b.addPm();
  const msi = b.addMsi({ vectors: 4, addr64: true, perVectorMask: true });
  const msix = b.addMsix({ tableSize: 8, tableBir: 1, tableOffset: 0, pbaBir: 1, pbaOffset: 0x800 });
  const payload = new Uint8Array(13);
  new DataView(payload.buffer).setUint32(1, 0x34325258, true); // mdpy: format at cap + 4
  const vndr = b.addVendor(payload);
  const exp = b.addExp();
  assert.equal(c.read(PCI_CAPABILITY_LIST, 1), 0x40);
  assert.notEqual(c.read(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, 0);
  assert.deepEqual(walkCapabilities(c), [
    { id: PCI_CAP_ID_PM, offset: pm },
    { id: PCI_CAP_ID_MSI, offset: msi.offset },
    { id: PCI_CAP_ID_MSIX, offset: msix.offset },
    { id: PCI_CAP_ID_VNDR, offset: vndr },
    { id: PCI_CAP_ID_EXP, offset: exp },
  ]);
  assert.deepEqual([pm, msi.offset, msix.offset, vndr], [0x40, 0x48, 0x60, 0x6c]);
  assert.equal(c.read(vndr + 2, 1), 16, 'vendor length byte');
  assert.equal(c.read(vndr + 4, 4), 0x34325258);
  assert.equal(findCapability(c, PCI_CAP_ID_MSIX), 0x60);
  assert.equal(c.read(msix.offset + PCI_MSIX_FLAGS, 2), 7, 'table size - 1');
  assert.equal(c.read(msix.offset + PCI_MSIX_TABLE, 4), 1);
  assert.equal(c.read(msix.offset + PCI_MSIX_PBA, 4), 0x801);
  // The list itself is read-only to the guest.
  c.write(PCI_CAPABILITY_LIST, 1, 0);
  c.write(pm + 1, 1, 0);
  assert.equal(walkCapabilities(c).length, 5);
});

test('per-field masks: MSI enable/QSIZE/address/data, MSI-X enable/maskall, PM state', () => {
  const c = new PciConfigSpace();
  const b = new PciCapabilityBuilder(c);
  const pm = b.addPm();
  const msi = b.addMsi({ vectors: 8, addr64: true });
  const msix = b.addMsix({ tableSize: 2, tableBir: 0, tableOffset: 0x1000, pbaBir: 0, pbaOffset: 0x1800 });
  c.write(msi.offset + PCI_MSI_FLAGS, 2, 0xffff);
  assert.equal(c.read(msi.offset + PCI_MSI_FLAGS, 2), 0x0080 | 0x0070 | 0x0006 | 0x0001);
  c.write(msi.offset + PCI_MSI_ADDRESS_LO, 4, 0xfee00003);
  c.write(msi.offset + PCI_MSI_ADDRESS_HI, 4, 0x12345678);
  c.write(msi.dataOffset, 4, 0xffff4021);
  assert.equal(c.read(msi.offset + PCI_MSI_ADDRESS_LO, 4), 0xfee00000);
  assert.equal(c.read(msi.offset + PCI_MSI_ADDRESS_HI, 4), 0x12345678);
  assert.equal(c.read(msi.dataOffset, 4), 0x4021);
  c.write(msix.offset + PCI_MSIX_FLAGS, 2, 0xffff);
  assert.equal(c.read(msix.offset + PCI_MSIX_FLAGS, 2), 0xc001);
  c.write(msix.offset + PCI_MSIX_TABLE, 4, 0);
  assert.equal(c.read(msix.offset + PCI_MSIX_TABLE, 4), 0x1000);
  c.write(pm + PCI_PM_CTRL, 2, 0xffff);
  assert.equal(c.read(pm + PCI_PM_CTRL, 2), 0x0100 | 0x0008 | 0x0003);
  c.setBits(pm + PCI_PM_CTRL, 2, 0x8000, true);
  c.write(pm + PCI_PM_CTRL, 2, 0x8000);
  assert.equal(c.read(pm + PCI_PM_CTRL, 2) & 0x8000, 0, 'PME_Status is w1c');
});

test('capabilities that do not fit, or bad parameters, are rejected', () => {
  const c = new PciConfigSpace();
  const b = new PciCapabilityBuilder(c, 0xf0);
  assert.throws(() => b.addExp(), (e: unknown) => VfioError.is(e, 'ENOSPC'));
  assert.throws(() => b.addMsi({ vectors: 3 }), (e: unknown) => VfioError.is(e, 'EINVAL'));
  assert.throws(() => b.addMsix({ tableSize: 0, tableBir: 0, tableOffset: 0, pbaBir: 0, pbaOffset: 0 }), (e: unknown) => VfioError.is(e, 'EINVAL'));
  assert.throws(() => new PciCapabilityBuilder(c, 0x20), (e: unknown) => VfioError.is(e, 'EINVAL'));
});
