// Tests for the serve config: defaults, relative paths, and messages naming the offending key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DriverRegistry, builtinDrivers } from '../drivers/registry.js';
import { ConfigError, defaultConfig, loadConfig, parseConfig } from './config.js';

const registry = new DriverRegistry(await builtinDrivers());

const bad = (json: unknown, key: string, re?: RegExp): void => {
  assert.throws(
    () => parseConfig(json, '/etc/vfio', '/home/u', registry),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.equal(err.key, key);
      assert.ok(err.message.startsWith(key === '' ? '' : `${key}: `), err.message);
      if (re) assert.match(err.message, re);
      return true;
    },
  );
};

test('the default config serves one two-port mtty with sockets under <cwd>/run', () => {
  const c = defaultConfig('/home/u/proj');
  assert.equal(c.runDir, '/home/u/proj/run');
  assert.equal(c.control, '/home/u/proj/run/vfio-ts.ctl');
  assert.deepEqual(c.devices, [{ bus: 'mdev', driver: 'mtty', type: '2', params: {}, key: 'devices[0]' }]);
});

test('a full config parses; relative paths resolve against the config file directory', () => {
  const c = parseConfig(
    {
      runDir: 'sockets',
      control: '/tmp/x.ctl',
      requestIntervalMs: 50,
      devices: [
        { driver: 'mtty', type: '2', uuid: '83B8F4F2-509F-382F-3C1E-E6BFE0FA1001', socket: 'a.sock', ports: ['loopback', { tcp: 4555 }] },
        { driver: 'mtty', type: 'mtty-1', ports: [{ unix: 'port.sock' }] },
        { driver: 'mbochs', type: 'small' },
        { driver: 'mdpy', type: 'vga' },
      ],
    },
    '/etc/vfio',
    '/home/u',
    registry,
  );
  assert.equal(c.runDir, '/etc/vfio/sockets');
  assert.equal(c.control, '/tmp/x.ctl');
  assert.equal(c.requestIntervalMs, 50);
  assert.equal(c.devices.length, 4);
  const d0 = c.devices[0];
  assert.ok(d0?.bus === 'mdev');
  assert.equal(d0.uuid, '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001');
  assert.equal(c.devices[0]?.socket, '/etc/vfio/a.sock');
  assert.deepEqual(c.devices[0]?.params['ports'], [{ kind: 'loopback' }, { kind: 'tcp', port: 4555 }]);
  assert.deepEqual(c.devices[1]?.params['ports'], [{ kind: 'unix', path: '/etc/vfio/port.sock' }]);
  assert.equal(c.devices[2]?.key, 'devices[2]');
});

test('no runDir: <cwd>/run, as serve without a config', () => {
  const c = parseConfig({ devices: [] }, '/etc/vfio', '/home/u', registry);
  assert.equal(c.runDir, '/home/u/run');
  assert.equal(c.control, '/home/u/run/vfio-ts.ctl');
});

test('every bad value is reported with its key', () => {
  bad([], '', /must be an object/);
  bad({}, 'devices', /required/);
  bad({ devices: {} }, 'devices', /must be a list/);
  bad({ devices: [], colour: 'red' }, 'colour', /unknown key/);
  bad({ devices: [], requestIntervalMs: 0 }, 'requestIntervalMs', /integer from 1/);
  bad({ devices: [42] }, 'devices[0]', /must be an object/);
  bad({ devices: [{ type: '2' }] }, 'devices[0].driver', /required/);
  bad({ devices: [{ driver: 'nvme', type: '2' }] }, 'devices[0].driver', /must be one of .*mbochs, mdpy, .*mtty/);
  bad({ devices: [{ driver: 'mtty' }] }, 'devices[0].type', /required/);
  bad({ devices: [{ driver: 'mtty', type: 2 }] }, 'devices[0].type', /non-empty string/);
  bad({ devices: [{ driver: 'mtty', type: '2', uuid: 'nope' }] }, 'devices[0].uuid', /UUID/);
  bad({ devices: [{ driver: 'mtty', type: '2', prots: [] }] }, 'devices[0].prots', /unknown key/);
  bad({ devices: [{ driver: 'mdpy', type: 'vga', ports: [] }] }, 'devices[0].ports', /only mtty/);
  bad({ devices: [{ driver: 'mtty', type: '2', ports: ['loopback', 'loopback', 'loopback'] }] }, 'devices[0].ports', /at most 2/);
  bad({ devices: [{ driver: 'mtty', type: '2', ports: ['serial'] }] }, 'devices[0].ports[0]', /unknown port backend/);
  bad({ devices: [{ driver: 'mtty', type: '2', ports: [{ udp: 1 }] }] }, 'devices[0].ports[0].udp', /unknown port backend/);
  bad({ devices: [{ driver: 'mtty', type: '2', ports: [{ tcp: 1, unix: 'x' }] }] }, 'devices[0].ports[0]', /exactly one key/);
  bad({ devices: [{ driver: 'mtty', type: '2', ports: ['loopback', { tcp: 70000 }] }] }, 'devices[0].ports[1].tcp', /1 to 65535/);
  bad({ devices: [{ driver: 'mtty', type: '2', socket: `/${'x'.repeat(200)}` }] }, 'devices[0].socket', /longer than/);
});

test('clashing sockets, UUIDs and TCP ports name the second user', () => {
  bad({ devices: [{ driver: 'mtty', type: '2', socket: '/r/a.sock' }, { driver: 'mdpy', type: 'vga', socket: '/r/a.sock' }] }, 'devices[1].socket', /devices\[0\]/);
  bad({ runDir: '/r', devices: [{ driver: 'mtty', type: '2' }, { driver: 'mtty', type: '1', socket: '/r/mtty0.sock' }] }, 'devices[1].socket', /already used/);
  bad({ control: '/r/c', devices: [{ driver: 'mtty', type: '2', socket: '/r/c' }] }, 'devices[0].socket', /control/);
  const u = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001';
  bad({ devices: [{ driver: 'mtty', type: '2', uuid: u }, { driver: 'mtty', type: '1', uuid: u }] }, 'devices[1].uuid', /already used/);
  bad({ devices: [{ driver: 'mtty', type: '2', ports: [{ tcp: 5000 }, { tcp: 5000 }] }] }, 'devices[0].ports[1].tcp', /already used/);
});

test('loadConfig reports unreadable files and bad JSON without a key', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vfio-ts-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.throws(() => loadConfig('missing.json', dir, registry), /cannot read config file/);
  writeFileSync(join(dir, 'bad.json'), '{"devices": [');
  assert.throws(() => loadConfig('bad.json', dir, registry), /not valid JSON/);
  writeFileSync(join(dir, 'ok.json'), JSON.stringify({ runDir: 'r', devices: [{ driver: 'mtty', type: '1' }] }));
  assert.equal(loadConfig('ok.json', dir, registry).runDir, join(dir, 'r'));
});

test('modules: each driver module takes its own options; unknown drivers, keys and bad values name their key', () => {
  const c = parseConfig({ modules: { mdpy: { count: 8 }, mbochs: {} }, devices: [{ driver: 'mdpy', type: 'vga', parent: 'mdpy' }] }, '/etc/vfio', '/home/u', registry);
  assert.deepEqual(c.modules, { mdpy: { count: 8 }, mbochs: {} });
  const d0 = c.devices[0];
  assert.ok(d0?.bus === 'mdev');
  assert.equal(d0.parent, 'mdpy');
  assert.deepEqual(parseConfig({ devices: [] }, '/etc/vfio', '/home/u', registry).modules, {});
  bad({ modules: { nvme: {} }, devices: [] }, 'modules.nvme', /no such driver/);
  bad({ modules: { mdpy: { cuont: 1 } }, devices: [] }, 'modules.mdpy.cuont', /unknown key \(allowed: count\)/);
  bad({ modules: { mdpy: { count: 0 } }, devices: [] }, 'modules.mdpy.count', /integer from 1 to 1024/);
  bad({ modules: { mtty: { count: 1 } }, devices: [] }, 'modules.mtty.count', /unknown key/);
  bad({ modules: [], devices: [] }, 'modules', /must be an object/);
  bad({ devices: [{ driver: 'mdpy', type: 'vga', parent: '' }] }, 'devices[0].parent', /non-empty string/);
});

test('machine.pci: bridges and functions with their models parse; mistakes name their key', () => {
  const c = parseConfig(
    {
      machine: {
        pci: [
          {
            devices: [
              { device: 3, model: 'pci-serial', port: { unix: 'serial.sock' } },
              { device: 2, bridge: 'root-port', acs: true, slot: { number: 1, hotplug: true }, below: [{ device: 0, model: 'sriov-dma-pf', totalVfs: 2 }] },
            ],
          },
        ],
      },
      devices: [],
    },
    '/etc/vfio',
    '/home/u',
    registry,
  );
  assert.deepEqual(c.pci[0]?.devices[0], { device: 3, model: 'pci-serial', port: { kind: 'unix', path: '/etc/vfio/serial.sock' } });
  assert.equal(c.pci[0]?.devices.length, 2);
  const dev = (d: object): unknown => ({ machine: { pci: [{ devices: [d] }] }, devices: [] });
  bad(dev({ device: 3, model: 'nvme' }), 'machine.pci[0].devices[0].model', /unknown model "nvme"/);
  bad(dev({ device: 32, model: 'pci-serial' }), 'machine.pci[0].devices[0].device', /integer from 0 to 31/);
  bad(dev({ device: 1, bridge: 'root-prot' }), 'machine.pci[0].devices[0].bridge', /must be one of root-port/);
  bad(dev({ device: 1, bridge: 'root-port', below: [{ device: 0, model: 'pci-serial', port: 'serial' }] }), 'machine.pci[0].devices[0].below[0].port', /unknown port backend/);
  bad({ machine: { pcie: [] }, devices: [] }, 'machine.pcie', /unknown key/);
  bad({ devices: [{ driver: 'mtty', type: '2', device: '0000:00:03.0' }] }, 'devices[0].device', /unknown key/);
});

test('vfioUser: the hot-path knobs parse; unknown keys, bad values and a window upside down name their key', () => {
  const c = parseConfig({ devices: [], vfioUser: { pollMaxNs: 0, budgetMessages: 64 } }, '/etc/vfio', '/home/u', registry);
  assert.deepEqual(c.vfioUser, { pollMaxNs: 0, budgetMessages: 64 });
  assert.equal(parseConfig({ devices: [] }, '/etc/vfio', '/home/u', registry).vfioUser, undefined, 'absent: the server defaults');
  const bad = (vfioUser: unknown): string => {
    try {
      parseConfig({ devices: [], vfioUser }, '/etc/vfio', '/home/u', registry);
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.key;
    }
    throw new Error('accepted');
  };
  assert.match(bad({ pollMaxNs: -1 }), /^vfioUser\.pollMaxNs/);
  assert.match(bad({ budgetMessages: 0 }), /^vfioUser\.budgetMessages/);
  assert.match(bad({ spin: 1 }), /^vfioUser/);
  assert.equal(bad({ pollMinNs: 5000, pollMaxNs: 1000 }), 'vfioUser.pollMinNs');
});
