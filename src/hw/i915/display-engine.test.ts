// The i915 display engine alone: decoding the primary plane from its registers, the flip-done interrupt
// through IER/IMR/IIR and the master control, and the versioned record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioError } from '../../uapi/errno.js';
import { I915Display } from './display-engine.js';
import { programPlane } from './i915.test-kit.js';
import {
  DRM_FORMAT_RGB565,
  DRM_FORMAT_XRGB8888,
  GEN8_DE_PIPE_IER,
  GEN8_DE_PIPE_IIR,
  GEN8_DE_PIPE_IMR,
  GEN8_MASTER_IRQ,
  GEN8_MASTER_IRQ_CONTROL,
  GEN9_PIPE_PLANE1_FLIP_DONE,
  PIPECONF,
  PIPECONF_ENABLE,
  PLANE_CTL,
  PLANE_CTL_ENABLE,
  PLANE_CTL_FORMAT_RGB_565,
  PLANE_CTL_FORMAT_XRGB_8888,
  PLANE_OFFSET,
  PLANE_POS,
  PLANE_STRIDE,
  PLANE_SURF,
} from './i915-regs.js';

test('the primary plane decodes from its registers; off, tiled or odd formats say why', () => {
  const d = new I915Display();
  assert.deepEqual(d.decodePrimary(0), { ok: false, errno: 'ENODEV', reason: 'pipe 0 is off' });
  d.write(PIPECONF(0), PIPECONF_ENABLE);
  assert.equal(d.decodePrimary(0).ok, false);
  programPlane(d, 0, 0x200000, 1024, 768);
  d.write(PLANE_POS(0), (5 << 16) | 7);
  assert.deepEqual(d.decodePrimary(0), {
    ok: true,
    plane: { pipe: 0, base: 0x200000, width: 1024, height: 768, stride: 4096, drmFormat: DRM_FORMAT_XRGB8888, bpp: 4, xPos: 7, yPos: 5 },
  });
  d.write(PLANE_OFFSET(0), (2 << 16) | 3);
  const p = d.decodePrimary(0);
  assert.ok(p.ok);
  assert.equal(p.plane.base, 0x200000 + 2 * 4096 + 3 * 4, 'PLANE_OFFSET moves the first pixel');
  programPlane(d, 1, 0x10000, 640, 480, PLANE_CTL_FORMAT_RGB_565);
  const q = d.decodePrimary(1);
  assert.ok(q.ok);
  assert.deepEqual([q.plane.drmFormat, q.plane.stride], [DRM_FORMAT_RGB565, 1280]);
  d.write(PLANE_CTL(1), PLANE_CTL_ENABLE | (0x8 << 24));
  assert.equal(d.decodePrimary(1).ok ? '' : 'EINVAL', 'EINVAL');
  d.write(PLANE_CTL(1), PLANE_CTL_ENABLE | PLANE_CTL_FORMAT_XRGB_8888 | (1 << 10));
  assert.deepEqual(d.decodePrimary(1), { ok: false, errno: 'EINVAL', reason: 'tiled surfaces are not scanned out here' });
  d.write(PLANE_STRIDE(1), 1);
  d.write(PLANE_CTL(1), PLANE_CTL_ENABLE | PLANE_CTL_FORMAT_XRGB_8888);
  assert.equal(d.decodePrimary(1).ok, false, 'a stride below the width');
  assert.equal(d.decodePrimary(3).ok, false);
});

test('a surface write raises FLIP_DONE in IIR; the line follows IER, IMR and the master control; IIR is write-1-to-clear', () => {
  const levels: boolean[] = [];
  const d = new I915Display((l) => levels.push(l));
  levels.length = 0;
  programPlane(d, 0, 0x1000, 64, 64);
  assert.equal(d.read(GEN8_DE_PIPE_IIR(0)) & GEN9_PIPE_PLANE1_FLIP_DONE, GEN9_PIPE_PLANE1_FLIP_DONE);
  assert.equal(d.level, false, 'masked');
  d.write(GEN8_DE_PIPE_IER(0), GEN9_PIPE_PLANE1_FLIP_DONE);
  d.write(GEN8_DE_PIPE_IMR(0), ~GEN9_PIPE_PLANE1_FLIP_DONE);
  assert.equal(d.level, false, 'master control off');
  d.write(GEN8_MASTER_IRQ, GEN8_MASTER_IRQ_CONTROL);
  assert.equal(d.level, true);
  assert.equal(d.read(GEN8_MASTER_IRQ) >>> 0, (GEN8_MASTER_IRQ_CONTROL | (1 << 16)) >>> 0, 'the master shows pipe A pending');
  d.write(GEN8_DE_PIPE_IIR(0), 0);
  assert.equal(d.level, true, 'writing 0 clears nothing');
  d.write(GEN8_DE_PIPE_IIR(0), GEN9_PIPE_PLANE1_FLIP_DONE);
  assert.equal(d.level, false);
  d.write(PLANE_SURF(0), 0x2000);
  assert.equal(d.level, true, 'the next flip');
  assert.deepEqual(levels, [false, false, false, true, true, false, true], 'one level per recomputation');
});

test('save/load round-trips the registers; a bad record leaves the state alone', () => {
  const d = new I915Display();
  programPlane(d, 2, 0x40000, 800, 600);
  const rec = d.save();
  const e = new I915Display();
  e.load(JSON.parse(JSON.stringify(rec)));
  assert.deepEqual(e.decodePrimary(2), d.decodePrimary(2));
  assert.throws(() => e.load({ ...rec, version: 2 }), (x: unknown) => VfioError.is(x, 'EINVAL'));
  assert.throws(() => e.load({ ...rec, regs: [[0x1234, 1]] }), (x: unknown) => VfioError.is(x, 'EINVAL'));
  assert.throws(() => e.load({ ...rec, regs: [[PLANE_CTL(0), -1]] }), (x: unknown) => VfioError.is(x, 'EINVAL'));
  assert.deepEqual(e.decodePrimary(2), d.decodePrimary(2));
  e.reset();
  assert.equal(e.decodePrimary(2).ok, false);
});
