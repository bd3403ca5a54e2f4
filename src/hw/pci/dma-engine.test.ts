// The DMA engine driven by its registers: copy and fill through mapped memory, an unmapped address setting
// ERROR with the faulting address, bus mastering required, MSI-X vectors with masking and pending bits,
// INTx when MSI-X is off, FLR through DEVCTL, and the saved record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioError } from '../../uapi/errno.js';
import { PCI_COMMAND, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY, PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_BCR_FLR, PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, PCI_MSIX_FLAGS_MASKALL, PCI_CAP_ID_EXP, PCI_CAP_ID_MSIX } from '../../uapi/pci-regs.js';
import { findCapability } from '../../pci/capabilities.js';
import {
  DMA_CMD_COPY, DMA_CMD_FILL, DMA_ID_VALUE, DMA_REG_CMD, DMA_REG_COUNT, DMA_REG_DST_LO, DMA_REG_ERR_ADDR_LO, DMA_REG_FILL, DMA_REG_ID,
  DMA_REG_INTR_MASK, DMA_REG_LEN, DMA_REG_SRC_HI, DMA_REG_SRC_LO, DMA_REG_STATUS, DMA_STATUS_DONE, DMA_STATUS_ERROR, PcieDmaEngine,
} from './dma-engine.js';
import { FakeIommuMemory, RecordingSink, le32, readLe32 } from './pci.test-kit.js';

function setup() {
  const eng = new PcieDmaEngine();
  const mem = new FakeIommuMemory();
  const sink = new RecordingSink();
  eng.dma = mem;
  eng.irq.setSink(sink);
  eng.config.write(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
  const w = (reg: number, v: number): void => eng.barWrite(0, reg, le32(v));
  const r = (reg: number): number => readLe32((b) => eng.barRead(0, reg, b));
  return { eng, mem, sink, w, r };
}

test('copy and fill move guest memory through the DMA port; DONE is w1c and raises INTx when enabled', () => {
  const { mem, sink, w, r } = setup();
  assert.equal(r(DMA_REG_ID), DMA_ID_VALUE);
  const src = mem.map(0x10000n, 4096);
  const dst = mem.map(0x20000n, 4096);
  src.set([1, 2, 3, 4, 5], 16);
  w(DMA_REG_INTR_MASK, DMA_STATUS_DONE | DMA_STATUS_ERROR);
  w(DMA_REG_SRC_LO, 0x10010);
  w(DMA_REG_DST_LO, 0x20100);
  w(DMA_REG_LEN, 5);
  w(DMA_REG_CMD, DMA_CMD_COPY);
  assert.deepEqual([...dst.subarray(0x100, 0x105)], [1, 2, 3, 4, 5]);
  assert.equal(r(DMA_REG_STATUS), DMA_STATUS_DONE);
  assert.deepEqual(sink.events, ['intx 1']);
  w(DMA_REG_STATUS, DMA_STATUS_DONE);
  assert.deepEqual(sink.events, ['intx 1', 'intx 0']);
  w(DMA_REG_FILL, 0xddccbbaa);
  w(DMA_REG_DST_LO, 0x20000);
  w(DMA_REG_LEN, 6);
  w(DMA_REG_CMD, DMA_CMD_FILL);
  assert.deepEqual([...dst.subarray(0, 7)], [0xaa, 0xbb, 0xcc, 0xdd, 0xaa, 0xbb, 0]);
  assert.equal(r(DMA_REG_COUNT), 2);
});

test('a DMA to unmapped memory or without bus mastering sets ERROR and the faulting address instead', () => {
  const { eng, mem, w, r } = setup();
  mem.map(0x10000n, 4096);
  w(DMA_REG_SRC_LO, 0x10000);
  w(DMA_REG_DST_LO, 0x90000);
  w(DMA_REG_LEN, 16);
  w(DMA_REG_CMD, DMA_CMD_COPY);
  assert.equal(r(DMA_REG_STATUS), DMA_STATUS_ERROR);
  assert.equal(r(DMA_REG_ERR_ADDR_LO), 0x90000);
  assert.equal(r(DMA_REG_COUNT), 0);
  w(DMA_REG_STATUS, DMA_STATUS_ERROR);
  eng.config.write(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
  w(DMA_REG_DST_LO, 0x10800);
  w(DMA_REG_CMD, DMA_CMD_COPY);
  assert.equal(r(DMA_REG_STATUS), DMA_STATUS_ERROR, 'no bus mastering, no DMA');
  assert.equal(r(DMA_REG_ERR_ADDR_LO), 0x10000);
});

test('MSI-X: done and error vectors as messages; a masked vector is pending in the PBA until unmasked', () => {
  const { eng, mem, sink, w } = setup();
  mem.map(0x0n, 4096);
  const msix = findCapability(eng.config, PCI_CAP_ID_MSIX);
  assert.ok(msix !== undefined);
  const table = (vector: number, field: number, v: number): void => eng.barWrite(2, vector * 16 + field, le32(v));
  table(0, 0, 0xfee00000);
  table(0, 8, 0x41);
  table(1, 0, 0xfee01000);
  table(1, 8, 0x42);
  eng.config.write(msix + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
  w(DMA_REG_INTR_MASK, DMA_STATUS_DONE | DMA_STATUS_ERROR);
  w(DMA_REG_LEN, 4);
  w(DMA_REG_CMD, DMA_CMD_FILL);
  assert.deepEqual(sink.events, [], 'vectors start masked');
  assert.equal(readLe32((b) => eng.barRead(2, 0x800, b)) & 1, 1, 'vector 0 pending');
  table(0, 12, 0);
  assert.deepEqual(sink.events, ['msix 0']);
  assert.equal(sink.messages[0]?.message.address, 0xfee00000n);
  assert.equal(sink.messages[0]?.message.data, 0x41);
  table(1, 12, 0);
  eng.config.write(msix + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
  w(DMA_REG_SRC_HI, 1);
  w(DMA_REG_CMD, DMA_CMD_COPY);
  assert.deepEqual(sink.events, ['msix 0'], 'function mask holds the error vector');
  eng.config.write(msix + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
  assert.deepEqual(sink.events, ['msix 0', 'msix 1']);
  assert.equal(sink.messages.length, 2);
  assert.equal(eng.irq.intxAsserted, false, 'no INTx under MSI-X');
});

test('FLR through DEVCTL resets registers, MSI-X table and config; the record saves and loads', () => {
  const { eng, w, r } = setup();
  const exp = findCapability(eng.config, PCI_CAP_ID_EXP);
  assert.ok(exp !== undefined);
  w(DMA_REG_SRC_LO, 0x1234);
  eng.barWrite(2, 0, le32(0xfee00000));
  const saved = eng.save();
  eng.config.write(exp + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_BCR_FLR);
  assert.deepEqual(eng.resets, ['flr']);
  assert.equal(eng.config.read(exp + PCI_EXP_DEVCTL, 2) & PCI_EXP_DEVCTL_BCR_FLR, 0, 'the FLR bit reads 0');
  assert.equal(eng.config.read(PCI_COMMAND, 2), 0);
  eng.config.write(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
  assert.equal(r(DMA_REG_SRC_LO), 0);
  assert.equal(readLe32((b) => eng.barRead(2, 0, b)), 0, 'MSI-X table cleared');
  eng.load(saved);
  assert.equal(r(DMA_REG_SRC_LO), 0x1234);
  assert.throws(() => eng.load({ ...saved, len: -1 }), (e: unknown) => VfioError.is(e, 'EINVAL'));
});
