// SET_IRQS validation: a table of malformed or unsupported requests and the errno the kernel returns for each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { close, eventfd } from '../native/index.js';
import { VfioError } from '../uapi/errno.js';
import {
  VFIO_IRQ_SET_ACTION_MASK,
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_ACTION_UNMASK,
  VFIO_IRQ_SET_DATA_BOOL,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_DATA_NONE,
} from '../uapi/irq-set.js';
import type { VfioIrqSet } from '../uapi/irq-set.js';
import { VFIO_DEVICE_SET_IRQS } from '../uapi/ioctl.js';
import { fileIoctl, openTestDev } from './test-device.test-kit.js';
import { setFds, setIrqs } from './irq.test-kit.js';

const T = VFIO_IRQ_SET_ACTION_TRIGGER;
const M = VFIO_IRQ_SET_ACTION_MASK;
const U = VFIO_IRQ_SET_ACTION_UNMASK;
const NONE = VFIO_IRQ_SET_DATA_NONE;
const BOOL = VFIO_IRQ_SET_DATA_BOOL;
const EFD = VFIO_IRQ_SET_DATA_EVENTFD;

function hdr(flags: number, index: number, start: number, count: number, data = new Uint8Array(0), argsz?: number): VfioIrqSet {
  return { argsz: argsz ?? 20 + data.length, flags, index, start, count, data };
}

test('malformed and unsupported SET_IRQS requests fail with the kernel errno and change nothing', async (t) => {
  const { dev, df, done } = openTestDev();
  t.after(done);
  const efd = eventfd();
  t.after(() => close(efd));
  const fd4 = new Uint8Array(4);
  new DataView(fd4.buffer).setInt32(0, efd, true);
  const cases: [string, VfioIrqSet, string][] = [
    ['argsz below 20', hdr(NONE | T, 0, 0, 1, new Uint8Array(0), 19), 'EINVAL'],
    ['index 5', hdr(NONE | T, 5, 0, 1), 'EINVAL'],
    ['unknown flag bit', hdr(NONE | T | 0x100, 0, 0, 1), 'EINVAL'],
    ['two data types', hdr(NONE | BOOL | T, 0, 0, 1, new Uint8Array(1)), 'EINVAL'],
    ['no data type', hdr(T, 0, 0, 1), 'EINVAL'],
    ['start past the vectors', hdr(NONE | T, 0, 1, 0), 'EINVAL'],
    ['start + count past the vectors', hdr(EFD | T, 1, 2, 3, new Uint8Array(12)), 'EINVAL'],
    ['count overflow', hdr(NONE | T, 1, 1, 0xffffffff), 'EINVAL'],
    ['argsz short of the eventfd data', hdr(EFD | T, 0, 0, 1, fd4, 23), 'EINVAL'],
    ['MSI-X has no vectors', hdr(EFD | T, 2, 0, 1, fd4), 'EINVAL'],
    ['two actions', hdr(NONE | T | M, 0, 0, 1), 'ENOTTY'],
    ['no action', hdr(NONE, 0, 0, 1), 'ENOTTY'],
    ['MSI mask', hdr(NONE | M, 1, 0, 1), 'ENOTTY'],
    ['MSI unmask', hdr(NONE | U, 1, 0, 1), 'ENOTTY'],
    ['ERR mask', hdr(NONE | M, 3, 0, 1), 'ENOTTY'],
    ['REQ unmask', hdr(NONE | U, 4, 0, 1), 'ENOTTY'],
    ['INTx mask while INTx is off', hdr(NONE | M, 0, 0, 1), 'EINVAL'],
    ['INTx unmask while INTx is off', hdr(NONE | U, 0, 0, 1), 'EINVAL'],
    ['INTx loopback while INTx is off', hdr(NONE | T, 0, 0, 1), 'EINVAL'],
    ['MSI loopback while MSI is off', hdr(NONE | T, 1, 0, 1), 'EINVAL'],
    ['REQ loopback with no trigger', hdr(NONE | T, 4, 0, 1), 'EINVAL'],
    ['REQ release with no trigger', hdr(NONE | T, 4, 0, 0), 'EINVAL'],
    ['REQ BOOL with count 0', hdr(BOOL | T, 4, 0, 0), 'EINVAL'],
    ['REQ EVENTFD with count 0', hdr(EFD | T, 4, 0, 0), 'EINVAL'],
    ['INTx eventfd that is not open', hdr(EFD | T, 0, 0, 1, Uint8Array.of(0xf0, 0xff, 0, 0)), 'EBADF'],
  ];
  for (const [what, x, code] of cases) {
    assert.throws(() => setIrqs(df, x), (e: unknown) => VfioError.is(e) && e.code === code, what);
  }
  assert.equal(dev.triggers.type, 'none');
  assert.throws(() => fileIoctl(df, VFIO_DEVICE_SET_IRQS, new Uint8Array(12)), (e: unknown) => VfioError.is(e, 'EINVAL'), 'buffer shorter than the header');
});

test('INTx mask/unmask need start 0 and count 1; MASK with an eventfd is ENOTTY; a second unmask eventfd is EBUSY', async (t) => {
  const { df, done } = openTestDev();
  t.after(done);
  const a = eventfd();
  const b = eventfd();
  t.after(() => {
    close(a);
    close(b);
  });
  setFds(df, 0, 0, [a]);
  assert.throws(() => setIrqs(df, hdr(NONE | M, 0, 0, 0)), (e: unknown) => VfioError.is(e, 'EINVAL'));
  assert.throws(() => setFds(df, 0, 0, [b], M), (e: unknown) => VfioError.is(e, 'ENOTTY'));
  setFds(df, 0, 0, [b], U);
  assert.throws(() => setFds(df, 0, 0, [a], U), (e: unknown) => VfioError.is(e, 'EBUSY'));
  setFds(df, 0, 0, [-1], U);
  setFds(df, 0, 0, [a], U);
  assert.throws(() => setFds(df, 1, 0, [b]), (e: unknown) => VfioError.is(e, 'EINVAL'), 'MSI while INTx is on');
});
