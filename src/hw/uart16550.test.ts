// Tests for the 16550A model: Linux's 8250 autoconfig probe, divisor latch, interrupts, FIFO, save/load.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioError } from '../uapi/errno.js';
import {
  Uart16550,
  UART_DLL,
  UART_DLM,
  UART_FCR,
  UART_FCR_CLEAR_RCVR,
  UART_FCR_CLEAR_XMIT,
  UART_FCR_ENABLE_FIFO,
  UART_FCR_TRIGGER_8,
  UART_IER,
  UART_IER_MSI,
  UART_IER_RDI,
  UART_IER_RLSI,
  UART_IER_THRI,
  UART_IIR,
  UART_LCR,
  UART_LCR_DLAB,
  UART_LCR_WLEN8,
  UART_LSR,
  UART_LSR_DR,
  UART_LSR_OE,
  UART_LSR_TEMT,
  UART_LSR_THRE,
  UART_MCR,
  UART_MCR_DTR,
  UART_MCR_LOOP,
  UART_MCR_OUT2,
  UART_MCR_RTS,
  UART_MSR,
  UART_RX,
  UART_SCR,
  UART_TX,
} from './uart16550.js';

/**
 * The register sequence of autoconfig() and autoconfig_16550a() in 8250_port.c, for a port
 * without EFR quirks: returns the type Linux would assign.
 */
function linuxAutoconfig(u: Uart16550): string {
  const inb = (r: number): number => u.read(r);
  const outb = (r: number, v: number): void => u.write(r, v);
  const UART_EFR = 2;
  const CONF_MODE_A = 0x80;
  const CONF_MODE_B = 0xbf;

  // IER existence test.
  const scratch = inb(UART_IER);
  outb(UART_IER, 0);
  const scratch2 = inb(UART_IER) & 0x0f;
  outb(UART_IER, 0x0f);
  const scratch3 = inb(UART_IER) & 0x0f;
  outb(UART_IER, scratch);
  if (scratch2 !== 0 || scratch3 !== 0x0f) return 'none: IER test failed';

  const saveMcr = inb(UART_MCR);
  const saveLcr = inb(UART_LCR);
  // Loopback test: RTS|OUT2 in loop must read back as CTS|DCD.
  outb(UART_MCR, UART_MCR_LOOP | 0x0a);
  const status1 = inb(UART_MSR) & 0xf0;
  outb(UART_MCR, saveMcr);
  if (status1 !== 0x90) return `none: LOOP test failed (${status1.toString(16)})`;

  outb(UART_LCR, CONF_MODE_B);
  outb(UART_EFR, 0);
  outb(UART_LCR, 0);
  outb(UART_FCR, UART_FCR_ENABLE_FIFO);
  let type: string;
  switch (inb(UART_IIR) >> 6) {
    case 0: {
      const s = inb(UART_SCR);
      outb(UART_SCR, 0xa5);
      const a = inb(UART_SCR);
      outb(UART_SCR, 0x5a);
      const b = inb(UART_SCR);
      outb(UART_SCR, s);
      type = a === 0xa5 && b === 0x5a ? '16450' : '8250';
      break;
    }
    case 1:
      type = 'unknown';
      break;
    case 2:
      type = '16550';
      break;
    default:
      type = autoconfig16550a();
  }
  outb(UART_LCR, saveLcr);
  // Reset the UART as autoconfig does.
  outb(UART_MCR, saveMcr);
  outb(UART_FCR, UART_FCR_ENABLE_FIFO);
  outb(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR | UART_FCR_CLEAR_XMIT);
  outb(UART_FCR, 0);
  inb(UART_RX);
  outb(UART_IER, 0);
  return type;

  function autoconfig16550a(): string {
    outb(UART_LCR, CONF_MODE_A);
    if (inb(UART_EFR) === 0) return '16650 (EFR v1)';
    outb(UART_LCR, CONF_MODE_B);
    if (inb(UART_EFR) === 0) return '16650V2 (EFR v2)';
    // National Semiconductor SuperIO check: EXCR1 mirrors MCR.LOOP on those chips.
    outb(UART_LCR, 0);
    const s1 = inb(UART_MCR);
    outb(UART_LCR, 0xe0);
    let s2 = inb(0x02);
    if (((s2 ^ s1) & UART_MCR_LOOP) === 0) {
      outb(UART_LCR, 0);
      outb(UART_MCR, s1 ^ UART_MCR_LOOP);
      outb(UART_LCR, 0xe0);
      s2 = inb(0x02);
      outb(UART_LCR, 0);
      outb(UART_MCR, s1);
      if (((s2 ^ s1) & UART_MCR_LOOP) !== 0) return 'NS16550A';
    }
    // TI16750: 64-byte FIFO bit 5 of IIR.
    outb(UART_LCR, 0);
    outb(UART_FCR, UART_FCR_ENABLE_FIFO | 0x20);
    const i1 = inb(UART_IIR) >> 5;
    outb(UART_FCR, UART_FCR_ENABLE_FIFO);
    outb(UART_LCR, CONF_MODE_A);
    outb(UART_FCR, UART_FCR_ENABLE_FIFO | 0x20);
    const i2 = inb(UART_IIR) >> 5;
    outb(UART_FCR, UART_FCR_ENABLE_FIFO);
    outb(UART_LCR, 0);
    if (i1 === 6 && i2 === 7) return '16750';
    // XScale UUE bit.
    const iersave = inb(UART_IER);
    outb(UART_IER, iersave & ~0x40);
    if ((inb(UART_IER) & 0x40) === 0) {
      outb(UART_IER, iersave | 0x40);
      if ((inb(UART_IER) & 0x40) !== 0) return 'XScale';
    }
    outb(UART_IER, iersave);
    // size_fifo(): fill in loopback, count how many come back.
    const oldLcr = inb(UART_LCR);
    outb(UART_LCR, 0);
    const oldMcr = inb(UART_MCR);
    outb(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR | UART_FCR_CLEAR_XMIT);
    outb(UART_MCR, UART_MCR_LOOP);
    outb(UART_LCR, CONF_MODE_A);
    const oldDl = inb(UART_DLL) | (inb(UART_DLM) << 8);
    outb(UART_DLL, 1);
    outb(UART_DLM, 0);
    outb(UART_LCR, 0x03);
    for (let c = 0; c < 256; c++) outb(UART_TX, c);
    let count = 0;
    while ((inb(UART_LSR) & UART_LSR_DR) !== 0 && count < 256) {
      inb(UART_RX);
      count++;
    }
    outb(UART_FCR, 0);
    outb(UART_MCR, oldMcr);
    outb(UART_LCR, CONF_MODE_A);
    outb(UART_DLL, oldDl & 0xff);
    outb(UART_DLM, oldDl >> 8);
    outb(UART_LCR, oldLcr);
    return count === 64 ? 'U6_16550A' : `16550A (fifo ${count})`;
  }
}

test('Linux 8250 autoconfig identifies the model as a 16550A with a 16-byte FIFO', () => {
  const u = new Uart16550();
  assert.equal(linuxAutoconfig(u), '16550A (fifo 16)');
  assert.equal(u.read(UART_LSR), UART_LSR_THRE | UART_LSR_TEMT, 'left idle and clean');
  assert.equal(u.irq, false);
});

test('scratch register test (0xa5/0x5a) and IIR FIFO bits follow FCR', () => {
  const u = new Uart16550();
  for (const v of [0xa5, 0x5a]) {
    u.write(UART_SCR, v);
    assert.equal(u.read(UART_SCR), v);
  }
  assert.equal(u.read(UART_IIR), 0x01, 'no FIFO: 8250-style IIR');
  u.write(UART_FCR, UART_FCR_ENABLE_FIFO);
  assert.equal(u.read(UART_IIR), 0xc1);
});

test('loopback mirrors MCR into MSR with delta bits cleared on read', () => {
  const u = new Uart16550();
  assert.equal(u.read(UART_MSR), 0xb0, 'default: CTS, DSR, DCD from a connected peer');
  u.write(UART_MCR, UART_MCR_LOOP);
  assert.equal(u.read(UART_MSR), 0x0b, 'CTS, DSR, DCD dropped: their deltas latched');
  u.write(UART_MCR, UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2 | 0x04);
  assert.equal(u.read(UART_MSR), 0xfb);
  u.write(UART_MCR, UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2);
  assert.equal(u.read(UART_MSR), 0xb0 | 0x04, 'RI trailing edge sets TERI');
  assert.equal(u.read(UART_MSR), 0xb0);
  // A modem status interrupt on a delta.
  u.write(UART_IER, UART_IER_MSI);
  u.write(UART_MCR, UART_MCR_LOOP);
  assert.equal(u.irq, true);
  assert.equal(u.read(UART_IIR) & 0x0f, 0x00);
  u.read(UART_MSR);
  assert.equal(u.irq, false);
});

test('divisor latch is set and read back under DLAB; RX/IER return when DLAB clears', () => {
  const u = new Uart16550();
  u.write(UART_IER, UART_IER_RDI);
  u.write(UART_LCR, UART_LCR_DLAB | UART_LCR_WLEN8);
  u.write(UART_DLL, 0x01);
  u.write(UART_DLM, 0x02);
  assert.equal(u.read(UART_DLL), 0x01);
  assert.equal(u.read(UART_DLM), 0x02);
  assert.equal(u.divisor, 0x0201);
  assert.equal(u.read(UART_LCR), UART_LCR_DLAB | UART_LCR_WLEN8);
  u.write(UART_LCR, UART_LCR_WLEN8);
  assert.equal(u.read(UART_IER), UART_IER_RDI);
  assert.equal(u.rxCount, 0, 'divisor writes did not transmit');
});

test('IER.THRI raises the line; reading IIR acknowledges it; a THR write re-arms it', () => {
  const levels: boolean[] = [];
  const sent: number[] = [];
  const u = new Uart16550({ onIrq: (l) => levels.push(l), backend: { write: (b) => sent.push(b) } });
  u.write(UART_IER, UART_IER_THRI);
  assert.deepEqual(levels, [true]);
  assert.equal(u.read(UART_IIR), 0x02 | 0x00);
  assert.deepEqual(levels, [true, false]);
  assert.equal(u.read(UART_IIR), 0x01);
  u.write(UART_TX, 0x41);
  assert.deepEqual(sent, [0x41]);
  assert.deepEqual(levels, [true, false, true], 'byte sent at once: THR empty again');
  // Disabling THRI drops the line; re-enabling with THR empty raises it (Linux's THRE test).
  u.write(UART_IER, 0);
  u.write(UART_IER, UART_IER_THRI);
  assert.deepEqual(levels, [true, false, true, false, true]);
  const iir1 = u.read(UART_IIR);
  u.write(UART_IER, 0);
  u.write(UART_IER, UART_IER_THRI);
  const iir2 = u.read(UART_IIR);
  assert.equal(iir1 & 0x01, 0);
  assert.equal(iir2 & 0x01, 0, 'THRE re-asserted: no UART_BUG_THRE');
});

test('RX data available fires at the FIFO trigger level (timeout below it in manual mode)', () => {
  const levels: boolean[] = [];
  const u = new Uart16550({ onIrq: (l) => levels.push(l), rxTimeout: 'manual' });
  u.write(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_8);
  u.write(UART_IER, UART_IER_RDI);
  for (let i = 0; i < 7; i++) u.write(UART_TX, 0x30 + i); // mtty loops TX into RX
  assert.equal(u.rxCount, 7);
  assert.deepEqual(levels, [], 'below trigger: quiet');
  assert.equal(u.read(UART_IIR), 0xc1);
  u.write(UART_TX, 0x37);
  assert.deepEqual(levels, [true]);
  assert.equal(u.read(UART_IIR), 0xc4);
  for (let i = 0; i < 5; i++) assert.equal(u.read(UART_RX), 0x30 + i);
  assert.deepEqual(levels, [true, false], 'drained below trigger');
  u.charTimeout();
  assert.equal(u.read(UART_IIR), 0xcc, 'character timeout');
  assert.equal(u.read(UART_RX), 0x35);
  assert.equal(u.read(UART_IIR), 0xc1, 'reading RX clears the timeout');

  // The default 'immediate' timeout reports data below the trigger level at once.
  const v = new Uart16550();
  v.write(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_8);
  v.write(UART_IER, UART_IER_RDI);
  v.receive([0x61]);
  assert.equal(v.read(UART_IIR), 0xcc);
  assert.equal(v.irq, true);
  assert.equal(v.read(UART_RX), 0x61);
  assert.equal(v.irq, false);
});

test('a 17th byte overflows the 16-byte FIFO: OE, line status interrupt, cleared by reading LSR', () => {
  const u = new Uart16550();
  u.write(UART_FCR, UART_FCR_ENABLE_FIFO);
  u.write(UART_IER, UART_IER_RLSI);
  u.receive(Array.from({ length: 17 }, (_, i) => i));
  assert.equal(u.rxCount, 16);
  assert.equal(u.irq, true);
  assert.equal(u.read(UART_IIR), 0xc6);
  assert.equal(u.read(UART_LSR), UART_LSR_DR | UART_LSR_OE | UART_LSR_THRE | UART_LSR_TEMT);
  assert.equal(u.read(UART_LSR) & UART_LSR_OE, 0, 'OE clears on read');
  assert.equal(u.irq, false);
  const got: number[] = [];
  while ((u.read(UART_LSR) & UART_LSR_DR) !== 0) got.push(u.read(UART_RX));
  assert.deepEqual(got, Array.from({ length: 16 }, (_, i) => i), 'the overflowing byte is lost');
});

test('host bytes are ignored in loopback; without FIFOs the holding register is overwritten', () => {
  const u = new Uart16550({ backend: { write: () => {} } });
  u.write(UART_MCR, UART_MCR_LOOP);
  u.receive([1, 2, 3]);
  assert.equal(u.rxCount, 0);
  u.write(UART_MCR, 0);
  u.receive([1, 2]);
  assert.equal(u.read(UART_LSR) & (UART_LSR_DR | UART_LSR_OE), UART_LSR_DR | UART_LSR_OE);
  assert.equal(u.read(UART_RX), 2);
  assert.throws(() => u.read(8), (e: unknown) => VfioError.is(e, 'EINVAL'));
});

test('save/load round trip mid-FIFO preserves registers, FIFO contents and the IRQ line', () => {
  const u = new Uart16550();
  u.write(UART_LCR, UART_LCR_DLAB);
  u.write(UART_DLL, 0x0c);
  u.write(UART_LCR, UART_LCR_WLEN8);
  u.write(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_8);
  u.write(UART_MCR, UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2);
  u.write(UART_SCR, 0x77);
  u.write(UART_IER, UART_IER_RDI | UART_IER_RLSI);
  u.receive([...Buffer.from('hello, world')]);
  assert.equal(u.read(UART_RX), 0x68);
  const rec = u.save();
  assert.equal(rec.version, 1);
  assert.deepEqual(rec.rxFifo, [...Buffer.from('ello, world')]);
  const json = JSON.parse(JSON.stringify(rec)) as unknown;
  const levels: boolean[] = [];
  const v = Uart16550.load(json, { onIrq: (l) => levels.push(l) });
  assert.deepEqual(v.save(), rec);
  assert.deepEqual(levels, [true], 'the restored line is reported');
  assert.equal(v.read(UART_IIR), 0xc4);
  assert.equal(v.read(UART_SCR), 0x77);
  let s = '';
  while ((v.read(UART_LSR) & UART_LSR_DR) !== 0) s += String.fromCharCode(v.read(UART_RX));
  assert.equal(s, 'ello, world');
});

test('load rejects malformed records with EINVAL and leaves state alone', () => {
  const good = new Uart16550().save();
  const bad: unknown[] = [
    null,
    42,
    { ...good, version: 2 },
    { ...good, ier: 256 },
    { ...good, lcr: -1 },
    { ...good, thrIpending: 'yes' },
    { ...good, rxFifo: [1, 2, 300] },
    { ...good, rxFifo: new Array<number>(17).fill(0), fcr: 1 },
    { ...good, rxFifo: [1, 2], fcr: 0 },
    { ...good, scr: undefined },
  ];
  for (const b of bad) assert.throws(() => Uart16550.load(b), (e: unknown) => VfioError.is(e, 'EINVAL'), JSON.stringify(b));
  const u = new Uart16550();
  u.write(UART_SCR, 9);
  assert.throws(() => u.restore({ ...good, scr: 1, rxFifo: [1, 2], fcr: 0 }));
  assert.equal(u.read(UART_SCR), 9);
});
