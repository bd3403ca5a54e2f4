// The wait display: nothing before the first request; plain lines off a terminal; one line rewritten in place on
// one, with the request count and the time waited, cleared at the end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitDisplay } from './wait-progress.js';

test('off a terminal: the heading at the first request, then one line per request', () => {
  const lines: string[] = [];
  const d = waitDisplay((l) => lines.push(l), null, 'unregistering vfio0: waiting', (n) => `request ${n} sent`);
  assert.deepEqual(lines, []);
  d.request(0);
  d.request(1);
  d.done();
  d.done();
  assert.deepEqual(lines, ['unregistering vfio0: waiting', 'request 0 sent', 'request 1 sent']);
});

test('on a terminal: one rewritten line with the count and elapsed time, cleared by done; no plain lines', () => {
  const lines: string[] = [];
  const tty: string[] = [];
  let now = 1000;
  const d = waitDisplay((l) => lines.push(l), { write: (s: string) => tty.push(s) }, 'unregistering vfio0: waiting', (n) => `request ${n}`, () => now);
  d.done();
  assert.deepEqual(tty, [], 'a wait that never started clears nothing');
  d.request(0);
  now = 3500;
  d.request(1);
  d.done();
  assert.deepEqual(lines, []);
  assert.deepEqual(tty, [
    '\r\x1b[K| unregistering vfio0: waiting (1 request sent, 0.0 s)',
    '\r\x1b[K/ unregistering vfio0: waiting (2 requests sent, 2.5 s)',
    '\r\x1b[K',
  ]);
});
