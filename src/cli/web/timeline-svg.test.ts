// The SVG timeline: one lane per device in order of first appearance, marks in time order with their detail,
// names escaped, an empty run drawn as such.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { timelineSvg } from './timeline-svg.js';

test('lanes per device, marks with time and detail, escaped names', () => {
  const t0 = Date.UTC(2026, 0, 1);
  const svg = timelineSvg([
    { event: 'alloc', name: 'vfio0', driver: 'vfio-mtty', time: t0 },
    { event: 'register', name: 'vfio0', driver: 'vfio-mtty', time: t0 + 10 },
    { event: 'alloc', name: '<x>', driver: 'd', time: t0 + 20 },
    { event: 'request', name: 'vfio0', driver: 'vfio-mtty', value: 2, time: t0 + 100 },
  ]);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  const lanes = [...svg.matchAll(/<g class="lane" data-device="([^"]*)">/g)].map((m) => m[1]);
  assert.deepEqual(lanes, ['vfio0', '&lt;x&gt;']);
  assert.deepEqual([...svg.matchAll(/data-event="(\w+)"/g)].map((m) => m[1]), ['alloc', 'register', 'request', 'alloc']);
  assert.match(svg, /<title>2026-01-01T00:00:00.100Z request vfio0 \(vfio-mtty\) value 2<\/title>/);
  assert.match(svg, /cx="98.0"/, 'the first event at the left edge');
  assert.match(svg, /cx="884.0"/, 'the last at the right edge');
  assert.match(timelineSvg([]), /no life-cycle events/);
});
