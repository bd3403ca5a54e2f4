// End-to-end tests of `vfio-ts serve` and the client commands: the real CLI as a child process with its
// sockets in a temp dir, a real vfio-user client reading the mtty's config space, unregister with a REQ
// eventfd, clean shutdown on SIGTERM/SIGINT (sanitizer on), and a bad config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as native from '../native/index.js';
import { VfioUserClient } from '../vfio-user/client.js';
import { VFIO_PCI_CONFIG_REGION_INDEX } from '../uapi/region-info.js';
import { VFIO_PCI_REQ_IRQ_INDEX } from '../uapi/irq-info.js';
import { CliProcess, runCli } from './cli.test-kit.js';
import type { TestContextLike } from './cli.test-kit.js';

const SANITIZE = { VFIO_TS_SANITIZE: '1' };

function tempDir(t: TestContextLike): string {
  const dir = mkdtempSync(join(tmpdir(), 'vfio-ts-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function connectClient(t: TestContextLike, path: string): Promise<VfioUserClient> {
  const c = await VfioUserClient.connect(path);
  t.after(() => c.destroy());
  return c;
}

/** Waits until the eventfd was signalled (the server raised REQ). */
async function waitEventfd(fd: number, ms = 10_000): Promise<bigint> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = native.eventfdRead(fd);
    if (typeof v === 'bigint') return v;
    if (Date.now() > deadline) throw new Error('REQ eventfd was never signalled');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('serve --config: QEMU line, config space over vfio-user, ls, mdev create/remove, unregister with REQ, SIGTERM', async (t) => {
  const dir = tempDir(t);
  const run = join(dir, 'run');
  const config = join(dir, 'vfio-ts.json');
  writeFileSync(config, JSON.stringify({ runDir: 'run', requestIntervalMs: 50, devices: [{ driver: 'mtty', type: '2' }] }));
  const server = new CliProcess(t, ['serve', '--config', config], dir, SANITIZE);
  await server.waitFor(/Inspect it with/);
  const sock = join(run, 'mtty0.sock');
  const ctl = join(run, 'vfio-ts.ctl');
  assert.ok(server.stdout.includes(`on vfio-user socket ${sock}`), server.stdout);
  assert.ok(server.stdout.includes(`control socket ${ctl}`), server.stdout);
  assert.ok(server.stdout.includes(`-device '{"driver":"vfio-user-pci","socket":{"type":"unix","path":"${sock}"},"id":"vfio0"}'`), server.stdout);
  assert.match(server.stdout, /-object memory-backend-memfd,id=mem,size=2048M,share=on/);
  assert.match(server.stdout, /memory-backend=mem/);
  assert.match(server.stdout, /8250_pci driver binds 4348:3253/);
  assert.equal(statSync(ctl).mode & 0o777, 0o600);
  // Logs are pino JSON lines on stderr.
  assert.ok(server.stderr.split('\n').some((l) => l.startsWith('{') && l.includes('"msg":"serving"')), server.stderr);

  // A vfio-user client reads the PCI ids from config space.
  const client = await connectClient(t, sock);
  const ids = await client.regionRead(VFIO_PCI_CONFIG_REGION_INDEX, 0, 4);
  assert.equal(ids.readUInt16LE(0), 0x4348);
  assert.equal(ids.readUInt16LE(2), 0x3253);

  const ls = await runCli(t, ['--ctl', ctl, 'ls', '/sys/class/vfio-dev'], dir);
  assert.equal(ls.code, 0, ls.stderr);
  assert.match(ls.stdout, /^vfio0 -> \/sys\/devices\/.*\/vfio-dev\/vfio0$/m);

  const status = await runCli(t, ['--ctl', ctl, 'status'], dir);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /vfio0 +mtty-2 .* registered, 1 client\(s\)/);

  const types = await runCli(t, ['--ctl', ctl, 'mdev', 'types'], dir);
  assert.equal(types.code, 0, types.stderr);
  assert.match(types.stdout, /mtty +mtty-1 /);

  // mdev create exports the new device; a client can use it; remove takes it away again.
  const uuid = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001';
  const created = await runCli(t, ['--ctl', ctl, 'mdev', 'create', 'mtty', '1', '--uuid', uuid], dir);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, new RegExp(`created mdev ${uuid} \\(mtty-1\\) as vfio1`));
  const newSock = created.stdout.match(/vfio-user socket: (\S+)/)?.[1];
  assert.ok(newSock !== undefined && existsSync(newSock), created.stdout);
  const c2 = await connectClient(t, newSock);
  assert.equal((await c2.regionRead(VFIO_PCI_CONFIG_REGION_INDEX, 0, 2)).readUInt16LE(0), 0x4348);
  await c2.close();
  const removed = await runCli(t, ['--ctl', ctl, 'mdev', 'remove', uuid], dir);
  assert.equal(removed.code, 0, removed.stderr);
  assert.equal(existsSync(newSock), false);
  assert.doesNotMatch((await runCli(t, ['--ctl', ctl, 'ls', '/sys/class/vfio-dev'], dir)).stdout, /vfio1/);

  // unregister with the first client attached: it sees REQ, lets go, and unregister completes.
  const req = native.eventfd();
  t.after(() => native.close(req));
  await client.setIrqs(VFIO_PCI_REQ_IRQ_INDEX, 0, [req]);
  const unreg = new CliProcess(t, ['--ctl', ctl, 'unregister', 'vfio0'], dir);
  assert.ok((await waitEventfd(req)) >= 1n);
  await unreg.waitFor(/vfio0: still in use; request 0 sent/);
  assert.equal(existsSync(sock), false, 'the socket goes when unregister starts');
  await client.close();
  assert.equal(await unreg.exit(), 0, unreg.stderr);
  assert.match(unreg.stdout, /unregistered vfio0/);
  assert.doesNotMatch((await runCli(t, ['--ctl', ctl, 'ls', '/sys/class/vfio-dev'], dir)).stdout, /vfio0/);

  server.child.kill('SIGTERM');
  assert.equal(await server.exit(), 0, server.stderr);
  assert.match(server.stderr, /sanitizer: no leaks, no findings/);
  assert.deepEqual(readdirSync(run), [], 'every socket file is removed');
});

test('serve with no arguments (npm start) serves one mtty under ./run and stops on SIGINT', async (t) => {
  const dir = tempDir(t);
  const server = new CliProcess(t, ['serve'], dir, SANITIZE);
  await server.waitFor(/Inspect it with/);
  const sock = join(dir, 'run', 'mtty0.sock');
  assert.ok(statSync(sock).isSocket());
  assert.ok(server.stdout.includes(sock), server.stdout);
  assert.match(server.stdout, /qemu-system-x86_64/);
  assert.match(server.stdout, /vfio-user-pci/);
  assert.match(server.stdout, /mtty-2/);
  const status = await runCli(t, ['status'], dir);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /vfio0/);
  server.child.kill('SIGINT');
  assert.equal(await server.exit(), 0, server.stderr);
  assert.deepEqual(readdirSync(join(dir, 'run')), []);
});

test('a bad config exits 2 naming the key, without a stack trace', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ devices: [{ driver: 'mtty', type: '2', ports: ['loopback', { tcp: 'x' }] }] }));
  const r = await runCli(t, ['serve', '--config', 'bad.json'], dir);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /devices\[0\]\.ports\[1\]\.tcp: must be an integer/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.equal(existsSync(join(dir, 'run')), false);
  // A type the parent does not have is also a config error on its key (found when the device is made).
  writeFileSync(join(dir, 'bad-type.json'), JSON.stringify({ runDir: 'run', devices: [{ driver: 'mtty', type: '7' }] }));
  const r2 = await runCli(t, ['serve', '--config', 'bad-type.json'], dir);
  assert.equal(r2.code, 2, r2.stderr);
  assert.match(r2.stderr, /devices\[0\]\.type: .*no type '7'/);
  assert.equal(existsSync(join(dir, 'run')), false, 'a failed start removes the run directory it made');
  // A parent no module registered names the parent key; a module option holds (mdpy's count of 1: the second is EUSERS).
  writeFileSync(join(dir, 'bad-parent.json'), JSON.stringify({ runDir: 'run', devices: [{ driver: 'mtty', type: '2', parent: 'nope' }] }));
  const r3 = await runCli(t, ['serve', '--config', 'bad-parent.json'], dir);
  assert.equal(r3.code, 2, r3.stderr);
  assert.match(r3.stderr, /devices\[0\]\.parent: .*no mdev parent 'nope'/);
  const counted = { runDir: 'run', modules: { mdpy: { count: 1 } }, devices: [{ driver: 'mdpy', type: 'vga' }, { driver: 'mdpy', type: 'vga' }] };
  writeFileSync(join(dir, 'counted.json'), JSON.stringify(counted));
  const r4 = await runCli(t, ['serve', '--config', 'counted.json'], dir);
  assert.equal(r4.code, 2, r4.stderr);
  assert.match(r4.stderr, /devices\[1\]: EUSERS: .*no instances available/);
  assert.equal(existsSync(join(dir, 'run')), false);
  // A runDir that is a file is a config error on runDir, not a crash.
  writeFileSync(join(dir, 'blocker'), '');
  writeFileSync(join(dir, 'file-run.json'), JSON.stringify({ runDir: 'blocker/run', devices: [] }));
  const r5 = await runCli(t, ['serve', '--config', 'file-run.json'], dir);
  assert.equal(r5.code, 2, r5.stderr);
  assert.match(r5.stderr, /bad config: runDir: cannot create .*blocker\/run \(ENOTDIR/);
});

test('a second server on a busy run directory stops at its control socket; a stale socket is replaced with a log line', async (t) => {
  const dir = tempDir(t);
  const first = new CliProcess(t, ['serve'], dir, SANITIZE);
  await first.waitFor(/Inspect it with/);
  const second = await runCli(t, ['serve'], dir);
  assert.equal(second.code, 1, second.stderr);
  assert.match(second.stderr, /vfio-ts: .*vfio-ts\.ctl: another server is listening there/);
  assert.doesNotMatch(second.stderr, /bad config/);
  assert.ok(statSync(join(dir, 'run', 'mtty0.sock')).isSocket(), "the first server's sockets are untouched");
  first.child.kill('SIGKILL');
  await first.exit();
  // The killed server left its sockets behind: the next one replaces them and says so.
  const third = new CliProcess(t, ['serve', '--shutdown-grace', '200'], dir, SANITIZE);
  await third.waitFor(/Inspect it with/);
  assert.match(third.stderr, /replaced a stale socket/);
  third.child.kill('SIGTERM');
  assert.equal(await third.exit(), 0, third.stderr);
});

test('client commands without a server fail with a clear message', async (t) => {
  const dir = tempDir(t);
  const r = await runCli(t, ['status'], dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no vfio-ts server is running \(nothing listens on .*run\/vfio-ts\.ctl\)/);
});

test('serve whose stdout reader goes away keeps serving, and still cleans up on SIGTERM', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vfio-ts-epipe-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { spawn } = await import('node:child_process');
  const { MAIN } = await import('./cli.test-kit.js');
  const child = spawn(process.execPath, [MAIN, 'serve'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  // Read the first chunk, then close our end: the server's later writes hit EPIPE (like `vfio-ts serve | head -1`).
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.stdout.destroy();
  const sock = join(dir, 'run', 'mtty0.sock');
  for (let i = 0; i < 200 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(child.exitCode, null, `the server is still running\n${stderr}`);
  const c = await VfioUserClient.connect(sock);
  await c.close();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0, stderr);
  assert.deepEqual(readdirSync(join(dir, 'run')), [], 'sockets removed');
});
