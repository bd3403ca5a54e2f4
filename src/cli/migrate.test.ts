// `vfio-ts migrate` between two spawned servers: an mtty whose receive FIFO is half drained continues on the
// target with the bytes it had; another kind of device (a two-port mtty) is refused and the source keeps its state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VfioUserClient } from '../vfio-user/client.js';
import { CliProcess, runCli } from './cli.test-kit.js';

const BAR0 = 0;
const UART_RX = 0;
const UART_FCR = 2;
const UART_MCR = 4;
const UART_LSR = 5;
const UART_FCR_ENABLE_FIFO = 0x01;
const UART_MCR_LOOP = 0x10;
const UART_LSR_DR = 0x01;

async function serve(t: { after(fn: () => unknown): void }, devices: unknown[]): Promise<{ dir: string; sock: (name: string) => string }> {
  const dir = mkdtempSync(join(tmpdir(), 'vfio-ts-mig-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'c.json'), JSON.stringify({ runDir: 'run', devices }));
  const server = new CliProcess(t, ['serve', '--config', 'c.json'], dir);
  await server.waitFor(/Inspect it with/);
  return { dir, sock: (name) => join(dir, 'run', `${name}.sock`) };
}

async function drain(c: VfioUserClient): Promise<string> {
  let s = '';
  while (((await c.regionRead(BAR0, UART_LSR, 1))[0] ?? 0) & UART_LSR_DR) s += (await c.regionRead(BAR0, UART_RX, 1)).toString('latin1');
  return s;
}

test('vfio-ts migrate: an mtty with a half-drained FIFO continues on another server; a wrong kind is refused', async (t) => {
  const a = await serve(t, [{ driver: 'mtty', type: '1' }]);
  const b = await serve(t, [{ driver: 'mtty', type: '1' }, { driver: 'mtty', type: '2' }]);
  const src = a.sock('mtty0');

  // A guest's work, left mid-way: four bytes looped into the FIFO, one read.
  const guest = await VfioUserClient.connect(src);
  await guest.regionWrite(BAR0, UART_FCR, Buffer.of(UART_FCR_ENABLE_FIFO));
  await guest.regionWrite(BAR0, UART_MCR, Buffer.of(UART_MCR_LOOP));
  for (const ch of 'wxyz') await guest.regionWrite(BAR0, UART_RX, Buffer.from(ch));
  assert.equal((await guest.regionRead(BAR0, UART_RX, 1)).toString(), 'w');
  await guest.close();

  const refused = await runCli(t, ['migrate', '--from', src, '--to', b.sock('mtty1')], a.dir);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /not the same kind of device.*\(the source device keeps running\)/);

  const ok = await runCli(t, ['migrate', '--from', src, '--to', b.sock('mtty0')], a.dir);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, new RegExp(`^migrated ${src} -> ${b.sock('mtty0')}$`, 'm'));
  assert.match(ok.stdout, /device state: \d+ B \(\d+ B pre-copy in \d+ round\(s\), \d+ B at stop-copy\)/);
  assert.match(ok.stdout, /downtime \d+\.\d+ ms, total \d+\.\d+ ms/);

  const target = await VfioUserClient.connect(b.sock('mtty0'));
  t.after(() => target.close());
  assert.equal(await drain(target), 'xyz', 'the target has the bytes the source had not delivered');

  const json = await runCli(t, ['migrate', '--from', b.sock('mtty0'), '--to', src, '--json'], a.dir);
  assert.equal(json.code, 1, 'the target device is held by a client');
  assert.match(json.stderr, /cannot connect to the source/);
});

test('vfio-ts migrate: an mdpy framebuffer drawn by a client shows on the other server', async (t) => {
  const a = await serve(t, [{ driver: 'mdpy', type: 'vga' }]);
  const b = await serve(t, [{ driver: 'mdpy', type: 'vga' }]);
  const src = a.sock('mdpy0');
  const dst = b.sock('mdpy0');
  // A blue 64-pixel line at row 100 over mdpy's gray gradient.
  const line = Buffer.alloc(64 * 4);
  for (let i = 0; i < line.length; i += 4) line.set([0xff, 0, 0, 0], i);
  const guest = await VfioUserClient.connect(src);
  await guest.regionWrite(BAR0, 100 * 640 * 4, line);
  const before = await guest.regionRead(BAR0, 99 * 640 * 4, 3 * 640 * 4);
  await guest.close();

  const ok = await runCli(t, ['migrate', '--from', src, '--to', dst], a.dir);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, new RegExp(`^migrated ${src} -> ${dst}$`, 'm'));
  const target = await VfioUserClient.connect(dst);
  t.after(() => target.close());
  assert.deepEqual(await target.regionRead(BAR0, 99 * 640 * 4, 3 * 640 * 4), before, 'the gradient rows and the line');
  assert.deepEqual([...(await target.regionRead(BAR0, 100 * 640 * 4, 4))], [0xff, 0, 0, 0]);
});
