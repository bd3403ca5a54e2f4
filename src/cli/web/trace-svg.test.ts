// `vfio-ts trace --svg FILE` end to end: the events of an mdev made and removed while tracing, written on Ctrl-C as
// an SVG timeline with that device's lane.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliProcess, runCli } from '../cli.test-kit.js';
import { startWebServe } from './web.test-kit.js';

test('trace --svg writes the lanes of the run on SIGINT', async (t) => {
  const { server, dir, ctl } = await startWebServe(t, { runDir: 'run', devices: [{ driver: 'mtty', type: '1' }] });
  const trace = new CliProcess(t, ['--ctl', ctl, 'trace', '--svg', 'run.svg'], dir);
  await trace.waitFor(/tracing device life-cycle events/);
  // The trace request is in once the server answers another client after it.
  await runCli(t, ['--ctl', ctl, 'status'], dir);
  const uuid = '11111111-2222-3333-4444-555555555555';
  assert.equal((await runCli(t, ['--ctl', ctl, 'mdev', 'create', 'mtty', 'mtty-2', '--uuid', uuid], dir)).code, 0);
  assert.equal((await runCli(t, ['--ctl', ctl, 'mdev', 'remove', uuid], dir)).code, 0);
  await trace.waitFor(/free +vfio1 /);
  trace.child.kill('SIGINT');
  assert.equal(await trace.exit(), 0, trace.stderr);
  assert.match(trace.stdout, /wrote the timeline of 6 events to .*run\.svg/);
  const svg = readFileSync(join(dir, 'run.svg'), 'utf8');
  const lane = /<g class="lane" data-device="vfio1">([\s\S]*?)<\/g>/.exec(svg)?.[1] ?? '';
  assert.deepEqual([...lane.matchAll(/data-event="(\w+)"/g)].map((m) => m[1]), ['alloc', 'init', 'register', 'unregister', 'release', 'free']);
  server.child.kill('SIGTERM');
  assert.equal(await server.exit(), 0, server.stderr);
});
