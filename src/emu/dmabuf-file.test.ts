// The dma-buf file of an emulated display: an fd of the calling process's table (installed only from inside a
// device ioctl, as dma_buf_fd uses current->files), mmap of whole pages of the device memory within its size, its
// own hold on that memory (valid after the device's memfd is closed), released with the fd or at process exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Host } from '../base/host.js';
import { close, memfdCreate, mmap, munmap, pwrite } from '../native/index.js';
import { openFdCount } from '../native/fd.test-kit.js';
import { sanitizer } from '../sanitizer/sanitizer.js';
import { VfioError } from '../uapi/errno.js';
import { VfioProcess } from '../vfio/vfio-process.js';
import { withCurrentFdTable } from '../vfio/vfio-file.js';
import { DmabufFile } from './dmabuf-file.js';
import { GfxDmabufTable, gfxDmabufExport } from './gfx-dmabuf.js';
import type { GfxPlaneFb } from './gfx-dmabuf.js';

const fb = (start: number, size: number): GfxPlaneFb => ({ start, drmFormat: 0, drmFormatMod: 0n, width: 16, height: 16, stride: 64, size, xPos: 0, yPos: 0, xHot: 0, yHot: 0 });

test('an exported plane is a file of the calling process over the device pages, valid after the device lets go', (t) => {
  const mark = sanitizer.mark();
  const fds = openFdCount();
  const proc = new VfioProcess(new Host());
  t.after(() => {
    proc.closeAll();
    assert.equal(openFdCount(), fds, 'the dma-buf let go of the memory at exit');
    sanitizer.assertNoLeaks(mark);
  });
  const mem = memfdCreate('device-memory', 4 * 4096);
  pwrite(mem, Uint8Array.of(0xaa, 0xbb), 2 * 4096);
  const obj = new GfxDmabufTable().pick(fb(2 * 4096, 4096 + 1));
  const fd = withCurrentFdTable(proc, () => gfxDmabufExport('test-dmabuf', obj, mem));
  assert.deepEqual(proc.fds(), [fd]);
  assert.equal(obj.exports, 1);
  close(mem);
  const at = proc.mmap(fd, 0, 8192, true);
  assert.equal(at.offset, 2 * 4096);
  const map = mmap(at.fd, at.offset, 8192, true);
  assert.deepEqual([...new Uint8Array(map, 0, 2)], [0xaa, 0xbb], "the device's page, though its memfd is closed");
  munmap(map);
  assert.throws(() => proc.mmap(fd, 0, 3 * 4096, false), (e) => VfioError.is(e, 'EINVAL'), 'two pages only');
  assert.throws(() => proc.mmap(fd, 100, 4096, false), (e) => VfioError.is(e, 'EINVAL'), 'page aligned');
  assert.throws(() => proc.ioctl(fd, 0x3b71), (e) => VfioError.is(e, 'ENOTTY'));
  assert.throws(() => proc.pread(fd, new Uint8Array(4), 0), (e) => VfioError.is(e, 'EINVAL'));
});

test('outside a device ioctl there is no process to install into: EBADF, nothing leaked', () => {
  const mark = sanitizer.mark();
  const fds = openFdCount();
  const mem = memfdCreate('device-memory', 4096);
  const obj = new GfxDmabufTable().pick(fb(0, 64));
  assert.throws(() => gfxDmabufExport('test-dmabuf', obj, mem), (e) => VfioError.is(e, 'EBADF'));
  assert.equal(obj.exports, 0);
  assert.throws(() => new DmabufFile('odd', mem, 100, 4096), (e) => VfioError.is(e, 'EINVAL'));
  close(mem);
  assert.equal(openFdCount(), fds);
  sanitizer.assertNoLeaks(mark);
});
