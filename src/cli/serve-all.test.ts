// Every driver of the series that exists, served from one config: the samples, vfio-pci on the simulated PCI
// machine, vfio-ccw on a subchannel, vfio-ap on the matrix and a GVT-g vGPU; `vfio-ts ls` shows their buses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliProcess, runCli } from './cli.test-kit.js';

test('one config serves one device of each driver, and ls shows /sys/bus/css, /sys/bus/ap, the matrix and the GPU', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vfio-ts-all-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = {
    runDir: 'run',
    machine: { pci: [{ devices: [{ device: 3, model: 'pci-serial' }] }] },
    devices: [
      { driver: 'mtty', type: '1' },
      { driver: 'mdpy', type: 'vga' },
      { driver: 'mbochs', type: 'small' },
      { driver: 'vfio-pci', device: '0000:00:03.0' },
      { driver: 'vfio-ccw', type: 'io', parent: '0.0.0100' },
      { driver: 'vfio-ap', type: 'passthrough', adapters: [5], domains: [6, 7] },
      { driver: 'gvt', type: 'GVTg_V5_4' },
    ],
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const server = new CliProcess(t, ['serve', '--config', 'config.json', '--shutdown-grace', '200'], dir, { VFIO_TS_SANITIZE: '1' });
  await server.waitFor(/Inspect it with/, 20_000);
  const ctl = join(dir, 'run', 'vfio-ts.ctl');
  const status = await runCli(t, ['--ctl', ctl, 'status'], dir);
  assert.equal(status.code, 0, status.stderr);
  for (const type of ['mtty-1', 'mdpy-vga', 'mbochs-small', 'pci-serial', 'vfio_ccw-io', 'vfio_ap-passthrough', 'i915-GVTg_V5_4']) {
    assert.match(status.stdout, new RegExp(`vfio\\d+ +${type} `), `${type} in status:\n${status.stdout}`);
  }
  const buses = await runCli(t, ['--ctl', ctl, 'ls', '/sys/bus'], dir);
  for (const bus of ['ap/', 'css/', 'mdev/', 'pci/']) assert.ok(buses.stdout.split('\n').includes(bus), `${bus} in\n${buses.stdout}`);
  const matrix = await runCli(t, ['--ctl', ctl, 'ls', '/sys/devices/vfio_ap/matrix'], dir);
  assert.equal(matrix.code, 0, matrix.stderr);
  assert.match(matrix.stdout, /mdev_supported_types/);
  const lspci = await runCli(t, ['--ctl', ctl, 'lspci'], dir);
  assert.match(lspci.stdout, /^0000:00:03\.0 Serial controller .*\[1b36:0002\]/m);
  assert.match(lspci.stdout, /^0001:00:02\.0 VGA compatible controller .*\[8086:5912\][^\n]*\n[^\n]*\n\tKernel driver in use: i915/m);
  server.child.kill('SIGTERM');
  assert.equal(await server.exit(), 0, server.stderr);
  assert.doesNotMatch(server.stderr, /sanitizer: leak/);
});
