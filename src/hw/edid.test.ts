// Tests for the EDID generator and parser: header, checksum, descriptors, round trips.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioError } from '../uapi/errno.js';
import { EDID_BLOCK_SIZE, EDID_HEADER, generateEdid, parseEdidPreferredMode } from './edid.js';

const sum = (b: Uint8Array): number => b.reduce((a, x) => a + x, 0) % 256;

test('a generated block has the header, version 1.4, digital input and a zero checksum', () => {
  const e = generateEdid({ width: 1024, height: 768 });
  assert.equal(e.length, EDID_BLOCK_SIZE);
  assert.deepEqual([...e.subarray(0, 8)], [...EDID_HEADER]);
  assert.equal(sum(e), 0);
  assert.deepEqual([e[18], e[19]], [1, 4]);
  assert.equal((e[20] ?? 0) & 0x80, 0x80);
  // Manufacturer 'RHT' packed as three 5-bit letters, big-endian.
  assert.equal(((e[8] ?? 0) << 8) | (e[9] ?? 0), (18 << 10) | (8 << 5) | 20);
  // Descriptors 2..4: range limits, monitor name, dummy.
  assert.deepEqual([e[72 + 3], e[90 + 3], e[108 + 3]], [0xfd, 0xfc, 0x10]);
  assert.equal(Buffer.from(e.subarray(95, 108)).toString('latin1'), 'vfio-ts\n     ');
  assert.equal(e[126], 0);
});

test('parse(generate(w, h)) returns (w, h) with a plausible pixel clock and refresh', () => {
  for (const [w, h] of [
    [1024, 768],
    [1920, 1080],
    [640, 480],
    [4095, 2160],
  ] as const) {
    const e = generateEdid({ width: w, height: h, name: 'mbochs' });
    assert.equal(sum(e), 0, `${w}x${h} checksum`);
    const m = parseEdidPreferredMode(e);
    assert.equal(m.width, w);
    assert.equal(m.height, h);
    assert.ok(Math.abs(m.refreshHz - 60) < 0.5, `${w}x${h} refresh ${m.refreshHz}`);
    assert.ok(m.pixelClockKHz > w * h * 60 / 1000, 'clock covers the active area');
    // The range-limit descriptor admits the mode's horizontal frequency.
    const hfreq = m.pixelClockKHz / (w + 160);
    assert.ok((e[72 + 7] ?? 0) <= hfreq && hfreq <= (e[72 + 8] ?? 0));
  }
  const m = parseEdidPreferredMode(generateEdid({ width: 1920, height: 1080 }));
  assert.ok(m.pixelClockKHz > 130_000 && m.pixelClockKHz < 150_000, `1080p60 RB-like clock ${m.pixelClockKHz}`);
});

test('bad input: out-of-range modes are refused, corrupt blocks fail to parse', () => {
  const bad = (f: () => unknown): void => assert.throws(f, (e: unknown) => VfioError.is(e, 'EINVAL'));
  bad(() => generateEdid({ width: 0, height: 480 }));
  bad(() => generateEdid({ width: 4096, height: 480 }));
  bad(() => generateEdid({ width: 640, height: 480, vendor: 'rht' }));
  bad(() => generateEdid({ width: 640, height: 480, name: 'a name that is far too long' }));
  const e = generateEdid({ width: 800, height: 600 });
  bad(() => parseEdidPreferredMode(e.subarray(0, 100)));
  const flipped = Uint8Array.from(e);
  flipped[60] = (flipped[60] ?? 0) ^ 1;
  bad(() => parseEdidPreferredMode(flipped));
  const noHeader = Uint8Array.from(e);
  noHeader[0] = 1;
  noHeader[127] = ((noHeader[127] ?? 0) + 255) % 256;
  bad(() => parseEdidPreferredMode(noHeader));
});
