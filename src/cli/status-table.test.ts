// The status table: columns as wide as their widest cell; an unregister under way says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeviceInfo } from './control-protocol.js';
import { formatStatusTable } from './status-table.js';

const base: DeviceInfo = {
  name: 'vfio0',
  driver: 'vfio-mtty',
  uuid: null,
  parent: '0000:00:03.0',
  type: 'mtty-2',
  socket: '/run/a.sock',
  sysfs: '/sys/devices/x',
  state: 'registered',
  openCount: 1,
  clients: 1,
  requests: 0,
};

test('long names widen their column and every row lines up', () => {
  const lines = formatStatusTable([
    base,
    { ...base, name: 'vfio12345', type: 'i915-GVTg_V5_8', parent: '0000:00:1c.7', state: 'unregistering', socket: null, requests: 3 },
    { ...base, name: '', type: 'x', state: 'unbound', clients: 0, socket: null },
  ]);
  assert.deepEqual(lines, [
    'vfio0      mtty-2          at 0000:00:03.0  registered, 1 client(s), socket /run/a.sock',
    'vfio12345  i915-GVTg_V5_8  at 0000:00:1c.7  unregistering, 1 client(s), 3 request(s) sent, socket removed',
    '(unbound)  x               at 0000:00:03.0  unbound, 0 client(s), socket not exported',
  ]);
});
