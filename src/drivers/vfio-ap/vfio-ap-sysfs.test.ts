// The matrix device and the matrix mdev's sysfs files, written as an administrator would: the type, assignment
// with the kernel's errno, matrix/guest_matrix/control_domains/ap_config, and queue status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioError } from '../../uapi/errno.js';
import type { ErrnoName } from '../../uapi/errno.js';
import { mdevRemove } from '../../mdev/mdev-device.js';
import { MATRIX, apTestHost } from './vfio-ap.test-kit.js';

const errno = (code: ErrnoName) => (e: unknown) => VfioError.is(e, code);
const TYPE = `${MATRIX}/mdev_supported_types/vfio_ap-passthrough`;

test('the matrix device offers the passthrough type; vfio_ap has the queues the masks leave', (t) => {
  const { host } = apTestHost(t);
  assert.equal(host.sysfs.read(`${TYPE}/name`), 'VFIO AP Passthrough Device\n');
  assert.equal(host.sysfs.read(`${TYPE}/device_api`), 'vfio-ap\n');
  assert.equal(host.sysfs.read(`${TYPE}/available_instances`), '255\n');
  assert.equal(host.sysfs.readlink(`${MATRIX}/driver`), '/sys/bus/matrix/drivers/vfio_ap');
  assert.deepEqual(host.sysfs.ls('/sys/bus/ap/drivers/vfio_ap').filter((n) => n.includes('.')), ['05.0006', '05.0007', '05.0047']);
  assert.equal(host.sysfs.read('/sys/bus/ap/devices/05.0006/status'), 'unassigned\n');
});

test('assign and unassign with the kernel\'s validation; matrix and guest_matrix', (t) => {
  const { host, create } = apTestHost(t);
  const a = create();
  const w = (f: string, v: string): void => host.sysfs.write(`${a.path}/${f}`, v);
  const r = (f: string): string => host.sysfs.read(`${a.path}/${f}`);
  w('assign_adapter', '5');
  assert.equal(r('matrix'), '05.\n');
  w('assign_domain', '0x6');
  w('assign_domain', '7\n');
  assert.equal(r('matrix'), '05.0006\n05.0007\n');
  assert.equal(r('guest_matrix'), '05.0006\n05.0007\n');
  assert.equal(host.sysfs.read('/sys/bus/ap/devices/05.0006/status'), 'assigned\n');
  assert.throws(() => w('assign_adapter', '4'), errno('EADDRNOTAVAIL'), 'the host keeps 04.*');
  assert.throws(() => w('assign_adapter', '256'), errno('ENODEV'));
  assert.throws(() => w('assign_domain', 'six'), errno('EINVAL'));
  assert.equal(r('matrix'), '05.0006\n05.0007\n', 'failed stores change nothing');
  assert.throws(() => w('assign_adapter', '9'), errno('EADDRNOTAVAIL'), 'apmask keeps adapter 9 for the host, installed or not');
  w('assign_control_domain', '71');
  w('assign_control_domain', '200');
  assert.equal(r('control_domains'), '0047\n00c8\n');
  assert.throws(() => w('assign_control_domain', '256'), errno('ENODEV'));
  w('unassign_control_domain', '200');
  assert.equal(r('control_domains'), '0047\n');
  assert.throws(() => r('assign_adapter'), errno('EACCES'));

  const b = create();
  const wb = (f: string, v: string): void => host.sysfs.write(`${b.path}/${f}`, v);
  wb('assign_domain', '6');
  assert.throws(() => wb('assign_adapter', '5'), errno('EADDRINUSE'), '05.0006 is a\'s');
  wb('assign_domain', '71');
  wb('unassign_domain', '6');
  wb('assign_adapter', '5');
  assert.equal(host.sysfs.read(`${b.path}/matrix`), '05.0047\n', 'no APQN shared with a any more');
  w('unassign_domain', '7');
  assert.equal(r('guest_matrix'), '05.0006\n');
});

test('ap_config shows and replaces the three masks at once', async (t) => {
  const { host, create } = apTestHost(t);
  const a = create({ adapters: [5], domains: [6], controlDomains: [6] });
  const cfg = host.sysfs.read(`${a.path}/ap_config`).split('\n');
  assert.equal(cfg[0], `0x0400${'0'.repeat(60)}`);
  assert.equal(cfg[1], `0x02${'0'.repeat(62)}`);
  const aqm67 = `0x03${'0'.repeat(62)}`;
  host.sysfs.write(`${a.path}/ap_config`, `${cfg[0]}\n${aqm67}\n${cfg[2]}\n`);
  assert.equal(host.sysfs.read(`${a.path}/matrix`), '05.0006\n05.0007\n');
  assert.throws(() => host.sysfs.write(`${a.path}/ap_config`, `0x08${'0'.repeat(62)}\n${aqm67}\n${cfg[2]}\n`), errno('EADDRNOTAVAIL'));
  assert.throws(() => host.sysfs.write(`${a.path}/ap_config`, 'x\ny\nz\n'), errno('EINVAL'));
  assert.throws(() => host.sysfs.write(`${a.path}/ap_config`, `${cfg[0]}\n`), errno('EINVAL'));
  assert.equal(host.sysfs.read(`${a.path}/matrix`), '05.0006\n05.0007\n', 'refused configs change nothing');
  assert.throws(() => create({ adapters: [5], domains: [7] }), errno('EADDRINUSE'), 'a create whose params clash fails');
  await mdevRemove(a.mdev);
  assert.equal(host.sysfs.read('/sys/bus/ap/devices/05.0006/status'), 'unassigned\n');
});
