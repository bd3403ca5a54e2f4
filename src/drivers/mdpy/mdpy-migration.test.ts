// mdpy migration through a process's uAPI: STOP_COPY of a framebuffer the guest drew on (through BAR0 and behind
// it), resumed into another mdpy of the type with the same screenshot and config space; an xga refuses a vga stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Host } from '../../base/host.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { VfioError } from '../../uapi/errno.js';
import { VfioDeviceMigState } from '../../uapi/migration.js';
import { vfioConfigure } from '../../vfio/core-state.js';
import { VfioProcess } from '../../vfio/vfio-process.js';
import { openViaGroup } from '../../vfio/uapi.test-kit.js';
import { mdevCreate, mdevParentType, mdevVfioDevice } from '../../mdev/index.js';
import { pciEmuIndexToOffset } from '../../emu/regions.js';
import { migReadAll, migSet, migWriteAll } from '../../emu/mig-uapi.test-kit.js';
import { MdpyState, mdpyRegister, screenshot } from './index.js';
import { decodePng, pixel, u32le } from './display.test-kit.js';

const { RUNNING, STOP, STOP_COPY, RESUMING } = VfioDeviceMigState;

test('mdpy migrates through the uAPI: the same framebuffer and config space; another type refuses the stream', async (t) => {
  const mark = sanitizer.mark();
  const host = new Host();
  vfioConfigure(host, { requestIntervalMs: 10 });
  const sample = mdpyRegister(host);
  const proc = new VfioProcess(host);
  t.after(async () => {
    proc.closeAll();
    await sample.unregister();
    sanitizer.assertNoLeaks(mark);
  });
  const make = (type: string, n: number): { dev: MdpyState; fd: number } => {
    const ty = mdevParentType(sample.parent, type);
    assert.ok(ty);
    const dev = mdevVfioDevice(mdevCreate(ty, `0000000${n}-0000-4000-8000-00000000000${n}`));
    assert.ok(dev instanceof MdpyState);
    return { dev, fd: openViaGroup(proc, dev).device };
  };
  const src = make('vga', 1);
  const dst = make('vga', 2);
  const xga = make('xga', 3);
  dst.dev.memory.fill(0x11); // the target's own picture is replaced

  // A red 32-pixel square at (10, 20) through BAR0, a green row behind it (an mmap write), BAR0 programmed.
  const red = new Uint8Array(32 * 4);
  for (let i = 0; i < red.length; i += 4) red.set([0, 0, 0xff, 0], i);
  for (let y = 20; y < 52; y++) proc.pwrite(src.fd, red, pciEmuIndexToOffset(0) + (y * 640 + 10) * 4);
  for (let x = 0; x < 640; x++) src.dev.memory.set([0, 0xff, 0, 0], (400 * 640 + x) * 4);
  proc.pwrite(src.fd, u32le(0xd000_0000), pciEmuIndexToOffset(7) + 0x10);

  const out = migSet(proc, src.fd, STOP_COPY);
  const stream = migReadAll(proc, out);
  proc.close(out);
  assert.equal(migSet(proc, src.fd, STOP), -1);

  const refuse = migSet(proc, xga.fd, RESUMING);
  assert.throws(() => migWriteAll(proc, refuse, stream), (e: unknown) => VfioError.is(e, 'EINVAL'), 'vga into xga');
  proc.close(refuse);

  const inFd = migSet(proc, dst.fd, RESUMING);
  migWriteAll(proc, inFd, stream);
  proc.close(inFd);
  migSet(proc, dst.fd, RUNNING);
  const img = decodePng(screenshot(dst.dev));
  assert.deepEqual(pixel(img, 10, 20), [0xff, 0, 0, 0xff], 'red square');
  assert.deepEqual(pixel(img, 100, 400), [0, 0xff, 0, 0xff], 'the row written behind the BAR');
  assert.deepEqual(pixel(img, 0, 0), [0, 0, 0, 0xff], 'the gradient’s black top');
  assert.deepEqual(screenshot(dst.dev), screenshot(src.dev));
  const cfg = new Uint8Array(0x50);
  const cfgSrc = new Uint8Array(0x50);
  proc.pread(dst.fd, cfg, pciEmuIndexToOffset(7));
  proc.pread(src.fd, cfgSrc, pciEmuIndexToOffset(7));
  assert.deepEqual(cfg, cfgSrc, 'config space, BAR0 address included');
  assert.equal(new DataView(cfg.buffer).getUint32(0x10, true), 0xd000_0008);
});
