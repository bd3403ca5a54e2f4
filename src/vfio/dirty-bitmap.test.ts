// Tests for the dirty bitmap: ranges, and update_user_bitmap's layout with shifts and leftovers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DirtyBitmap, dirtyBitmapBytes } from './dirty-bitmap.js';

test('user bitmap size is whole u64 words', () => {
  assert.equal(dirtyBitmapBytes(1), 8);
  assert.equal(dirtyBitmapBytes(64), 8);
  assert.equal(dirtyBitmapBytes(65), 16);
});

test('set, clear, test and count over byte boundaries', () => {
  const b = new DirtyBitmap(100);
  b.setRange(5, 30);
  assert.equal(b.count(), 30);
  assert.equal(b.test(4), false);
  assert.equal(b.test(5), true);
  assert.equal(b.test(34), true);
  assert.equal(b.test(35), false);
  b.clearRange(8, 16);
  assert.deepEqual(b.setBits(), [5, 6, 7, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34]);
  assert.throws(() => b.setRange(90, 20));
});

test('copyToUser: little-endian u64 layout, bit offsets, leftover bits kept', () => {
  const dst = new Uint8Array(24);
  const lo = new DirtyBitmap(3);
  lo.setRange(0, 1);
  lo.copyToUser(dst, 0);
  const hi = new DirtyBitmap(70);
  hi.setRange(0, 1);
  hi.setRange(69, 1);
  hi.copyToUser(dst, 3); // shares the first word with `lo`
  assert.equal(dst[0], 0b1001, 'bit 0 from lo kept, bit 3 from hi');
  assert.equal(dst[9], 1 << 0, 'bit 72 = 69 + 3');
  const aligned = new DirtyBitmap(8);
  aligned.setRange(1, 2);
  aligned.copyToUser(dst, 128);
  assert.equal(dst[16], 0b110);
});
