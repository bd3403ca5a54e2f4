// Tests of the addon's eventfd, memfd, positional I/O and mmap/munmap on real fds.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as native from './index.js';

const { EAGAIN } = native;

function mappingsOf(name: string): number {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((l) => l.includes(`/memfd:${name}`)).length;
}

test('eventfd counter: two writes of 1 read back as 2, then -EAGAIN', (t) => {
  const fd = native.eventfd();
  t.after(() => native.close(fd));
  assert.equal(native.eventfdWrite(fd), 0);
  assert.equal(native.eventfdWrite(fd, 1), 0);
  assert.equal(native.eventfdRead(fd), 2n);
  assert.equal(native.eventfdRead(fd), -EAGAIN);
});

test('eventfd with EFD_SEMAPHORE hands out the count one at a time', (t) => {
  const fd = native.eventfd(2, native.EFD_SEMAPHORE | native.EFD_NONBLOCK | native.EFD_CLOEXEC);
  t.after(() => native.close(fd));
  assert.equal(native.eventfdRead(fd), 1n);
  assert.equal(native.eventfdRead(fd), 1n);
  assert.equal(native.eventfdRead(fd), -EAGAIN);
});

test('memfd: pread/pwrite and a shared mapping see the same bytes both ways', (t) => {
  const fd = native.memfdCreate('vfio-test-rw', 8192);
  t.after(() => native.close(fd));
  assert.equal(native.fstatSize(fd), 8192);
  assert.equal(native.pwrite(fd, Uint8Array.of(1, 2, 3), 4096), 3);
  const ab = native.mmap(fd, 0, 8192, true);
  t.after(() => native.munmap(ab));
  const view = new Uint8Array(ab);
  assert.deepEqual([...view.subarray(4096, 4099)], [1, 2, 3]);
  view.set([9, 8, 7], 100);
  const back = new Uint8Array(3);
  assert.equal(native.pread(fd, back, 100n), 3);
  assert.deepEqual([...back], [9, 8, 7]);
  assert.equal(native.pread(fd, new Uint8Array(16), 8190), 2); // short only at EOF
  native.ftruncate(fd, 4096);
  assert.equal(native.fstatSize(fd), 4096);
});

test('munmap detaches the buffer and unmaps; a second munmap is a no-op', (t) => {
  const fd = native.memfdCreate('vfio-test-unmap', 4096);
  t.after(() => native.close(fd));
  const ab = native.mmap(fd, 0, 4096, false);
  const view = new Uint8Array(ab);
  assert.equal(mappingsOf('vfio-test-unmap'), 1);
  native.munmap(ab);
  assert.equal(ab.byteLength, 0);
  assert.equal(view.length, 0);
  assert.equal(mappingsOf('vfio-test-unmap'), 0);
  native.munmap(ab);
  assert.throws(() => native.munmap(new ArrayBuffer(8)), TypeError);
});

test('mmap failures throw NativeError', (t) => {
  const fd = native.memfdCreate('vfio-test-fail', 4096);
  t.after(() => native.close(fd));
  assert.throws(() => native.mmap(fd, 100, 4096, false), (e: unknown) => native.NativeError.is(e, 'EINVAL'));
  assert.throws(() => native.mmap(-1, 0, 4096, false), (e: unknown) => native.NativeError.is(e, 'EBADF'));
  assert.throws(() => native.pread(fd, new Uint8Array(1), 1.5), TypeError);
});
