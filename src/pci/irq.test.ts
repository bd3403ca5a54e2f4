// Tests for INTx automasking, INTX_DISABLE, MSI enable/masking and MSI-X masking with the PBA.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PciConfigSpace } from './config-space.js';
import { PciCapabilityBuilder } from './capabilities.js';
import { PciIrq, type IrqTriggerSink, type PciIrqKind } from './irq.js';
import {
  PCI_COMMAND,
  PCI_COMMAND_INTX_DISABLE,
  PCI_MSIX_ENTRY_VECTOR_CTRL,
  PCI_MSIX_FLAGS,
  PCI_MSIX_FLAGS_ENABLE,
  PCI_MSIX_FLAGS_MASKALL,
  PCI_MSI_FLAGS,
  PCI_MSI_FLAGS_ENABLE,
  PCI_STATUS,
  PCI_STATUS_INTERRUPT,
} from '../uapi/pci-regs.js';

function recorder(): IrqTriggerSink & { log: string[] } {
  const log: string[] = [];
  return { log, trigger: (i: PciIrqKind, v: number) => void log.push(`${i}:${v}`) };
}

test('INTx: assertion triggers once and automasks; unmask re-fires while still asserted', () => {
  const c = new PciConfigSpace();
  const sink = recorder();
  const irq = new PciIrq(c, { sink });
  irq.setIntxLevel(true);
  assert.deepEqual(sink.log, ['intx:0']);
  assert.equal(irq.intxMasked(), true);
  assert.notEqual(c.read(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 0, 'STATUS.INTERRUPT mirrors the line');
  irq.setIntxLevel(true);
  assert.equal(sink.log.length, 1, 'masked: no second trigger');
  irq.unmaskIntx();
  assert.deepEqual(sink.log, ['intx:0', 'intx:0'], 'still asserted at unmask: fires again');
  irq.setIntxLevel(false);
  assert.equal(c.read(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 0);
  irq.unmaskIntx();
  assert.equal(sink.log.length, 2, 'deasserted at unmask: quiet');
  irq.setIntxLevel(true);
  assert.equal(sink.log.length, 3);
});

test('INTX_DISABLE suppresses the trigger but not STATUS.INTERRUPT; clearing it delivers', () => {
  const c = new PciConfigSpace();
  const sink = recorder();
  const irq = new PciIrq(c, { sink });
  c.write(PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
  irq.setIntxLevel(true);
  irq.raise();
  assert.deepEqual(sink.log, []);
  assert.notEqual(c.read(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 0);
  c.write(PCI_COMMAND, 2, 0);
  assert.deepEqual(sink.log, ['intx:0']);
});

test('raise() under INTx is a pulse, as mtty signals: masked until the user unmasks', () => {
  const c = new PciConfigSpace();
  const sink = recorder();
  const irq = new PciIrq(c, { sink });
  irq.raise();
  irq.raise();
  assert.deepEqual(sink.log, ['intx:0']);
  irq.unmaskIntx();
  assert.deepEqual(sink.log, ['intx:0'], 'a pulse leaves no level behind');
  irq.raise();
  assert.equal(sink.log.length, 2);
});

test('MSI is enabled through config writes; vector count clamps; per-vector mask holds pending', () => {
  const c = new PciConfigSpace();
  const msi = new PciCapabilityBuilder(c).addMsi({ vectors: 4, perVectorMask: true });
  const sink = recorder();
  const irq = new PciIrq(c, { sink, msi });
  assert.equal(irq.currentIndex(), 'intx');
  c.write(msi.offset + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | (5 << 4)); // asks for 32
  assert.equal(irq.currentIndex(), 'msi');
  assert.equal(irq.msiVectorCount(), 4);
  irq.raise(3);
  irq.raise(4); // beyond the enabled count: dropped
  assert.deepEqual(sink.log, ['msi:3']);
  c.write(msi.maskOffset ?? 0, 4, 0b0010);
  irq.raise(1);
  assert.deepEqual(sink.log, ['msi:3']);
  assert.equal(c.read(msi.pendingOffset ?? 0, 4), 0b0010);
  c.write(msi.pendingOffset ?? 0, 4, 0);
  assert.equal(c.read(msi.pendingOffset ?? 0, 4), 0b0010, 'pending bits are read-only');
  c.write(msi.maskOffset ?? 0, 4, 0);
  assert.deepEqual(sink.log, ['msi:3', 'msi:1']);
  assert.equal(c.read(msi.pendingOffset ?? 0, 4), 0);
  // A level source under MSI sends vector 0 on each rising edge.
  irq.setLevel(true);
  irq.setLevel(true);
  irq.setLevel(false);
  irq.setLevel(true);
  assert.deepEqual(sink.log, ['msi:3', 'msi:1', 'msi:0', 'msi:0']);
  c.write(msi.dataOffset, 2, 0x4020);
  assert.equal(irq.msiMessage(2)?.data, 0x4022);
});

test('MSI-X: entries start masked; masked vectors set the PBA; unmask and maskall release', () => {
  const c = new PciConfigSpace();
  const msix = new PciCapabilityBuilder(c).addMsix({ tableSize: 4, tableBir: 1, tableOffset: 0, pbaBir: 1, pbaOffset: 0x800 });
  const sink = recorder();
  const irq = new PciIrq(c, { sink, msix });
  c.write(msix.offset + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
  assert.equal(irq.currentIndex(), 'msix');
  assert.equal(irq.msixTableSize, 64);
  const ctrl = new Uint8Array(4);
  irq.readMsixTable(2 * 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, ctrl);
  assert.deepEqual([...ctrl], [1, 0, 0, 0]);

  irq.raise(2);
  assert.deepEqual(sink.log, []);
  const pba = new Uint8Array(8);
  irq.readMsixPba(0, pba);
  assert.equal(pba[0], 0b0100);

  // Program entry 2 with one 16-byte write, vector control unmasked (reserved bits dropped).
  const entry = new Uint8Array(16);
  const v = new DataView(entry.buffer);
  v.setUint32(0, 0xfee01000, true);
  v.setUint32(8, 0x41, true);
  v.setUint32(12, 0xfffffffe, true);
  irq.writeMsixTable(32, entry);
  assert.deepEqual(sink.log, ['msix:2'], 'pending vector delivered on unmask');
  irq.readMsixPba(0, pba);
  assert.equal(pba[0], 0);
  irq.readMsixTable(32 + 12, ctrl);
  assert.deepEqual([...ctrl], [0, 0, 0, 0]);
  assert.deepEqual(irq.msixMessage(2), { address: 0xfee01000n, data: 0x41 });

  c.write(msix.offset + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
  irq.raise(2);
  assert.equal(irq.msixPending(2), true);
  assert.equal(sink.log.length, 1);
  c.write(msix.offset + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
  assert.deepEqual(sink.log, ['msix:2', 'msix:2']);
  assert.equal(irq.msixPending(2), false);
  irq.raise(9);
  assert.equal(sink.log.length, 2, 'out-of-range vector dropped');
});

test('setIrqIndex pins delivery (mtty follows SET_IRQS); reset clears masks and pending', () => {
  const c = new PciConfigSpace();
  const sink = recorder();
  const msi = new PciCapabilityBuilder(c).addMsi({ vectors: 1 });
  const irq = new PciIrq(c, { sink, msi });
  irq.setIrqIndex('msi');
  irq.raise(0);
  assert.deepEqual(sink.log, [], 'MSI not enabled in config: nothing to send');
  c.write(msi.offset + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
  irq.raise(0);
  assert.deepEqual(sink.log, ['msi:0']);
  irq.setIrqIndex(undefined);
  irq.setSink(undefined);
  irq.raise(0);
  assert.equal(sink.log.length, 1);
  irq.reset();
  assert.equal(irq.intxMasked(), false);
});
