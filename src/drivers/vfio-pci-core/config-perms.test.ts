// The permission tables checked field by field against drivers/vfio/pci/vfio_pci_config.c (init_pci_cap_*_perm,
// init_pci_ext_cap_*_perm, pci_cap_length[], pci_ext_cap_length[]): virt and write masks per register, which
// read/write function serves each capability, and which capabilities are hidden.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CAP_PERMS, ECAP_PERMS, PCI_CAP_LENGTH, PCI_EXT_CAP_LENGTH, vfioMsiPerms } from './config-perms.js';
import type { PermBits } from './config-perms.js';

/** [virt, write] of `bytes` at `off`, as the kernel's p_setb/p_setw/p_setd wrote them. */
function at(p: PermBits | undefined, off: number, bytes: number): [number, number] {
  assert.ok(p);
  const m = p.masks(off, bytes);
  return [m.virt >>> 0, m.write >>> 0];
}

test('basic header (init_pci_cap_basic_perm)', () => {
  const p = CAP_PERMS[0];
  assert.equal(p?.readFn, 'basic');
  assert.equal(p?.writeFn, 'basic');
  assert.deepEqual(at(p, 0x00, 2), [0xffff, 0], 'VENDOR_ID virtual, read-only');
  assert.deepEqual(at(p, 0x02, 2), [0xffff, 0], 'DEVICE_ID');
  assert.deepEqual(at(p, 0x04, 2), [0x0400, 0xffff], 'COMMAND: INTX_DISABLE virtual, all writable');
  assert.deepEqual(at(p, 0x06, 2), [0x0010, 0], 'STATUS: CAP_LIST virtual, read-only');
  assert.deepEqual(at(p, 0x08, 4), [0, 0], 'revision and class');
  assert.deepEqual(at(p, 0x0c, 1), [0, 0xff], 'CACHE_LINE_SIZE');
  assert.deepEqual(at(p, 0x0d, 1), [0, 0xff], 'LATENCY_TIMER');
  assert.deepEqual(at(p, 0x0e, 1), [0, 0], 'HEADER_TYPE');
  assert.deepEqual(at(p, 0x0f, 1), [0, 0xff], 'BIST');
  for (let bar = 0x10; bar <= 0x24; bar += 4) assert.deepEqual(at(p, bar, 4), [0xffffffff, 0xffffffff], `BAR at 0x${bar.toString(16)}`);
  assert.deepEqual(at(p, 0x28, 4), [0, 0], 'CARDBUS_CIS');
  assert.deepEqual(at(p, 0x2c, 4), [0, 0], 'subsystem ids');
  assert.deepEqual(at(p, 0x30, 4), [0xffffffff, 0xffffffff], 'ROM_ADDRESS');
  assert.deepEqual(at(p, 0x34, 1), [0xff, 0], 'CAPABILITY_LIST');
  assert.deepEqual(at(p, 0x3c, 1), [0xff, 0xff], 'INTERRUPT_LINE');
  assert.deepEqual(at(p, 0x3d, 1), [0xff, 0], 'INTERRUPT_PIN');
  assert.deepEqual(at(p, 0x3e, 2), [0, 0], 'MIN_GNT, MAX_LAT');
});

test('PM, VPD, PCI-X, PCIe, AF (init_pci_cap_{pm,vpd,pcix,exp,af}_perm) and vendor', () => {
  const pm = CAP_PERMS[0x01];
  assert.equal(pm?.writeFn, 'pm');
  assert.deepEqual(at(pm, 1, 1), [0xff, 0], 'next pointer');
  assert.deepEqual(at(pm, 2, 2), [0xf800, 0], 'PMC: PME_Support virtual');
  assert.deepEqual(at(pm, 4, 4), [0x8100, 0xffff7efc], 'PM_CTRL: PME_En/PME_Status virtual; PowerState trapped');
  const vpd = CAP_PERMS[0x03];
  assert.deepEqual(at(vpd, 2, 2), [0xffff, 0xffff]);
  assert.deepEqual(at(vpd, 4, 4), [0xffffffff, 0xffffffff]);
  const pcix = CAP_PERMS[0x07];
  assert.deepEqual(at(pcix, 2, 2), [0, 0xffff], 'PCI_X_CMD');
  assert.deepEqual(at(pcix, 8, 4), [0, 0xffffffff], 'PCI_X_ECC_CSR');
  const exp = CAP_PERMS[0x10];
  assert.equal(exp?.writeFn, 'exp');
  assert.deepEqual(at(exp, 1, 1), [0xff, 0]);
  assert.deepEqual(at(exp, 4, 4), [0, 0], 'DEVCAP read-only');
  assert.deepEqual(at(exp, 8, 2), [0x80e0 | 0x7000, 0xfdff], 'DEVCTL: FLR, payload, readrq virtual; all but phantom writable');
  assert.deepEqual(at(exp, 0x28, 2), [0, 0xffdf], 'DEVCTL2: all but ARI');
  const af = CAP_PERMS[0x13];
  assert.equal(af?.writeFn, 'af');
  assert.deepEqual(at(af, 4, 1), [0x01, 0x01], 'AF_CTRL FLR virtual');
  assert.deepEqual(at(af, 3, 1), [0, 0], 'AF_CAP');
  assert.equal(CAP_PERMS[0x09]?.writeFn, 'raw', 'vendor capability writes go to the hardware');
  assert.equal(CAP_PERMS[0x11]?.writeFn, null, 'MSI-X: direct reads, writes dropped');
  assert.equal(CAP_PERMS[0x11]?.readFn, 'direct');
});

test('MSI (init_pci_cap_msi_perm) per layout', () => {
  const m32 = vfioMsiPerms(10, 0);
  assert.deepEqual(at(m32, 2, 1), [0xff, 0xff], 'FLAGS low byte');
  assert.deepEqual(at(m32, 3, 1), [0, 0], 'FLAGS high byte reserved');
  assert.deepEqual(at(m32, 4, 4), [0xffffffff, 0xffffffff]);
  assert.deepEqual(at(m32, 8, 2), [0xffff, 0xffff], 'DATA_32');
  const m64mask = vfioMsiPerms(24, 0x0080 | 0x0100);
  assert.deepEqual(at(m64mask, 8, 4), [0xffffffff, 0xffffffff], 'ADDRESS_HI');
  assert.deepEqual(at(m64mask, 12, 2), [0xffff, 0xffff], 'DATA_64');
  assert.deepEqual(at(m64mask, 16, 4), [0, 0xffffffff], 'MASK_64 to the hardware');
  assert.deepEqual(at(m64mask, 20, 4), [0, 0xffffffff], 'PENDING_64');
  const m32mask = vfioMsiPerms(20, 0x0100);
  assert.deepEqual(at(m32mask, 12, 4), [0, 0xffffffff], 'MASK_32');
  assert.deepEqual(at(m32mask, 16, 4), [0, 0xffffffff], 'PENDING_32');
});

test('AER and power budgeting (init_pci_ext_cap_{err,pwr}_perm)', () => {
  const err = ECAP_PERMS[0x01];
  assert.deepEqual(at(err, 0, 4), [0xffffffff, 0], 'header virtual');
  assert.deepEqual(at(err, 4, 4), [0, 0x03fff031], 'UNCOR_STATUS');
  assert.deepEqual(at(err, 8, 4), [0, 0x03fff031], 'UNCOR_MASK');
  assert.deepEqual(at(err, 0xc, 4), [0, 0x03fff031], 'UNCOR_SEVER');
  assert.deepEqual(at(err, 0x10, 4), [0, 0xf1c1], 'COR_STATUS');
  assert.deepEqual(at(err, 0x14, 4), [0, 0xf1c1], 'COR_MASK');
  assert.deepEqual(at(err, 0x18, 4), [0, 0x140], 'CAP: ECRC generation and check');
  const pwr = ECAP_PERMS[0x04];
  assert.deepEqual(at(pwr, 0, 4), [0xffffffff, 0]);
  assert.deepEqual(at(pwr, 4, 1), [0, 0xff], 'data select');
  assert.deepEqual(at(pwr, 8, 4), [0, 0], 'data read-only');
  assert.equal(ECAP_PERMS[0x0b]?.writeFn, 'raw', 'vendor extended capability');
  assert.equal(ECAP_PERMS[0x10]?.writeFn, null, 'SR-IOV: read-only to the user');
});

test('capability lengths: which the user sees, which are hidden (pci_cap_length, pci_ext_cap_length)', () => {
  const hiddenStd = [0x04, 0x06, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f];
  for (const id of hiddenStd) assert.equal(PCI_CAP_LENGTH.get(id), 0, `cap 0x${id.toString(16)} hidden`);
  assert.equal(PCI_CAP_LENGTH.get(0x14), undefined, 'EA: not in the table, hidden');
  assert.deepEqual([0x00, 0x01, 0x02, 0x03, 0x11, 0x13].map((id) => PCI_CAP_LENGTH.get(id)), [64, 8, 12, 8, 12, 6]);
  for (const id of [0x05, 0x07, 0x08, 0x09, 0x10, 0x12]) assert.equal(PCI_CAP_LENGTH.get(id), 0xff, `cap 0x${id.toString(16)} variable`);
  const hiddenExt = [0x05, 0x06, 0x07, 0x0a, 0x0c, 0x11, 0x14, 0x19, 0x1a, 0x1b];
  for (const id of hiddenExt) assert.equal(PCI_EXT_CAP_LENGTH.get(id), 0, `ecap 0x${id.toString(16)} hidden`);
  assert.deepEqual([0x01, 0x03, 0x04, 0x0e, 0x0f, 0x10, 0x12, 0x13, 0x18].map((id) => PCI_EXT_CAP_LENGTH.get(id)), [0x2c, 12, 16, 8, 8, 0x40, 40, 16, 8]);
  for (const id of [0x02, 0x08, 0x09, 0x0b, 0x0d, 0x15, 0x16, 0x17]) assert.equal(PCI_EXT_CAP_LENGTH.get(id), 0xff);
});
