// Eventfds given to SET_IRQS are dup'd and every dup is closed on replace, disable and closeDevice: /proc/self/fd
// holds the same descriptors before and after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { close, eventfd, eventfdRead, eventfdWrite, socketpair } from '../native/index.js';
import { VfioError } from '../uapi/errno.js';
import { signalEventfd, takeEventfd } from './irq-triggers.js';
import { openFdCount } from '../native/fd.test-kit.js';
import { VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_ACTION_UNMASK } from '../uapi/irq-set.js';
import { setFds, setNone } from './irq.test-kit.js';
import { openTestDev } from './test-device.test-kit.js';

test('every dup taken by SET_IRQS is closed when replaced, disabled and at closeDevice', async () => {
  const fds = Array.from({ length: 6 }, () => eventfd());
  const [a, b, c, d, e, f] = fds as [number, number, number, number, number, number];
  const before = openFdCount();
  const { dev, df, done } = openTestDev();
  setFds(df, 0, 0, [a]);
  setFds(df, 0, 0, [b]);
  setFds(df, 0, 0, [c], VFIO_IRQ_SET_ACTION_UNMASK);
  setFds(df, 3, 0, [d]);
  setFds(df, 3, 0, [e]);
  setFds(df, 4, 0, [f]);
  // The test device's memfd, plus one dup each for INTx, unmask, ERR and REQ.
  assert.equal(openFdCount(), before + 1 + 4);
  setNone(df, 0, 0, 0, VFIO_IRQ_SET_ACTION_TRIGGER);
  assert.equal(openFdCount(), before + 1 + 2, 'disabling INTx closed the trigger and unmask dups');
  setFds(df, 1, 0, [a, b, c, d]);
  assert.equal(openFdCount(), before + 1 + 2 + 4);
  setFds(df, 1, 0, [e, f]);
  assert.equal(openFdCount(), before + 1 + 2 + 4, 'replacing vectors closes the old dups');
  assert.equal(dev.triggers.type, 'msi');
  await done();
  assert.equal(openFdCount(), before, 'nothing leaked after close and release');
  for (const fd of fds) close(fd);
});

test('only eventfds are taken (EINVAL for a socket, EBADF for a closed fd), and a saturated counter never blocks a signal', async () => {
  const { df, done } = openTestDev();
  const [s0, s1] = socketpair();
  const gone = eventfd();
  close(gone);
  const before = openFdCount();
  assert.throws(() => setFds(df, 0, 0, [s0]), (e: unknown) => VfioError.is(e, 'EINVAL') && /not an eventfd/.test(String(e)));
  assert.throws(() => setFds(df, 4, 0, [s1]), (e: unknown) => VfioError.is(e, 'EINVAL'));
  assert.throws(() => setFds(df, 0, 0, [gone]), (e: unknown) => VfioError.is(e, 'EBADF'));
  assert.equal(openFdCount(), before, 'a refused fd leaves nothing behind');
  close(s0);
  close(s1);
  // A user that fills its own eventfd's counter: the device's signal is dropped, as eventfd_signal's.
  const efd = eventfd();
  const own = takeEventfd(efd);
  // -2 as an int64 is 0xffff_ffff_ffff_fffe, the most a counter holds.
  eventfdWrite(efd, -2n);
  signalEventfd(own);
  signalEventfd(own);
  assert.equal(eventfdRead(efd), 0xfffffffffffffffen);
  close(own);
  close(efd);
  await done();
});
