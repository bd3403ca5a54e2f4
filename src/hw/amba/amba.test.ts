// The AMBA bus and its models: a device identified by the PrimeCell ID its hardware reports (amba_read_periphid),
// named `<addr>.<node>`, refused without an ID; id/mask matching and driver_override; the PL011 UART (loopback,
// FIFOs, flags, RX/RT/TX interrupts on its line, a host backend) and the PL061 GPIO (masked data, edge and level
// interrupts) driven through their registers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Host } from '../../base/host.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { IrqLine } from '../platform/irq-line.js';
import { MmioSram } from '../platform/mmio-sram.js';
import { ambaDeviceAdd, ambaDeviceUnregister, ambaDriverRegister, ambaDriverUnregister, ambaLookup } from './amba-bus.js';
import type { AmbaDevice } from './amba-bus.js';
import * as U from './pl011.js';
import * as P from './pl061.js';

const pl011Node = { name: 'pl011', compatible: ['arm,pl011', 'arm,primecell'], reg: [{ base: 0x9000000, size: 0x1000 }], interrupts: [{ line: 33, trigger: 'level' as const }] };

test('an AMBA device is named from its node and identified by the ID registers its hardware reports', async (t) => {
  const mark = sanitizer.mark();
  const host = new Host();
  t.after(() => sanitizer.assertNoLeaks(mark));
  const adev = ambaDeviceAdd(host, pl011Node, new U.Pl011());
  assert.equal(adev.name, '9000000.pl011');
  assert.equal(adev.periphid, U.PL011_PERIPHID);
  assert.equal(host.sysfs.read('/sys/bus/amba/devices/9000000.pl011/id'), '00141011\n');
  assert.equal(host.sysfs.read('/sys/bus/amba/devices/9000000.pl011/irq0'), '33\n');
  assert.match(host.sysfs.read('/sys/bus/amba/devices/9000000.pl011/resource'), /^\t0000000009000000\t0000000009000fff\t/);
  const sram = new MmioSram(4096);
  t.after(() => sram.close());
  assert.throws(() => ambaDeviceAdd(host, { ...pl011Node, name: 'ram', reg: [{ base: 0xa000000, size: 0x1000 }] }, sram), /ENODEV|PrimeCell/);
  // The kernel's pl011 table: 0x00041011 under mask 0x000fffff.
  assert.deepEqual(ambaLookup([{ id: 0x00041011, mask: 0x000fffff }], adev.periphid), { id: 0x00041011, mask: 0x000fffff });
  assert.equal(ambaLookup([{ id: 0, mask: 0 }, { id: 0x00141011, mask: 0xffffffff }], adev.periphid), null, 'the table ends at a zero mask');
  const seen: (AmbaDevice | null)[] = [];
  const uart = ambaDriverRegister(host, { name: 'uart-pl011', idTable: [{ id: 0x00041011, mask: 0x000fffff }], probe: (d) => seen.push(d) });
  assert.deepEqual(seen, [adev], 'bound by id/mask');
  host.sysfs.write('/sys/bus/amba/drivers/uart-pl011/unbind', adev.name);
  const other = ambaDriverRegister(host, { name: 'other', idTable: [{ id: 0, mask: 0 }], probe: (d) => seen.push(d) });
  assert.equal(adev.driver, null);
  host.sysfs.write('/sys/bus/amba/devices/9000000.pl011/driver_override', 'other');
  host.sysfs.write('/sys/bus/amba/drivers/other/bind', adev.name);
  assert.equal(adev.driver, other);
  await ambaDriverUnregister(host, other);
  await ambaDriverUnregister(host, uart);
  await ambaDeviceUnregister(adev);
  assert.equal(host.sysfs.exists('/sys/bus/amba/devices/9000000.pl011'), false);
});

test('PL011: a byte through loopback, flags, RX timeout and RX trigger interrupts, ICR, TX to a backend', () => {
  const uart = new U.Pl011();
  const line = new IrqLine(33, 'level');
  uart.connectIrqs([line]);
  uart.write(0, U.UART01x_DR, 1, 0x41);
  assert.equal(uart.read(0, U.UART01x_FR, 4) & U.UART011_FR_TXFE, 0, 'held in the FIFO while the UART is disabled');
  uart.write(0, U.UART011_CR, 4, U.UART01x_CR_UARTEN | U.UART011_CR_TXE | U.UART011_CR_RXE);
  assert.equal(uart.read(0, U.UART01x_FR, 4) & U.UART01x_FR_RXFE, 0, 'looped back into RX');
  uart.write(0, U.UART011_IMSC, 4, U.UART011_RXIM | U.UART011_RTIM);
  assert.equal(line.level, true, 'one byte, FIFOs off: the RX trigger (1) is reached');
  assert.equal(uart.read(0, U.UART011_MIS, 4), U.UART011_RXIM);
  assert.equal(uart.read(0, U.UART01x_DR, 4), 0x41);
  assert.equal(line.level, false);
  assert.equal(uart.read(0, U.UART01x_FR, 4) & U.UART01x_FR_RXFE, U.UART01x_FR_RXFE);
  uart.write(0, U.UART011_LCRH, 4, U.UART01x_LCRH_FEN);
  uart.receive([1, 2]);
  assert.equal(uart.read(0, U.UART011_MIS, 4), U.UART011_RTIM, 'below the half-full trigger: the RX timeout');
  uart.receive([3, 4, 5, 6, 7, 8]);
  assert.equal(uart.read(0, U.UART011_MIS, 4), U.UART011_RXIM, '8 of 16: the RX trigger');
  uart.write(0, U.UART011_ICR, 4, 0x7ff);
  assert.equal(line.level, false, 'ICR clears the latched causes');
  assert.equal(uart.read(0, U.UART011_RIS, 4) & U.UART011_TXIM, 0);
  const sent: number[] = [];
  const wired = new U.Pl011({ backend: { write: (b) => sent.push(b) } });
  wired.write(0, U.UART011_CR, 4, U.UART01x_CR_UARTEN | U.UART011_CR_TXE | U.UART011_CR_RXE);
  wired.write(0, U.UART01x_DR, 4, 0x5a);
  assert.deepEqual(sent, [0x5a]);
  assert.equal(wired.read(0, U.UART011_RIS, 4) & U.UART011_TXIM, U.UART011_TXIM);
  wired.write(0, U.UART011_CR, 4, U.UART01x_CR_UARTEN | U.UART011_CR_TXE | U.UART011_CR_RXE | U.UART011_CR_LBE);
  wired.write(0, U.UART01x_DR, 4, 0x5b);
  assert.deepEqual(sent, [0x5a], 'CR.LBE loops back even with a backend');
  assert.equal(wired.read(0, U.UART01x_DR, 4), 0x5b);
  assert.equal(uart.read(0, 0xfe0, 4), 0x11, 'PeriphID0');
  assert.equal(uart.read(0, 0xffc, 4), 0xb1, 'CellID3');
});

test('PL061: masked data access, edge and level interrupts on its line, clear', () => {
  const gpio = new P.Pl061();
  const line = new IrqLine(40, 'edge');
  gpio.connectIrqs([line]);
  gpio.write(0, P.GPIODIR, 4, 0x0f);
  gpio.write(0, P.GPIODATA + (0x03 << 2), 4, 0xff);
  assert.equal(gpio.read(0, P.GPIODATA + (0xff << 2), 4), 0x03, 'only the masked bits were written');
  gpio.write(0, P.GPIOIEV, 4, 0x10);
  gpio.write(0, P.GPIOIE, 4, 0x10);
  gpio.setInput(4, true);
  assert.equal(gpio.read(0, P.GPIOMIS, 4), 0x10, 'rising edge on pin 4');
  assert.equal(line.level, true);
  gpio.setInput(4, false);
  assert.equal(gpio.read(0, P.GPIORIS, 4), 0x10, 'latched');
  gpio.write(0, P.GPIOIC, 4, 0x10);
  assert.equal(line.level, false);
  gpio.write(0, P.GPIOIS, 4, 0x20);
  gpio.write(0, P.GPIOIEV, 4, 0x20);
  gpio.write(0, P.GPIOIE, 4, 0x20);
  gpio.setInput(5, true);
  assert.equal(gpio.read(0, P.GPIORIS, 4), 0x20, 'level-sensed: follows the pin');
  gpio.write(0, P.GPIOIC, 4, 0x20);
  assert.equal(gpio.read(0, P.GPIORIS, 4), 0x20, 'a level cause cannot be cleared while the pin is active');
  gpio.setInput(5, false);
  assert.equal(gpio.read(0, P.GPIORIS, 4), 0);
  assert.equal(gpio.read(0, 0xfe0, 4), 0x61);
});
