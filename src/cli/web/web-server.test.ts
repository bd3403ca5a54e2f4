// The web view's HTTP surface against a live `serve --http`: the page and its assets, the state snapshot (buses,
// VFIO devices with their core state), the event stream's backlog, an action, and every kind of bad request
// answered with a status and an errno while the server keeps serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { postControl, rawRequest, startWebServe } from './web.test-kit.js';

interface ErrorBody {
  error: { code: string; message: string };
}

function errorOf(body: string): ErrorBody['error'] {
  const j: unknown = JSON.parse(body);
  assert.ok(typeof j === 'object' && j !== null && 'error' in j);
  const e: unknown = j.error;
  assert.ok(typeof e === 'object' && e !== null && 'code' in e && 'message' in e && typeof e.code === 'string' && typeof e.message === 'string');
  return { code: e.code, message: e.message };
}

/** Reads the event stream until `until` matches what arrived; then hangs up. */
function readEvents(port: number, until: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/api/events', headers: { Host: `127.0.0.1:${port}` } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
        if (until.test(text)) {
          req.destroy();
          resolve(text);
        }
      });
    });
    req.setTimeout(10_000, () => {
      req.destroy();
      reject(new Error('no matching event within 10 s'));
    });
    req.on('error', (err) => (until.test('') ? resolve('') : reject(err)));
    req.end();
  });
}

test('serve --http: page, state, events, an mdev created, and bad requests answered without a crash', async (t) => {
  const { server, port } = await startWebServe(t, { runDir: 'run', requestIntervalMs: 50, devices: [{ driver: 'mtty', type: '2' }] });

  const page = await rawRequest(port, 'GET', '/');
  assert.equal(page.status, 200);
  assert.match(String(page.headers['content-type']), /text\/html/);
  assert.match(page.body, /<script src="\/app.js"><\/script>/);
  assert.doesNotMatch(page.body, /https?:\/\/(?!www\.w3\.org)/, 'nothing is loaded from the network');
  assert.equal((await rawRequest(port, 'GET', '/app.js')).status, 200);
  assert.equal((await rawRequest(port, 'GET', '/app.css')).status, 200);

  const state: unknown = JSON.parse((await rawRequest(port, 'GET', '/api/state')).body);
  assert.ok(typeof state === 'object' && state !== null && 'buses' in state && 'devices' in state && Array.isArray(state.buses) && Array.isArray(state.devices));
  const busNames: unknown[] = state.buses.map((b: unknown) => (typeof b === 'object' && b !== null && 'name' in b ? b.name : null));
  assert.ok(busNames.includes('mdev'), JSON.stringify(busNames));
  const vfio0: unknown = state.devices.find((d: unknown) => typeof d === 'object' && d !== null && 'name' in d && d.name === 'vfio0');
  assert.ok(typeof vfio0 === 'object' && vfio0 !== null);
  assert.deepEqual(
    { ...vfio0, parent: '', socket: '', iommuGroup: 0 },
    { name: 'vfio0', driver: 'vfio-mtty', parent: '', bus: 'mdev', state: 'registered', openCount: 0, registrationCount: 1, deviceSet: ['vfio0'], iommuGroup: 0, clients: 0, socket: '', requests: 0, display: false },
  );
  assert.ok('iommuGroup' in vfio0 && typeof vfio0.iommuGroup === 'number');

  // The backlog carries the run so far.
  const backlog = await readEvents(port, /"event":"register","name":"vfio0"/);
  assert.match(backlog, /"event":"alloc"/);

  // An action through the control table; its events arrive on the stream.
  const live = readEvents(port, /"event":"register","name":"vfio1"/);
  const created = await postControl(port, { cmd: 'mdev-create', parent: 'mtty', type: 'mtty-1' });
  assert.equal(created.status, 200, created.body);
  assert.match(created.body, /"name":"vfio1"/);
  assert.match(await live, /"event":"init","name":"vfio1"/);

  // Bad requests: each answered with a status and an errno.
  const bad: [Promise<{ status: number; body: string }>, number, string][] = [
    [rawRequest(port, 'GET', '/nope'), 404, 'ENOENT'],
    [rawRequest(port, 'PUT', '/api/state'), 405, 'EINVAL'],
    [rawRequest(port, 'GET', '/api/state', { Host: 'evil.example:80' }), 421, 'EACCES'],
    [rawRequest(port, 'POST', '/api/control', { 'Content-Type': 'text/plain' }, '{"cmd":"status"}'), 415, 'EINVAL'],
    [rawRequest(port, 'POST', '/api/control', { 'Content-Type': 'application/json', Origin: 'http://evil.example' }, '{"cmd":"status"}'), 403, 'EACCES'],
    [rawRequest(port, 'POST', '/api/control', { 'Content-Type': 'application/json' }, '{not json'), 400, 'EINVAL'],
    [rawRequest(port, 'POST', '/api/control', { 'Content-Type': 'application/json' }, '[1,2]'), 400, 'EINVAL'],
    [rawRequest(port, 'POST', '/api/control', { 'Content-Type': 'application/json' }, Buffer.alloc(70 * 1024, 0x20)), 413, 'E2BIG'],
    [postControl(port, { cmd: 'format-disk' }), 400, 'EINVAL'],
    [postControl(port, { cmd: 'mdev-create', parent: 7 }), 400, 'EINVAL'],
    [postControl(port, { cmd: 'trace' }), 400, 'EINVAL'],
    [postControl(port, { cmd: 'unregister', device: 'vfio9' }), 404, 'ENODEV'],
    [rawRequest(port, 'GET', '/api/screenshot'), 400, 'EINVAL'],
    [rawRequest(port, 'GET', '/api/screenshot?device=vfio0'), 400, 'EINVAL'],
  ];
  for (const [p, status, code] of bad) {
    const r = await p;
    assert.equal(r.status, status, r.body);
    assert.equal(errorOf(r.body).code, code, r.body);
  }
  // A request line node cannot parse is a 400 from node itself; the server lives on.
  assert.equal((await rawRequest(port, 'GET', '/api/state')).status, 200);

  server.child.kill('SIGTERM');
  assert.equal(await server.exit(), 0, server.stderr);
  assert.match(server.stderr, /sanitizer: no leaks, no findings/);
});
