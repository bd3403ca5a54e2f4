// The shared budget of 24 ports: ENOSPC past it, ports back on remove, available_instances per type, and release as
// the last use of the device (the series' v4 bug: the sanitizer proves nothing touches the freed state).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { UseAfterFreeError } from '../../sanitizer/errors.js';
import { VfioError } from '../../uapi/errno.js';
import { deviceFileRelease, openDeviceFile } from '../../vfio/device-file.js';
import { mdevRemove } from '../../mdev/mdev-device.js';
import type { MdevDevice } from '../../mdev/mdev-objects.js';
import { mttyTestHost } from './mtty.test-kit.js';
import { MTTY_TYPES, mttyAvailableInstances, mttyAvailablePorts, mttyType } from './mtty-types.js';

test('types: "Single port serial" and "Dual port serial", device_api vfio-pci', () => {
  assert.deepEqual(
    MTTY_TYPES.map((t) => [t.sysfsName, t.prettyName, t.nrPorts, t.deviceApi]),
    [
      ['1', 'Single port serial', 1, 'vfio-pci'],
      ['2', 'Dual port serial', 2, 'vfio-pci'],
    ],
  );
  assert.throws(() => mttyType('3'), (e: unknown) => VfioError.is(e, 'EINVAL'));
});

test('24 ports: 12 dual-port devices fit, the next is ENOSPC; removing one gives its ports back', async () => {
  const th = mttyTestHost();
  const { host } = th;
  const mdevs: MdevDevice[] = [];
  for (let i = 0; i < 12; i++) mdevs.push(th.create('2').mdev);
  assert.equal(mttyAvailablePorts(host), 0);
  assert.equal(mttyAvailableInstances(host, mttyType('1')), 0);
  assert.throws(() => th.create('1'), (e: unknown) => VfioError.is(e, 'ENOSPC'));
  assert.equal(sanitizer.reportsOf('freed-while-registered').length, 0);
  const first = mdevs.shift();
  assert.ok(first);
  await mdevRemove(first);
  assert.equal(mttyAvailablePorts(host), 2);
  assert.equal(mttyAvailableInstances(host, mttyType('1')), 2);
  assert.equal(mttyAvailableInstances(host, mttyType('2')), 1);
  const one = th.create('1');
  assert.equal(one.dev.index, 0, 'the freed index is reused');
  assert.equal(mttyAvailableInstances(host, mttyType('2')), 0);
  for (const m of [...mdevs, one.mdev]) await mdevRemove(m);
  assert.equal(mttyAvailablePorts(host), 24);
  await th.unload();
  const other = mttyTestHost();
  assert.equal(mttyAvailablePorts(other.host), 24, 'each host has its own budget');
  await other.unload();
});

test('release is the last use of the state: no use after free, budget restored, the freed device is poisoned', async () => {
  assert.ok(sanitizer.enabled, 'the test runner turns the sanitizer on');
  const th = mttyTestHost();
  const { host } = th;
  const { mdev, dev } = th.create('2', { ports: [{ kind: 'loopback' }, { kind: 'tcp', port: 0 }] });
  await dev.backends[1]?.ready;
  const df = openDeviceFile(dev);
  deviceFileRelease(df);
  const reports = sanitizer.reports.length;
  await mdevRemove(mdev);
  assert.equal(sanitizer.isFreed(dev), true);
  assert.equal(mttyAvailablePorts(host), 24);
  assert.equal(sanitizer.reports.length, reports, 'no sanitizer findings');
  assert.throws(() => dev.nrPorts, UseAfterFreeError, 'the sanitizer poisons the freed state');
  // Anything still wired to the device (UART interrupt lines, backends) would now throw; give them a turn.
  await new Promise((r) => setTimeout(r, 10));
  await th.unload();
});

test('an init that fails (ENOSPC) leaves no index, no budget change and no release', async () => {
  const th = mttyTestHost();
  const { host } = th;
  const mdevs: MdevDevice[] = [];
  for (let i = 0; i < 24; i++) mdevs.push(th.create('1').mdev);
  const live = sanitizer.liveCount('vfio_device');
  assert.throws(() => th.create('2'), (e: unknown) => VfioError.is(e, 'ENOSPC'));
  assert.equal(sanitizer.liveCount('vfio_device'), live);
  assert.equal(mttyAvailablePorts(host), 0);
  await Promise.all(mdevs.map((m) => mdevRemove(m)));
  assert.equal(mttyAvailablePorts(host), 24);
  await th.unload();
});
