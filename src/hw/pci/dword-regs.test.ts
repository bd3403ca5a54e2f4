// The dword register file helpers: byte lanes of a narrow read, and which writes reach a register.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dwordRegBytes, dwordRegWriteValue } from './dword-regs.js';

test('a narrow read sees its lanes of the dword; a dword read all four, little-endian', () => {
  const v = 0x44332211;
  const one = new Uint8Array(1);
  dwordRegBytes(v, 0x103, one);
  assert.deepEqual([...one], [0x44]);
  const two = new Uint8Array(2);
  dwordRegBytes(v, 0x102, two);
  assert.deepEqual([...two], [0x33, 0x44]);
  const four = new Uint8Array(4);
  dwordRegBytes(v, 0x100, four);
  assert.deepEqual([...four], [0x11, 0x22, 0x33, 0x44]);
});

test('only an aligned dword write has a value; the top bit set stays unsigned', () => {
  assert.equal(dwordRegWriteValue(0x10, Uint8Array.of(0x78, 0x56, 0x34, 0x12)), 0x12345678);
  assert.equal(dwordRegWriteValue(0x10, Uint8Array.of(0, 0, 0, 0x80)), 0x80000000);
  assert.equal(dwordRegWriteValue(0x12, Uint8Array.of(1, 2, 3, 4)), -1, 'unaligned');
  assert.equal(dwordRegWriteValue(0x10, Uint8Array.of(1, 2)), -1, 'narrow');
  assert.equal(dwordRegWriteValue(0x10, new Uint8Array(8)), -1, 'a qword arrives as two dwords');
});
