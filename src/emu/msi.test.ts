// MSI through SET_IRQS: per-vector eventfds for [start, start + count), enable in config space, per-vector masks,
// loopback, vectors past those enabled, and disabling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { close, eventfd } from '../native/index.js';
import { VfioError } from '../uapi/errno.js';
import { VFIO_IRQ_SET_ACTION_TRIGGER } from '../uapi/irq-set.js';
import { PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE, PCI_MSI_FLAGS_QSIZE } from '../uapi/pci-regs.js';
import { fired, setBools, setFds, setNone } from './irq.test-kit.js';
import { openTestDev } from './test-device.test-kit.js';

const T = VFIO_IRQ_SET_ACTION_TRIGGER;

test('MSI: four vectors, each to its eventfd; masks hold and release pending vectors; loopback; disable', async (t) => {
  const { dev, df, done } = openTestDev();
  t.after(done);
  const fds = [eventfd(), eventfd(), eventfd(), eventfd()];
  t.after(() => fds.forEach((fd) => close(fd)));
  const [e0, e1, e2, e3] = fds as [number, number, number, number];
  setFds(df, 1, 0, [e0, e1]);
  const cap = dev.msiCap;
  assert.ok(cap);
  const flags = dev.config.getWord(cap.offset + PCI_MSI_FLAGS);
  assert.notEqual(flags & PCI_MSI_FLAGS_ENABLE, 0, 'SET_IRQS enables MSI as the host kernel would');
  assert.equal((flags & PCI_MSI_FLAGS_QSIZE) >> 4, 1, 'two vectors');
  dev.raiseMsi(1);
  dev.raiseMsi(0);
  dev.raiseMsi(1);
  assert.deepEqual([fired(e0), fired(e1)], [1, 2]);
  assert.throws(() => setFds(df, 1, 2, [e2, e3]), (e: unknown) => VfioError.is(e, 'EINVAL'), 'vectors 2-3 were not enabled');
  assert.equal(dev.triggers.vectors.length, 2);
  setFds(df, 1, 1, [-1]);
  dev.raiseMsi(1);
  assert.equal(fired(e1), 0, 'vector 1 cleared');
  setFds(df, 1, 1, [e1]);
  const mask = cap.maskOffset;
  assert.ok(mask !== undefined);
  dev.config.write(mask, 4, 0b10);
  dev.raiseMsi(1);
  assert.equal(fired(e1), 0, 'masked vector is held pending');
  dev.config.write(mask, 4, 0);
  assert.equal(fired(e1), 1, 'unmasking delivers it');
  setNone(df, 1, 0, 2, T);
  setBools(df, 1, 0, [false, true], T);
  assert.deepEqual([fired(e0), fired(e1)], [1, 2], 'loopback NONE fires all in range, BOOL per vector');
  dev.setIntxLevel(true);
  assert.equal(dev.triggers.intxTrigger, -1);
  setNone(df, 1, 0, 0, T);
  assert.equal(dev.triggers.type, 'none');
  assert.equal(dev.config.getWord(cap.offset + PCI_MSI_FLAGS) & PCI_MSI_FLAGS_ENABLE, 0);
  dev.raiseMsi(0);
  assert.equal(fired(e0), 0);
  setFds(df, 1, 0, [e0, e1, e2, e3]);
  dev.raiseMsi(3);
  assert.equal(fired(e3), 1, 're-enabled with all four');
});

test('an eventfd that fails mid-block unwinds the block and, on enable, the index', async (t) => {
  const { dev, df, done } = openTestDev();
  t.after(done);
  const e0 = eventfd();
  t.after(() => close(e0));
  assert.throws(() => setFds(df, 1, 0, [e0, 0x7ffff0]), (e: unknown) => VfioError.is(e, 'EBADF'));
  assert.equal(dev.triggers.type, 'none');
  assert.deepEqual(dev.triggers.vectors, []);
});
