// The TCP backend: a client connected to the port types bytes into the guest's RX FIFO and receives the guest's TX.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { UART_FCR, UART_FCR_ENABLE_FIFO, UART_LSR, UART_LSR_DR, UART_RX, UART_TX } from '../../hw/uart16550.js';
import { openMtty } from './mtty.test-kit.js';

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await sleep(2);
  assert.ok(cond(), 'condition not reached in time');
}

test('TCP backend on 127.0.0.1: host bytes reach RX, guest TX reaches the client; one client at a time; closed on remove', async (t) => {
  const m = openMtty('1', { ports: [{ kind: 'tcp', port: 0 }] });
  let removed = false;
  t.after(async () => {
    if (!removed) await m.done();
  });
  m.outb(0, UART_FCR, UART_FCR_ENABLE_FIFO);
  const backend = m.dev.backends[0];
  assert.ok(backend);
  await backend.ready;
  const port = backend.address();
  assert.equal(typeof port, 'number');
  const client: Socket = connect({ host: '127.0.0.1', port: Number(port) });
  await once(client, 'connect');
  const received: number[] = [];
  client.on('data', (d: Buffer) => received.push(...d));
  client.write('hi!');
  await until(() => (m.dev.ports[0]?.rxCount ?? 0) === 3);
  const got: number[] = [];
  while (m.inb(0, UART_LSR) & UART_LSR_DR) got.push(m.inb(0, UART_RX));
  assert.equal(Buffer.from(got).toString(), 'hi!');
  for (const c of Buffer.from('ok\n')) m.outb(0, UART_TX, c);
  await until(() => received.length === 3);
  assert.equal(Buffer.from(received).toString(), 'ok\n');
  assert.equal(m.dev.ports[0]?.rxCount, 0, 'TX went out, not back in');

  const second = connect({ host: '127.0.0.1', port: Number(port) });
  second.on('error', () => {});
  await once(second, 'close');

  const closed = once(client, 'close');
  removed = true;
  await m.done();
  await closed;
  const refused = connect({ host: '127.0.0.1', port: Number(port) });
  const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
  assert.equal(err.code, 'ECONNREFUSED', 'the listener is gone');
});

test('UNIX socket backend: the socket file exists while the device does', async () => {
  const { mkdtempSync, existsSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'mtty-'));
  const path = join(dir, 'port0.sock');
  const m = openMtty('1', { ports: [{ kind: 'unix', path }] });
  await m.dev.backends[0]?.ready;
  assert.equal(existsSync(path), true);
  const c = connect(path);
  await once(c, 'connect');
  c.write(Uint8Array.of(0x41));
  await until(() => m.dev.ports[0]?.rxCount === 1);
  assert.equal(m.inb(0, UART_RX), 0x41);
  c.destroy();
  await m.done();
  await sleep(5);
  assert.equal(existsSync(path), false, 'closing the server removed the socket');
  rmSync(dir, { recursive: true });
});
