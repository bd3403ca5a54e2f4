// Migration v2 of mtty: save mid-FIFO from one device (STOP_COPY, and the PRE_COPY path), resume into another
// device on another host; both UARTs' registers and FIFO contents come out identical.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioError } from '../../uapi/errno.js';
import { VfioDeviceMigState, isVfioDeviceMigState } from '../../uapi/migration.js';
import { migPath } from '../../vfio/migration-fsm.js';
import type { VfioMigrationFile } from '../../vfio/vfio-ops.js';
import { opsOf } from '../../vfio/vfio-device.js';
import { UART_DLL, UART_FCR, UART_FCR_ENABLE_FIFO, UART_IER, UART_LCR, UART_LCR_DLAB, UART_LSR, UART_LSR_DR, UART_MCR, UART_MCR_LOOP, UART_RX, UART_SCR, UART_TX } from '../../hw/uart16550.js';
import type { MttyState } from './mtty.js';
import { openMtty } from './mtty.test-kit.js';
import type { OpenMtty } from './mtty.test-kit.js';

const { STOP, RUNNING, STOP_COPY, RESUMING, PRE_COPY } = VfioDeviceMigState;

function drive(dev: MttyState, target: number): VfioMigrationFile | null {
  const ops = opsOf(dev);
  let file: VfioMigrationFile | null = null;
  const cur = ops.migrationGetState?.(dev) ?? RUNNING;
  assert.ok(isVfioDeviceMigState(cur));
  for (const s of migPath(dev.migrationFlags, cur, target)) {
    file = ops.migrationSetState?.(dev, s) ?? file;
  }
  return file;
}

function readAll(f: VfioMigrationFile): Uint8Array {
  const out: number[] = [];
  const buf = new Uint8Array(64);
  for (let n = f.read?.(buf) ?? 0; n > 0; n = f.read?.(buf) ?? 0) out.push(...buf.subarray(0, n));
  return Uint8Array.from(out);
}

function program(m: OpenMtty): void {
  m.outb(0, UART_LCR, UART_LCR_DLAB);
  m.outb(0, UART_DLL, 3);
  m.outb(0, UART_LCR, 0x1b);
  m.outb(0, UART_FCR, UART_FCR_ENABLE_FIFO | 0x40);
  m.outb(0, UART_MCR, UART_MCR_LOOP | 0x0b);
  m.outb(0, UART_IER, 0x05);
  m.outb(0, UART_SCR, 0x77);
  for (const b of [10, 20, 30, 40, 50, 60, 70]) m.outb(0, UART_TX, b);
  assert.equal(m.inb(0, UART_RX), 10, 'read one: the FIFO is mid-way');
  m.outb(1, UART_SCR, 0x99);
  m.outb(1, UART_FCR, UART_FCR_ENABLE_FIFO);
  m.outb(1, UART_MCR, UART_MCR_LOOP);
  m.outb(1, UART_TX, 0xab);
}

function drain(m: OpenMtty, bar: number): number[] {
  const out: number[] = [];
  while (m.inb(bar, UART_LSR) & UART_LSR_DR) out.push(m.inb(bar, UART_RX));
  return out;
}

test('STOP_COPY mid-FIFO resumes into a device on another host with identical registers and FIFOs', async (t) => {
  const src = openMtty('2');
  t.after(src.done);
  const dst = openMtty('2');
  t.after(dst.done);
  assert.notEqual(src.host, dst.host);
  program(src);
  const size = opsOf(src.dev).migrationGetDataSize?.(src.dev) ?? 0n;
  const saving = drive(src.dev, STOP_COPY);
  assert.ok(saving);
  const stream = readAll(saving);
  assert.equal(BigInt(stream.length), size, 'get_data_size matches the stream');
  drive(src.dev, STOP);
  const resuming = drive(dst.dev, RESUMING);
  assert.ok(resuming);
  for (let i = 0; i < stream.length; i += 100) resuming.write?.(stream.subarray(i, i + 100));
  drive(dst.dev, RUNNING);
  assert.deepEqual(dst.dev.ports.map((p) => p.save()), src.dev.ports.map((p) => p.save()));
  assert.deepEqual(drain(dst, 0), [20, 30, 40, 50, 60, 70]);
  assert.deepEqual(drain(dst, 1), [0xab]);
  assert.equal(dst.inb(0, UART_SCR), 0x77);
  assert.equal(dst.dev.ports[0]?.divisor, 3);
});

test('PRE_COPY then STOP_COPY on one stream; a stream for the 1-port type is refused by a 2-port device', async (t) => {
  const src = openMtty('2');
  t.after(src.done);
  const dst = openMtty('2');
  t.after(dst.done);
  const one = openMtty('1');
  t.after(one.done);
  program(src);
  const f = drive(src.dev, PRE_COPY);
  assert.ok(f);
  assert.ok((f.precopyInfo?.().initialBytes ?? 0n) > 0n);
  const part1 = readAll(f);
  src.outb(0, UART_TX, 80);
  assert.equal(drive(src.dev, STOP_COPY), null, 'the PRE_COPY stream continues');
  const stream = Uint8Array.from([...part1, ...readAll(f)]);
  drive(dst.dev, RESUMING)?.write?.(stream);
  drive(dst.dev, STOP);
  assert.deepEqual(drain(dst, 0), [20, 30, 40, 50, 60, 70, 80]);
  const r = drive(one.dev, RESUMING);
  r?.write?.(stream.subarray(0, Math.min(stream.length, 1 << 19)));
  assert.throws(() => opsOf(one.dev).migrationSetState?.(one.dev, STOP), (e: unknown) => VfioError.is(e, 'EINVAL'));
});
