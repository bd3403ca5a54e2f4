// The ap bus over a simulated machine: sysfs layout, apmask/aqmask parsing and the re-binding they cause
// between the default drivers and another driver, and the in_use veto.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Host } from '../../base/host.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { VfioError } from '../../uapi/errno.js';
import { apBusExit, apBusInit, apDriverRegister, apDriverUnregister } from './ap-bus.js';
import { ApQueue } from './ap-devices.js';
import { ApMachine } from './ap-machine.js';
import { ApMask, apParseMask } from './ap-mask.js';
import { zcryptRegisterDefaultDrivers } from './zcrypt-drivers.js';

test('mask strings: absolute hex in bit-0-first order, relative lists, errors', () => {
  const m = apParseMask('0xc0', new ApMask());
  assert.deepEqual(m.ids(), [0, 1]);
  assert.equal(m.toHex(), `0xc${'0'.repeat(63)}`);
  assert.deepEqual(apParseMask('+4,+6-8,-7\n', m).ids(), [0, 1, 4, 6, 8]);
  assert.deepEqual(apParseMask('-0-255', ApMask.full()).ids(), []);
  for (const bad of ['0x', 'zz', '+256', '+5-3', `0x${'f'.repeat(65)}`, '+1,,']) {
    assert.throws(() => apParseMask(bad, m), (e) => VfioError.is(e, 'EINVAL'), bad);
  }
});

function setup(t: { after(fn: () => unknown): void }, apmask?: string) {
  const mark = sanitizer.mark();
  const host = new Host();
  const machine = new ApMachine({ cards: [4, 5], domains: [6, 7, 71] });
  const s = apBusInit(host, machine, apmask === undefined ? {} : { apmask });
  const z = zcryptRegisterDefaultDrivers(host);
  t.after(() => {
    z.unregister();
    apBusExit(host);
    assert.equal(host.sysfs.exists('/sys/bus/ap'), false);
    sanitizer.assertNoLeaks(mark);
  });
  return { host, s };
}

test('cards and queues appear in sysfs, bound to the default drivers the masks name', (t) => {
  const { host } = setup(t, '-5');
  assert.deepEqual(host.sysfs.ls('/sys/devices/ap'), ['card04', 'card05']);
  assert.ok(host.sysfs.ls('/sys/devices/ap/card05').includes('05.0047'));
  assert.equal(host.sysfs.read('/sys/devices/ap/card04/hwtype'), '13\n');
  assert.equal(host.sysfs.read('/sys/bus/ap/apmask'), `0x${'f'.repeat(1)}b${'f'.repeat(62)}\n`);
  assert.equal(host.sysfs.readlink('/sys/bus/ap/devices/04.0006/driver'), '/sys/bus/ap/drivers/cex4queue');
  assert.equal(host.sysfs.exists('/sys/bus/ap/devices/05.0006/driver'), false, 'card 5 is not the host\'s');
  assert.equal(host.sysfs.exists('/sys/bus/ap/devices/card05/driver'), false);
  assert.equal(host.sysfs.read('/sys/devices/ap/card04/04.0006/interrupt'), 'Interrupts disabled.\n');
});

test('writing the masks moves queues between the default drivers and another; in_use vetoes giving back', (t) => {
  const { host } = setup(t);
  const bound = new Set<string>();
  let busy = false;
  const drv = apDriverRegister(host, {
    name: 'other',
    kind: 'queue',
    isDefault: false,
    probe: (q) => void bound.add(q.name),
    remove: (q) => void bound.delete(q.name),
    inUse: (apm, aqm) => busy && apm.test(5) && aqm.test(6),
  });
  t.after(() => apDriverUnregister(host, drv));
  assert.equal(bound.size, 0, 'everything is the host\'s at boot');
  host.sysfs.write('/sys/bus/ap/apmask', '-5');
  assert.deepEqual([...bound].sort(), ['05.0006', '05.0007', '05.0047']);
  host.sysfs.write('/sys/bus/ap/aqmask', '-71');
  assert.deepEqual([...bound].sort(), ['04.0047', '05.0006', '05.0007', '05.0047']);
  busy = true;
  assert.throws(() => host.sysfs.write('/sys/bus/ap/apmask', '+5'), (e) => VfioError.is(e, 'EBUSY'));
  assert.equal(bound.has('05.0006'), true, 'nothing moved');
  busy = false;
  host.sysfs.write('/sys/bus/ap/apmask', '+5');
  assert.deepEqual([...bound].sort(), ['04.0047', '05.0047']);
  assert.throws(() => host.sysfs.write('/sys/bus/ap/apmask', 'nonsense'), (e) => VfioError.is(e, 'EINVAL'));
  const q = host.sysfs.lookup('/sys/bus/ap/devices/05.0006');
  assert.ok(q?.kind === 'link');
  const owner = q.target.owner;
  assert.ok(owner instanceof ApQueue);
  assert.equal(owner.driver?.name, 'cex4queue');
});
