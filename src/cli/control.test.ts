// Tests for the control socket: a real ControlServer on a UNIX socket in a temp dir with a recording
// handler table, driven by the real client (framing, progress, errors, trace streams, 0600, stale files).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import * as native from '../native/index.js';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../base/log.js';
import { VfioError } from '../uapi/errno.js';
import { ControlServer } from './control-server.js';
import type { ControlHandlers } from './control-server.js';
import { ControlError, controlRequest } from './control-client.js';
import type { JsonValue } from './control-protocol.js';
import { decodeRequest } from './control-protocol.js';
import { LineReader } from './socket-files.js';

function handlers(calls: string[]): ControlHandlers {
  return {
    status: () => ({ pid: 1 }),
    ls: (req) => {
      calls.push(`ls ${req.path}`);
      if (req.path === '/nope') throw new VfioError('ENOENT', '/nope');
      return ['a/', 'b'];
    },
    'mdev-types': () => [],
    'mdev-create': (req) => {
      calls.push(`create ${req.parent} ${req.type} ${req.uuid ?? '-'}`);
      return { ok: true };
    },
    'mdev-remove': () => {
      throw new Error('internal bug');
    },
    unregister: async (req, ctx) => {
      for (let i = 0; i < 3; i++) {
        ctx.progress({ request: i });
        await new Promise((r) => setTimeout(r, 5));
      }
      return { name: req.device };
    },
    trace: (_req, ctx) =>
      new Promise((resolve) => {
        let n = 0;
        const timer = setInterval(() => ctx.event({ n: n++ }), 2);
        ctx.signal.addEventListener('abort', () => {
          clearInterval(timer);
          calls.push('trace stopped');
          resolve(null);
        });
      }),
    screenshot: () => ({ png: 'AA==' }),
    lspci: () => [{ bdf: '0000:00:03.0' }],
    bind: (req) => {
      calls.push(`bind ${req.device} ${req.driver}`);
      return { ok: true };
    },
    unbind: (req) => ({ device: req.device }),
  };
}

async function startServer(t: { after(fn: () => unknown): void }): Promise<{ dir: string; path: string; server: ControlServer; calls: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'vfio-ts-ctl-'));
  const path = join(dir, 'run', 'test.ctl');
  const calls: string[] = [];
  const server = await ControlServer.listen(path, handlers(calls), silentLogger);
  t.after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, path, server, calls };
}

test('requests get results; errors keep their errno; bugs are EIO', async (t) => {
  const { path, calls } = await startServer(t);
  assert.deepEqual(await controlRequest(path, { cmd: 'ls', path: '/sys/class' }), ['a/', 'b']);
  assert.deepEqual(await controlRequest(path, { cmd: 'mdev-create', parent: 'mtty', type: '2', uuid: 'u' }), { ok: true });
  await assert.rejects(controlRequest(path, { cmd: 'ls', path: '/nope' }), (e: unknown) => e instanceof ControlError && e.code === 'ENOENT');
  await assert.rejects(controlRequest(path, { cmd: 'mdev-remove', uuid: 'x' }), (e: unknown) => e instanceof ControlError && e.code === 'EIO' && /internal bug/.test(e.message));
  assert.deepEqual(calls, ['ls /sys/class', 'create mtty 2 u', 'ls /nope']);
});

test('the socket is mode 0600 and close removes it', async (t) => {
  const { path, server } = await startServer(t);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  await server.close();
  await server.close();
  assert.equal(existsSync(path), false);
});

test('progress lines arrive before the result', async (t) => {
  const { path } = await startServer(t);
  const seen: JsonValue[] = [];
  const r = await controlRequest(path, { cmd: 'unregister', device: 'vfio0' }, { onProgress: (p) => seen.push(p) });
  assert.deepEqual(seen, [{ request: 0 }, { request: 1 }, { request: 2 }]);
  assert.deepEqual(r, { name: 'vfio0' });
});

test('a trace streams events until the client hangs up, and the server notices', async (t) => {
  const { path, calls } = await startServer(t);
  const ac = new AbortController();
  const events: JsonValue[] = [];
  const done = controlRequest(path, { cmd: 'trace' }, { signal: ac.signal, onEvent: (e) => {
    events.push(e);
    if (events.length === 3) ac.abort();
  } });
  assert.equal(await done, null);
  assert.deepEqual(events.slice(0, 3), [{ n: 0 }, { n: 1 }, { n: 2 }]);
  for (let i = 0; i < 100 && !calls.includes('trace stopped'); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(calls.includes('trace stopped'));
});

test('malformed requests are answered with EINVAL and the connection stays usable', async (t) => {
  const { path } = await startServer(t);
  const s = connect(path);
  t.after(() => s.destroy());
  s.setEncoding('utf8');
  const reader = new LineReader(1 << 20);
  const lines: string[] = [];
  s.on('data', (c: string) => lines.push(...reader.push(c)));
  s.write('not json\n{"id":7,"cmd":"reboot"}\n{"id":8,"cmd":"ls","path":""}\n{"id":9,"cmd":"status"}\n');
  for (let i = 0; i < 200 && lines.length < 4; i++) await new Promise((r) => setTimeout(r, 5));
  const replies: unknown[] = lines.map((l): unknown => JSON.parse(l));
  assert.deepEqual(replies[0], { id: 0, type: 'error', code: 'EINVAL', message: 'request is not JSON' });
  assert.deepEqual(replies[1], { id: 7, type: 'error', code: 'EINVAL', message: 'unknown command "reboot"' });
  assert.deepEqual(replies[2], { id: 8, type: 'error', code: 'EINVAL', message: "ls: 'path' must be a non-empty string" });
  assert.deepEqual(replies[3], { id: 9, type: 'result', data: { pid: 1 } });
});

test('no server: a clear error naming the path', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vfio-ts-ctl-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'none.ctl');
  await assert.rejects(controlRequest(path, { cmd: 'status' }), (e: unknown) => e instanceof ControlError && e.code === 'ENOENT' && e.message.includes(path) && /no vfio-ts server is running/.test(e.message));
});

test('a stale socket file is replaced; a live one or a regular file is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vfio-ts-ctl-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // A socket file whose server is gone without unlinking it (a crash): replaced.
  const stale = join(dir, 'stale.ctl');
  native.close(native.unixListen(stale));
  const replaced = await ControlServer.listen(stale, handlers([]), silentLogger);
  t.after(() => replaced.close());
  assert.deepEqual(await controlRequest(stale, { cmd: 'status' }), { pid: 1 });
  // A live server: refused, and left alone.
  const live = await ControlServer.listen(stale, handlers([]), silentLogger).catch((e: unknown) => e);
  assert.ok(live instanceof VfioError && live.code === 'EADDRINUSE', String(live));
  assert.deepEqual(await controlRequest(stale, { cmd: 'status' }), { pid: 1 });
  writeFileSync(join(dir, 'file.ctl'), 'x');
  await assert.rejects(ControlServer.listen(join(dir, 'file.ctl'), handlers([]), silentLogger), (e: unknown) => VfioError.is(e, 'EEXIST'));
});

test('decodeRequest fills defaults and checks argument types', () => {
  assert.deepEqual(decodeRequest('{"id":1,"cmd":"ls"}'), { id: 1, request: { cmd: 'ls', path: '/sys' } });
  assert.deepEqual(decodeRequest('{"id":2,"cmd":"mdev-create","parent":"mtty","type":"2"}'), { id: 2, request: { cmd: 'mdev-create', parent: 'mtty', type: '2' } });
  assert.throws(() => decodeRequest('{"id":-1,"cmd":"ls"}'), /id/);
  assert.throws(() => decodeRequest('{"id":1,"cmd":"unregister","device":5}'), /'device' must be a non-empty string/);
  assert.deepEqual(decodeRequest('{"id":3,"cmd":"bind","device":"0000:00:03.0","driver":"vfio-pci"}'), {
    id: 3,
    request: { cmd: 'bind', device: '0000:00:03.0', driver: 'vfio-pci' },
  });
  assert.throws(() => decodeRequest('{"id":4,"cmd":"bind","device":"0000:00:03.0"}'), /bind: 'driver' must be a non-empty string/);
  assert.deepEqual(decodeRequest('{"id":5,"cmd":"lspci"}'), { id: 5, request: { cmd: 'lspci' } });
});

test('LineReader joins split lines and refuses endless ones', () => {
  const r = new LineReader(10);
  assert.deepEqual(r.push('ab'), []);
  assert.deepEqual(r.push('c\nde\nf'), ['abc', 'de']);
  assert.deepEqual(r.push('\n'), ['f']);
  assert.throws(() => r.push('x'.repeat(11)), /longer than 10/);
});
