// mbochs migration through a process's uAPI (MIG_DEVICE_STATE, the data fd, PRECOPY_INFO): a mode set, pixels and an
// EDID on the source; PRE_COPY's initial VRAM then the pages written during it (through the BAR and behind it, as an
// mmap write); the target shows the same screenshot, mode, EDID and BAR; a small type's stream is refused by medium.
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
import { migPrecopyInfo, migReadAll, migSet, migWriteAll } from '../../emu/mig-uapi.test-kit.js';
import { pageRecordSize } from '../../emu/page-records.js';
import { generateEdid } from '../../hw/edid.js';
import { VBE_DISPI_ENABLED, VBE_DISPI_INDEX_BPP, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_INDEX_XRES, VBE_DISPI_INDEX_YRES, VBE_DISPI_LFB_ENABLED } from '../../hw/bochs-dispi.js';
import { VFIO_DEVICE_GFX_LINK_STATE_UP } from '../../uapi/region-caps.js';
import { u32le } from '../mdpy/display.test-kit.js';
import { MbochsState, mbochsRegister, screenshot } from './index.js';

const { RUNNING, STOP_COPY, RESUMING, PRE_COPY } = VfioDeviceMigState;

test('mbochs migrates mid-use through the uAPI: PRE_COPY VRAM then its dirty pages, same screen, mode, EDID; type checked', async (t) => {
  const mark = sanitizer.mark();
  const host = new Host();
  vfioConfigure(host, { requestIntervalMs: 10 });
  const sample = mbochsRegister(host);
  const proc = new VfioProcess(host);
  t.after(async () => {
    proc.closeAll();
    await sample.unregister();
    sanitizer.assertNoLeaks(mark);
  });
  const make = (type: string, n: number): { dev: MbochsState; fd: number } => {
    const ty = mdevParentType(sample.parent, type);
    assert.ok(ty);
    const dev = mdevVfioDevice(mdevCreate(ty, `0000000${n}-0000-4000-8000-00000000000${n}`));
    assert.ok(dev instanceof MbochsState);
    return { dev, fd: openViaGroup(proc, dev).device };
  };
  const src = make('small', 1);
  const dst = make('small', 2);
  const medium = make('medium', 3);

  // The guest's work: a 64x64x32 mode, pixels through BAR0, an EDID from the VMM, BAR0 programmed.
  const bar = (index: number, off: number, data: Uint8Array): void => void proc.pwrite(src.fd, data, pciEmuIndexToOffset(index) + off);
  const dispi = (index: number, value: number): void => bar(2, 0x500 + index * 2, new Uint8Array(new Uint16Array([value]).buffer));
  dispi(VBE_DISPI_INDEX_XRES, 64);
  dispi(VBE_DISPI_INDEX_YRES, 64);
  dispi(VBE_DISPI_INDEX_BPP, 32);
  dispi(VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED);
  const frame = new Uint8Array(64 * 64 * 4);
  for (let i = 0; i < frame.length; i += 4) frame.set([i & 0xff, (i >> 8) & 0xff, 0x80, 0], i);
  bar(0, 0, frame);
  const edid = generateEdid({ width: 800, height: 600 });
  bar(9, 0x800, edid);
  bar(9, 8, u32le(edid.length));
  bar(9, 20, u32le(VFIO_DEVICE_GFX_LINK_STATE_UP));
  bar(7, 0x10, u32le(0xe000_0000));

  const dataFd = migSet(proc, src.fd, PRE_COPY);
  assert.ok(dataFd >= 0);
  const info0 = migPrecopyInfo(proc, dataFd);
  assert.ok(info0.initialBytes > 16384n && info0.initialBytes < 64n * 1024n, `4 MiB of mostly zero VRAM is small: ${info0.initialBytes}`);
  assert.equal(info0.dirtyBytes, 0n);
  const initial = migReadAll(proc, dataFd);
  assert.equal(BigInt(initial.length), info0.initialBytes);

  // The device keeps running: a row through the BAR (page 0) and a write behind it (page 3, as an mmap write).
  bar(0, 256, new Uint8Array(256).fill(0xee));
  src.dev.memory.fill(0x5a, 3 * 4096 + 16, 3 * 4096 + 512);
  assert.deepEqual(migPrecopyInfo(proc, dataFd), { initialBytes: 0n, dirtyBytes: BigInt(2 * pageRecordSize(1, false)) });
  const dirty = migReadAll(proc, dataFd);
  assert.equal(migSet(proc, src.fd, STOP_COPY), -1, 'PRE_COPY -> STOP_COPY keeps the stream');
  assert.throws(() => migPrecopyInfo(proc, dataFd), (e: unknown) => VfioError.is(e, 'EINVAL'));
  const final = migReadAll(proc, dataFd);
  proc.close(dataFd);
  const stream = Buffer.concat([initial, dirty, final]);

  const refuse = migSet(proc, medium.fd, RESUMING);
  assert.throws(() => proc.write(refuse, stream.subarray(0, 4096)), (e: unknown) => VfioError.is(e, 'EINVAL'), 'small into medium');
  proc.close(refuse);

  const inFd = migSet(proc, dst.fd, RESUMING);
  migWriteAll(proc, inFd, stream, 10_000);
  proc.close(inFd);
  assert.equal(migSet(proc, dst.fd, RUNNING), -1);
  assert.deepEqual(screenshot(dst.dev), screenshot(src.dev), 'the same picture');
  assert.deepEqual(dst.dev.dispiOf().scanout(), src.dev.dispiOf().scanout(), 'the same mode');
  assert.deepEqual(dst.dev.memory.subarray(0, 4 * 4096), src.dev.memory.subarray(0, 4 * 4096));
  assert.equal(dst.dev.edidOf().preferredMode()?.width, 800);
  const cfg = new Uint8Array(4);
  proc.pread(dst.fd, cfg, pciEmuIndexToOffset(7) + 0x10);
  assert.equal(new DataView(cfg.buffer).getUint32(0, true), 0xe000_0008, 'BAR0 address and its prefetchable bit');
  assert.equal(migSet(proc, src.fd, RUNNING), -1, 'the source runs again');
  bar(0, 0, new Uint8Array([1, 2, 3, 4]));
  assert.deepEqual([...src.dev.memory.subarray(0, 4)], [1, 2, 3, 4]);
});
