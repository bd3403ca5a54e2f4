// Tests for the hot path's view cache: the same range gives the same view, another range or buffer a new one,
// and two buffers used in turn keep their views.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ViewCache } from './view-cache.js';

test('a view is remade only when its range changes', () => {
  const cache = new ViewCache();
  const base = Buffer.from([0, 1, 2, 3, 4, 5, 6, 7]);
  const v = cache.view(base, 2, 4);
  assert.deepEqual([...v], [2, 3, 4, 5]);
  assert.equal(v.buffer, base.buffer);
  assert.equal(v.byteOffset, base.byteOffset + 2);
  assert.equal(cache.view(base, 2, 4), v);
  const w = cache.view(base, 2, 3);
  assert.notEqual(w, v);
  assert.deepEqual([...w], [2, 3, 4]);
  assert.deepEqual([...cache.view(base, 0, 0)], []);
});

test('two buffers in turn keep a view each; a third replaces the one used longest ago', () => {
  const cache = new ViewCache();
  const x = Buffer.alloc(8, 1);
  const y = Buffer.alloc(8, 2);
  const z = Buffer.alloc(8, 3);
  const vx = cache.view(x, 0, 4);
  const vy = cache.view(y, 0, 4);
  assert.equal(cache.view(x, 0, 4), vx);
  assert.equal(cache.view(y, 0, 4), vy);
  const vz = cache.view(z, 0, 4);
  assert.deepEqual([...vz], [3, 3, 3, 3]);
  assert.equal(cache.view(y, 0, 4), vy); // y was used last before z: x went
  assert.notEqual(cache.view(x, 0, 4), vx);
});

test('a view of a pooled Buffer starts at its own offset in the shared memory', () => {
  const cache = new ViewCache();
  const pooled = Buffer.from('pooled bytes');
  assert.equal(Buffer.from(cache.view(pooled, 7, 5)).toString(), 'bytes');
});
