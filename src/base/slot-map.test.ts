// SlotMap: a string-keyed map with an inline first slot and tombstones for removed keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SlotMap } from './slot-map.js';

test('one key lives inline: set, get, has, delete, reuse of the slot by another key', () => {
  const m = new SlotMap<number>();
  assert.equal(m.size, 0);
  assert.equal(m.get('a'), undefined);
  m.set('a', 1);
  assert.equal(m.get('a'), 1);
  assert.ok(m.has('a'));
  assert.equal(m.get('b'), undefined);
  m.set('a', 2);
  assert.equal(m.size, 1, 'replacing a value does not count twice');
  m.delete('a');
  m.delete('a');
  assert.equal(m.size, 0, 'deleting twice is a no-op');
  assert.ok(!m.has('a'));
  m.set('b', 3);
  assert.deepEqual([...m.keys()], ['b'], 'a tombstone gives its slot to the next key');
  assert.equal(m.get('a'), undefined);
});

test('a second live key moves to a Map, in insertion order, and both stay reachable', () => {
  const m = new SlotMap<string>();
  m.set('x', 'X');
  m.set('y', 'Y');
  m.set('z', 'Z');
  assert.equal(m.size, 3);
  assert.deepEqual([...m.keys()], ['x', 'y', 'z']);
  assert.deepEqual([...m.values()], ['X', 'Y', 'Z']);
  m.delete('y');
  assert.deepEqual([...m.keys()], ['x', 'z']);
  assert.equal(m.size, 2);
  m.set('y', 'Y2');
  assert.equal(m.get('y'), 'Y2');
  assert.equal(m.size, 3);
});

test('tombstones are swept once they outnumber the live entries, without losing a live one', () => {
  const m = new SlotMap<number>();
  m.set('keep', -1);
  for (let i = 0; i < 1000; i++) {
    m.set(`k${i}`, i);
    m.delete(`k${i}`);
  }
  assert.equal(m.size, 1);
  assert.equal(m.get('keep'), -1);
  assert.deepEqual([...m.keys()], ['keep']);
});
