// The Linux 8250 driver's probe of an mtty, as it happens through the VFIO device file: config space ids and class,
// BAR sizing, then through BAR0 the scratch, loopback, FIFO and divisor tests, interrupts, and 1 KiB through the FIFO.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { close, eventfd } from '../../native/index.js';
import { VFIO_IRQ_SET_ACTION_UNMASK } from '../../uapi/irq-set.js';
import { fired, setFds, setNone } from '../../emu/irq.test-kit.js';
import {
  UART_FCR,
  UART_FCR_ENABLE_FIFO,
  UART_IER,
  UART_IER_RDI,
  UART_IER_THRI,
  UART_IIR,
  UART_IIR_NO_INT,
  UART_IIR_THRI,
  UART_LCR,
  UART_LCR_DLAB,
  UART_LSR,
  UART_LSR_DR,
  UART_LSR_THRE,
  UART_MCR,
  UART_MCR_LOOP,
  UART_MCR_OUT2,
  UART_MSR,
  UART_RX,
  UART_SCR,
  UART_TX,
  UART_DLL,
  UART_DLM,
} from '../../hw/uart16550.js';
import { openMtty } from './mtty.test-kit.js';
import { pciEmuIoctl } from '../../emu/index.js';
import { VfioError } from '../../uapi/errno.js';
import { VFIO_DEVICE_GET_IRQ_INFO } from '../../uapi/ioctl.js';
import { VFIO_PCI_ERR_IRQ_INDEX, VFIO_PCI_INTX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX, VFIO_PCI_REQ_IRQ_INDEX } from '../../uapi/irq-info.js';

test('config space: 4348:3253, subsystem 4348:3253, class 070002 rev 0x10, INTA#, I/O enabled', async (t) => {
  const m = openMtty('2');
  t.after(m.done);
  assert.equal(m.cfg32(0x00), 0x32534348);
  assert.equal(m.cfg32(0x08), 0x07000210);
  assert.equal(m.cfg32(0x2c), 0x32534348);
  assert.equal((m.cfg32(0x3c) >> 8) & 0xff, 1, 'interrupt pin A');
  assert.equal(m.cfg32(0x04) & 0xffff, 0x0001);
  assert.equal(m.cfg32(0x60), 0x20494350, '"PCI " of the vendor string');
});

test('BAR sizing: both 8-byte I/O BARs on the dual port type; BAR1 absent on the single port type', async (t) => {
  const m = openMtty('2');
  t.after(m.done);
  for (const off of [0x10, 0x14]) {
    m.cfgWrite32(off, 0xffffffff);
    assert.equal(m.cfg32(off), 0xfffffff9, `BAR at 0x${off.toString(16)} sizes as 8 bytes of I/O`);
    m.cfgWrite32(off, 0xc000 + off);
    assert.equal(m.cfg32(off), ((0xc000 + off) & ~7) | 1);
  }
  m.cfgWrite32(0x18, 0xffffffff);
  assert.equal(m.cfg32(0x18), 0);
  const s = openMtty('1');
  t.after(s.done);
  s.cfgWrite32(0x14, 0xffffffff);
  assert.equal(s.cfg32(0x14), 0, 'no BAR1 on a single port');
});

test('8250 probe through BAR0: scratch, loopback MSR, FIFO detection, divisor latch', async (t) => {
  const m = openMtty('2');
  t.after(m.done);
  for (const bar of [0, 1]) {
    // autoconfig: the scratch register test.
    m.outb(bar, UART_SCR, 0xa5);
    assert.equal(m.inb(bar, UART_SCR), 0xa5);
    m.outb(bar, UART_SCR, 0x5a);
    assert.equal(m.inb(bar, UART_SCR), 0x5a);
    // The IER test: write 0, read 0; write 0x0f, read 0x0f.
    m.outb(bar, UART_IER, 0);
    assert.equal(m.inb(bar, UART_IER) & 0x0f, 0);
    m.outb(bar, UART_IER, 0x0f);
    assert.equal(m.inb(bar, UART_IER) & 0x0f, 0x0f);
    m.outb(bar, UART_IER, 0);
    // Loopback: MCR = LOOP | OUT2 | RTS must read back as MSR DCD | CTS.
    m.outb(bar, UART_MCR, UART_MCR_LOOP | 0x0a);
    assert.equal(m.inb(bar, UART_MSR) & 0xf0, 0x90);
    m.outb(bar, UART_MCR, 0);
    // FIFO detection: IIR bits 7:6 read 3 with FIFOs on (16550A).
    m.outb(bar, UART_FCR, UART_FCR_ENABLE_FIFO);
    assert.equal(m.inb(bar, UART_IIR) >> 6, 3);
    m.outb(bar, UART_FCR, 0);
    assert.equal(m.inb(bar, UART_IIR) >> 6, 0);
    // Divisor latch: 115200/9600 = 12.
    m.outb(bar, UART_LCR, UART_LCR_DLAB);
    m.outb(bar, UART_DLL, 12);
    m.outb(bar, UART_DLM, 0);
    assert.equal(m.inb(bar, UART_DLL), 12);
    assert.equal(m.inb(bar, UART_DLM), 0);
    m.outb(bar, UART_LCR, 0x03);
    assert.equal(m.inb(bar, UART_LCR), 0x03);
    assert.equal(m.dev.ports[bar]?.divisor, 12);
    assert.equal(m.inb(bar, UART_LSR) & UART_LSR_THRE, UART_LSR_THRE);
  }
});

test('IER THRI raises INTx through the eventfd; SET_IRQS unmask; then 1 KiB through the FIFO in loopback with RX interrupts', async (t) => {
  const m = openMtty('2');
  t.after(m.done);
  const intx = eventfd();
  t.after(() => close(intx));
  setFds(m.df, 0, 0, [intx]);
  m.outb(0, UART_MCR, UART_MCR_OUT2);
  m.outb(0, UART_IER, UART_IER_THRI);
  assert.equal(fired(intx), 1, 'THRE interrupt');
  assert.equal(m.inb(0, UART_IIR) & 0x0f, UART_IIR_THRI);
  assert.equal(m.inb(0, UART_IIR) & 0x0f, UART_IIR_NO_INT, 'reading IIR acknowledged THRE');
  setNone(m.df, 0, 0, 1, VFIO_IRQ_SET_ACTION_UNMASK);
  m.outb(0, UART_IER, UART_IER_RDI);
  m.outb(0, UART_FCR, UART_FCR_ENABLE_FIFO);
  m.outb(0, UART_MCR, UART_MCR_OUT2 | UART_MCR_LOOP);
  const sent = Uint8Array.from({ length: 1024 }, (_, i) => (i * 7 + 3) & 0xff);
  const got: number[] = [];
  let interrupts = 0;
  for (let i = 0; i < sent.length; i += 16) {
    for (let j = i; j < i + 16; j++) m.outb(0, UART_TX, sent[j] ?? 0);
    const n = fired(intx);
    assert.equal(n, 1, `one RX interrupt for chunk ${i / 16}`);
    interrupts += n;
    // The handler: read IIR, drain while LSR.DR, then the VMM unmasks.
    assert.notEqual(m.inb(0, UART_IIR) & UART_IIR_NO_INT, UART_IIR_NO_INT);
    while (m.inb(0, UART_LSR) & UART_LSR_DR) got.push(m.inb(0, UART_RX));
    assert.equal(m.inb(0, UART_IIR) & 0x0f, UART_IIR_NO_INT);
    setNone(m.df, 0, 0, 1, VFIO_IRQ_SET_ACTION_UNMASK);
  }
  assert.deepEqual(Uint8Array.from(got), sent);
  assert.equal(interrupts, 64);
});

test('GET_IRQ_INFO: INTx and MSI (one vector each) and REQ; ERR is EINVAL as in the kernel sample', async (t) => {
  const m = openMtty('2');
  t.after(m.done);
  const info = (index: number): number[] => {
    const arg = new Uint8Array(16);
    const v = new DataView(arg.buffer);
    v.setUint32(0, 16, true);
    v.setUint32(8, index, true);
    pciEmuIoctl(m.dev, VFIO_DEVICE_GET_IRQ_INFO, arg);
    return [v.getUint32(4, true), v.getUint32(12, true)];
  };
  assert.deepEqual(info(VFIO_PCI_INTX_IRQ_INDEX), [0x7, 1]);
  assert.deepEqual(info(VFIO_PCI_MSI_IRQ_INDEX), [0x9, 1]);
  assert.deepEqual(info(VFIO_PCI_REQ_IRQ_INDEX), [0x9, 1]);
  assert.throws(() => info(VFIO_PCI_ERR_IRQ_INDEX), (e: unknown) => VfioError.is(e, 'EINVAL'));
});
