// INTx through SET_IRQS: the trigger eventfd, automasking, unmask by ioctl and by an unmask eventfd (irqfd), loopback,
// INTX_DISABLE and disabling the index.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { close, eventfd, eventfdWrite } from '../native/index.js';
import {
  VFIO_IRQ_SET_ACTION_MASK,
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_ACTION_UNMASK,
} from '../uapi/irq-set.js';
import { PCI_COMMAND, PCI_COMMAND_INTX_DISABLE } from '../uapi/pci-regs.js';
import { fired, setBools, setFds, setNone } from './irq.test-kit.js';
import { openTestDev } from './test-device.test-kit.js';

const T = VFIO_IRQ_SET_ACTION_TRIGGER;

test('INTx: assertion fires once and automasks; UNMASK by ioctl re-fires while asserted', async (t) => {
  const { dev, df, done } = openTestDev();
  t.after(done);
  const efd = eventfd();
  t.after(() => close(efd));
  dev.setIntxLevel(true);
  assert.equal(setFds(df, 0, 0, [efd]), 0);
  assert.equal(fired(efd), 1, 'a line already asserted fires when INTx is enabled');
  assert.equal(dev.irqOf().intxMasked(), true);
  dev.setIntxLevel(false);
  dev.setIntxLevel(true);
  assert.equal(fired(efd), 0, 'masked: nothing');
  setNone(df, 0, 0, 1, VFIO_IRQ_SET_ACTION_UNMASK);
  assert.equal(fired(efd), 1, 'unmask with the line high fires again (and masks)');
  dev.setIntxLevel(false);
  setBools(df, 0, 0, [true], VFIO_IRQ_SET_ACTION_UNMASK);
  assert.equal(fired(efd), 0, 'line low at unmask: nothing');
  dev.raiseIntx();
  assert.equal(fired(efd), 1, 'a pulse fires and automasks');
  dev.raiseIntx();
  assert.equal(fired(efd), 0);
  setBools(df, 0, 0, [false], VFIO_IRQ_SET_ACTION_UNMASK);
  assert.equal(dev.irqOf().intxMasked(), true, 'BOOL false leaves the mask');
  setNone(df, 0, 0, 1, VFIO_IRQ_SET_ACTION_UNMASK);
  setNone(df, 0, 0, 1, VFIO_IRQ_SET_ACTION_MASK);
  dev.raiseIntx();
  assert.equal(fired(efd), 0, 'MASK by ioctl holds the interrupt');
});

test('INTx: an UNMASK eventfd unmasks when signalled (irqfd), and -1 removes it', async (t) => {
  const { dev, df, done } = openTestDev();
  t.after(done);
  const trigger = eventfd();
  const unmask = eventfd();
  t.after(() => {
    close(trigger);
    close(unmask);
  });
  setFds(df, 0, 0, [trigger]);
  setFds(df, 0, 0, [unmask], VFIO_IRQ_SET_ACTION_UNMASK);
  dev.setIntxLevel(true);
  assert.equal(fired(trigger), 1);
  assert.equal(dev.irqOf().intxMasked(), true);
  eventfdWrite(unmask, 1);
  for (let i = 0; i < 100 && fired(trigger) === 0; i++) await sleep(2);
  assert.equal(dev.irqOf().intxMasked(), true, 're-fired and re-masked while still asserted');
  dev.setIntxLevel(false);
  eventfdWrite(unmask, 1);
  for (let i = 0; i < 100 && dev.irqOf().intxMasked(); i++) await sleep(2);
  assert.equal(dev.irqOf().intxMasked(), false, 'the irqfd unmasked');
  setFds(df, 0, 0, [-1], VFIO_IRQ_SET_ACTION_UNMASK);
  dev.raiseIntx();
  assert.equal(fired(trigger), 1);
  eventfdWrite(unmask, 1);
  await sleep(20);
  assert.equal(dev.irqOf().intxMasked(), true, 'removed irqfd no longer unmasks');
});

test('INTx: loopback TRIGGER with NONE/BOOL, INTX_DISABLE, fd -1 clears, count 0 disables', async (t) => {
  const { dev, df, done } = openTestDev();
  t.after(done);
  const efd = eventfd();
  t.after(() => close(efd));
  setFds(df, 0, 0, [efd]);
  setNone(df, 0, 0, 1, T);
  setBools(df, 0, 0, [true], T);
  setBools(df, 0, 0, [false], T);
  assert.equal(fired(efd), 2, 'NONE and BOOL true signal; BOOL false does not');
  assert.equal(dev.irqOf().intxMasked(), false, 'loopback does not mask');
  dev.config.write(PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
  dev.setIntxLevel(true);
  assert.equal(fired(efd), 0, 'INTX_DISABLE holds the line');
  dev.config.write(PCI_COMMAND, 2, 0);
  assert.equal(fired(efd), 1, 'clearing INTX_DISABLE delivers the pending level');
  setFds(df, 0, 0, [-1]);
  assert.equal(dev.triggers.type, 'intx', 'fd -1 clears the trigger but INTx stays enabled');
  assert.equal(dev.triggers.intxTrigger, -1);
  setNone(df, 0, 0, 0, T);
  assert.equal(dev.triggers.type, 'none');
});
