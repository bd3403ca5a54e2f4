// The PCI serial card driven through its I/O BAR as 8250_pci would: loopback, a host backend, INTx level
// gated by INTX_DISABLE, decode off until COMMAND.IO, reset and a saved record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioError } from '../../uapi/errno.js';
import { PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, PCI_COMMAND_IO, PCI_STATUS, PCI_STATUS_INTERRUPT } from '../../uapi/pci-regs.js';
import { UART_IER, UART_IER_RDI, UART_LSR, UART_LSR_DR, UART_RX, UART_SCR, UART_TX } from '../uart16550.js';
import { PciSerialCard } from './serial-card.js';
import { RecordingSink } from './pci.test-kit.js';

function io(card: PciSerialCard) {
  return {
    in: (reg: number): number => {
      const b = new Uint8Array(1);
      card.barRead(0, reg, b);
      return b[0] ?? 0;
    },
    out: (reg: number, v: number): void => card.barWrite(0, reg, Uint8Array.of(v)),
  };
}

test('ids, class and BAR of QEMU\'s pci-serial; nothing decodes until COMMAND.IO', () => {
  const card = new PciSerialCard();
  assert.equal(card.config.read(0, 4), 0x00021b36);
  assert.equal(card.config.read(0x08, 4) >>> 8, 0x070002);
  card.config.write(0x10, 4, 0xffffffff);
  assert.equal(card.config.read(0x10, 4), 0xfffffff9, '8-byte I/O BAR');
  const port = io(card);
  port.out(UART_SCR, 0x42);
  assert.equal(port.in(UART_SCR), 0xff, 'master abort while I/O decoding is off');
  card.config.write(PCI_COMMAND, 2, PCI_COMMAND_IO);
  port.out(UART_SCR, 0x42);
  assert.equal(port.in(UART_SCR), 0x42);
});

test('loopback bytes raise INTx as a level; INTX_DISABLE hides it from the pin but not from STATUS', () => {
  const card = new PciSerialCard();
  const sink = new RecordingSink();
  card.irq.setSink(sink);
  card.config.write(PCI_COMMAND, 2, PCI_COMMAND_IO);
  const port = io(card);
  port.out(UART_IER, UART_IER_RDI);
  port.out(UART_TX, 0x61);
  assert.deepEqual(sink.events, ['intx 1']);
  assert.equal(card.config.read(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, PCI_STATUS_INTERRUPT);
  card.config.write(PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_INTX_DISABLE);
  assert.deepEqual(sink.events, ['intx 1', 'intx 0']);
  assert.equal(card.config.read(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, PCI_STATUS_INTERRUPT, 'the request is still there');
  card.config.write(PCI_COMMAND, 2, PCI_COMMAND_IO);
  assert.equal(port.in(UART_LSR) & UART_LSR_DR, UART_LSR_DR);
  assert.equal(port.in(UART_RX), 0x61);
  assert.deepEqual(sink.events, ['intx 1', 'intx 0', 'intx 1', 'intx 0']);
  assert.equal(card.config.read(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 0);
});

test('a host backend gets transmitted bytes and feeds received ones', () => {
  const sent: number[] = [];
  const card = new PciSerialCard({ backend: { write: (b) => sent.push(b) } });
  card.config.write(PCI_COMMAND, 2, PCI_COMMAND_IO);
  const port = io(card);
  port.out(UART_TX, 0x68);
  port.out(UART_TX, 0x69);
  assert.deepEqual(sent, [0x68, 0x69]);
  card.receive([0x21]);
  assert.equal(port.in(UART_RX), 0x21);
});

test('reset returns the UART and the pin to power-on; the saved record restores the state', () => {
  const card = new PciSerialCard();
  const sink = new RecordingSink();
  card.irq.setSink(sink);
  card.config.write(PCI_COMMAND, 2, PCI_COMMAND_IO);
  const port = io(card);
  port.out(UART_SCR, 0x33);
  port.out(UART_IER, UART_IER_RDI);
  port.out(UART_TX, 0x61);
  const saved = card.save();
  card.hardwareReset('flr');
  assert.deepEqual(sink.events, ['intx 1', 'intx 0']);
  assert.equal(card.config.read(PCI_COMMAND, 2), 0);
  card.config.write(PCI_COMMAND, 2, PCI_COMMAND_IO);
  assert.equal(port.in(UART_SCR), 0);
  card.load(saved);
  assert.equal(port.in(UART_SCR), 0x33);
  assert.equal(port.in(UART_RX), 0x61);
  assert.throws(() => card.load({ kind: 'pci-serial', version: 2, uart: saved.uart }), (e: unknown) => VfioError.is(e, 'EINVAL'));
});
