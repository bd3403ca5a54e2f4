// End-to-end tests of `vfio-ts trace` and of per-port mtty backends from a config file: the real CLI as
// child processes, a vfio-user client writing the UART, and a UNIX socket on the port's host side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VfioUserClient } from '../vfio-user/client.js';
import { CliProcess, runCli } from './cli.test-kit.js';
import type { TestContextLike } from './cli.test-kit.js';

function tempDir(t: TestContextLike): string {
  const dir = mkdtempSync(join(tmpdir(), 'vfio-ts-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function startServe(t: TestContextLike, dir: string, config: object): Promise<{ server: CliProcess; ctl: string }> {
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const server = new CliProcess(t, ['serve', '--config', 'config.json', '--shutdown-grace', '200'], dir, { VFIO_TS_SANITIZE: '1' });
  await server.waitFor(/Inspect it with/);
  return { server, ctl: join(dir, 'run', 'vfio-ts.ctl') };
}

test('trace streams life-cycle events of devices made while it runs, and stops on SIGINT', async (t) => {
  const dir = tempDir(t);
  const { server, ctl } = await startServe(t, dir, { runDir: 'run', devices: [{ driver: 'mtty', type: '1' }] });
  const trace = new CliProcess(t, ['--ctl', ctl, 'trace'], dir);
  await trace.waitFor(/tracing device life-cycle events/);
  // The trace request is in once the server answers another client after it.
  await runCli(t, ['--ctl', ctl, 'status'], dir);
  const uuid = '11111111-2222-3333-4444-555555555555';
  assert.equal((await runCli(t, ['--ctl', ctl, 'mdev', 'create', 'mtty', 'mtty-2', '--uuid', uuid], dir)).code, 0);
  assert.equal((await runCli(t, ['--ctl', ctl, 'mdev', 'remove', uuid], dir)).code, 0);
  await trace.waitFor(/free +vfio1 +vfio-mtty/);
  const steps = trace.stdout
    .split('\n')
    .filter((l) => / vfio1 /.test(l))
    .map((l) => l.trim().split(/\s+/)[1]);
  assert.deepEqual(steps, ['alloc', 'init', 'register', 'unregister', 'release', 'free']);
  trace.child.kill('SIGINT');
  assert.equal(await trace.exit(), 0, trace.stderr);
  server.child.kill('SIGTERM');
  assert.equal(await server.exit(), 0, server.stderr);
});

test("an mtty port with a UNIX socket backend carries the guest's bytes out and the host's bytes in", async (t) => {
  const dir = tempDir(t);
  const { server } = await startServe(t, dir, { runDir: 'run', devices: [{ driver: 'mtty', type: '2', ports: ['loopback', { unix: 'port1.sock' }] }] });
  const client = await VfioUserClient.connect(join(dir, 'run', 'mtty0.sock'));
  t.after(() => client.destroy());
  const line = connect(join(dir, 'port1.sock'));
  t.after(() => line.destroy());
  await new Promise<void>((resolve, reject) => line.once('connect', resolve).once('error', reject));
  // The kernel completes the connect before the server accepts it: wait for the server to attach the line,
  // or the guest's byte goes out on an idle line and is dropped (as on an unplugged cable).
  await server.waitFor(/host client connected/, 10_000, 'stderr');
  const received = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no byte on the line within 10 s')), 10_000);
    line.once('data', (b: Buffer) => {
      clearTimeout(timer);
      resolve(b.toString('latin1'));
    });
  });
  // BAR1 is port 1: a write to THR (offset 0) goes out on the line.
  await client.regionWrite(1, 0, Buffer.from('Z'));
  assert.equal(await received, 'Z');
  // Bytes from the host side arrive in the receive buffer: LSR (offset 5) shows DR, RBR (offset 0) has the byte.
  line.write('q');
  let lsr = 0;
  for (let i = 0; i < 200 && (lsr & 1) === 0; i++) {
    lsr = (await client.regionRead(1, 5, 1))[0] ?? 0;
    if ((lsr & 1) === 0) await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(lsr & 1, 1, 'LSR.DR set');
  assert.equal((await client.regionRead(1, 0, 1))[0], 'q'.charCodeAt(0));
  await client.close();
  server.child.kill('SIGTERM');
  assert.equal(await server.exit(), 0, server.stderr);
});

test('shutdown asks an attached client to let go, disconnects it after the grace period, and exits 0', async (t) => {
  const dir = tempDir(t);
  const { server } = await startServe(t, dir, { runDir: 'run', requestIntervalMs: 50, devices: [{ driver: 'mtty', type: '1' }] });
  const client = await VfioUserClient.connect(join(dir, 'run', 'mtty0.sock'));
  t.after(() => client.destroy());
  // The client ignores requests: only the grace period gets it off.
  server.child.kill('SIGTERM');
  await client.whenClosed();
  assert.equal(await server.exit(), 0, server.stderr);
  assert.match(server.stderr, /asking its client to let go \(request 0\)/);
  assert.match(server.stderr, /disconnecting them/);
  assert.match(server.stderr, /sanitizer: no leaks, no findings/);
});

test('a second signal forces the exit while shutdown waits', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ runDir: 'run', requestIntervalMs: 50, devices: [{ driver: 'mtty', type: '1' }] }));
  const server = new CliProcess(t, ['serve', '--config', 'config.json', '--shutdown-grace', '60000'], dir);
  await server.waitFor(/Inspect it with/);
  const client = await VfioUserClient.connect(join(dir, 'run', 'mtty0.sock'));
  t.after(() => client.destroy());
  server.child.kill('SIGTERM');
  for (let i = 0; i < 400 && !/request 0/.test(server.stderr); i++) await new Promise((r) => setTimeout(r, 5));
  server.child.kill('SIGTERM');
  assert.equal(await server.exit(), 130);
  assert.match(server.stderr, /SIGTERM again: forcing exit/);
});

test('screenshot writes an mdpy display as PNG; a device without a display, or with no mode set, is refused', async (t) => {
  const dir = tempDir(t);
  const devices = [{ driver: 'mtty', type: '1' }, { driver: 'mdpy', type: 'vga' }, { driver: 'mbochs', type: 'small' }];
  const { server, ctl } = await startServe(t, dir, { runDir: 'run', devices });
  assert.ok(server.stdout.includes(join(dir, 'run', 'mdpy0.sock')), server.stdout);
  assert.ok(server.stdout.includes(join(dir, 'run', 'mbochs0.sock')), server.stdout);
  assert.match(server.stdout, /bochs-drm driver binds 1234:1111/);
  const types = await runCli(t, ['--ctl', ctl, 'mdev', 'types'], dir);
  assert.match(types.stdout, /mdpy +mdpy-vga +\d+ +vfio-pci +mdpy-vga — virtual display, 640x480 framebuffer/);
  const shot = await runCli(t, ['--ctl', ctl, 'screenshot', 'vfio1', '-o', 'screen.png'], dir);
  assert.equal(shot.code, 0, shot.stderr);
  const png = readFileSync(join(dir, 'screen.png'));
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  // IHDR: width and height, big-endian, right after the chunk header.
  assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [640, 480]);
  const refused = await runCli(t, ['--ctl', ctl, 'screenshot', 'vfio0', '-o', 'tty.png'], dir);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /EINVAL: vfio0 \(vfio-mtty\) has no display/);
  const blank = await runCli(t, ['--ctl', ctl, 'screenshot', 'vfio2', '-o', 'bochs.png'], dir);
  assert.equal(blank.code, 1);
  assert.match(blank.stderr, /ENODATA: mbochs scanout/);
  server.child.kill('SIGTERM');
  assert.equal(await server.exit(), 0, server.stderr);
});
