// The buses beyond PCI through the CLI: serve builds them from the config's `machine`, a device entry binds a
// device of the bus to its VFIO driver (taking it from its host driver first) and exports it; status, ls and
// unbind work on them as on PCI; QEMU gets no -device line for them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VFIO_DEVICE_FLAGS_AMBA, VFIO_DEVICE_FLAGS_FSL_MC, VFIO_DEVICE_FLAGS_PLATFORM } from '../uapi/device-info.js';
import { VfioUserClient } from '../vfio-user/client.js';
import { CliProcess, runCli } from './cli.test-kit.js';

test('machine.fslMc: a DPRC and an object bound to vfio-fsl-mc, exported, listed, driven over vfio-user, unbound', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vfio-ts-fslmc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = {
    runDir: 'run',
    requestIntervalMs: 50,
    machine: { fslMc: { containers: [{ id: 2, objects: [{ type: 'dpni', id: 0 }, { type: 'dpio', id: 1 }, { type: 'dpmcp', id: 2 }] }] } },
    devices: [
      { driver: 'vfio-fsl-mc', device: 'dprc.2' },
      { driver: 'vfio-fsl-mc', device: 'dpni.0' },
    ],
  };
  writeFileSync(join(dir, 'c.json'), JSON.stringify(config));
  const server = new CliProcess(t, ['serve', '--config', 'c.json'], dir, { VFIO_TS_SANITIZE: '1' });
  await server.waitFor(/Inspect it with/, 20_000);
  assert.doesNotMatch(server.stdout, /-device '\{"driver":"vfio-user-pci"/, 'no QEMU line for fsl-mc devices');
  assert.match(server.stderr, /device taken from its host driver/, 'dprc.2 was fsl_mc_dprc’s');
  const ctl = join(dir, 'run', 'vfio-ts.ctl');

  const status = await runCli(t, ['--ctl', ctl, 'status'], dir);
  assert.match(status.stdout, /vfio\d+ +dprc +at dprc\.2 .*socket \S+vfio-fsl-mc0\.sock/);
  assert.match(status.stdout, /vfio\d+ +dpni +at dpni\.0 .*socket \S+vfio-fsl-mc1\.sock/);
  assert.match(status.stdout, /vfio\d+ +dpio +at dpio\.1 .*not exported/, 'the DPRC’s other objects followed it to vfio-fsl-mc');
  const ls = await runCli(t, ['--ctl', ctl, 'ls', '/sys/bus/fsl-mc/devices'], dir);
  assert.match(ls.stdout, /^dprc\.2 -> \/sys\/devices\/[^\n]*\/dprc\.1\/dprc\.2$/m);

  const c = await VfioUserClient.connect(join(dir, 'run', 'vfio-fsl-mc1.sock'));
  const info = await c.getDeviceInfo();
  assert.ok(info.flags & VFIO_DEVICE_FLAGS_FSL_MC, `flags ${info.flags}`);
  // Unbinding the container waits while its object is in use by the client, then goes through once it leaves.
  const unbind = new CliProcess(t, ['--ctl', ctl, 'unbind', 'dprc.2'], dir);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(unbind.child.exitCode, null, 'unbind waits for the dpni’s user');
  await c.close();
  assert.equal(await unbind.exit(), 0, unbind.stderr);
  const after = await runCli(t, ['--ctl', ctl, 'status'], dir);
  assert.doesNotMatch(after.stdout, /dprc\.2|dpni\.0/);

  server.child.kill('SIGTERM');
  assert.equal(await server.exit(), 0, server.stderr);
  assert.doesNotMatch(server.stderr, /sanitizer: leak|unbind failed/);
});

test('machine.platform and machine.amba: an XGMAC to vfio-platform and a PL011 to vfio-amba, a byte through the PL011 over vfio-user', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vfio-ts-mmio-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = {
    runDir: 'run',
    requestIntervalMs: 50,
    machine: {
      platform: [{ name: 'ethernet', compatible: ['calxeda,hb-xgmac'], reg: [{ base: 0xfff51000, size: 0x1000 }], interrupts: [{ line: 80, trigger: 'level' }] }],
      amba: [{ name: 'pl011', compatible: ['arm,pl011', 'arm,primecell'], reg: [{ base: 0x9000000, size: 0x1000 }], interrupts: [{ line: 33, trigger: 'level' }] }],
    },
    devices: [
      { driver: 'vfio-platform', device: 'fff51000.ethernet' },
      { driver: 'vfio-amba', device: '9000000.pl011' },
    ],
  };
  writeFileSync(join(dir, 'c.json'), JSON.stringify(config));
  const server = new CliProcess(t, ['serve', '--config', 'c.json'], dir, { VFIO_TS_SANITIZE: '1' });
  await server.waitFor(/Inspect it with/, 20_000);
  assert.doesNotMatch(server.stdout, /-device '\{"driver":"vfio-user-pci"/, 'no QEMU line for platform and AMBA devices');
  const ctl = join(dir, 'run', 'vfio-ts.ctl');
  const status = await runCli(t, ['--ctl', ctl, 'status'], dir);
  assert.match(status.stdout, /calxeda,hb-xgmac +at fff51000\.ethernet /);
  assert.match(status.stdout, /arm,pl011 +at 9000000\.pl011 /);
  for (const bus of ['platform', 'amba']) {
    const ls = await runCli(t, ['--ctl', ctl, 'ls', `/sys/bus/${bus}/devices`], dir);
    assert.match(ls.stdout, bus === 'amba' ? /^9000000\.pl011 -> /m : /^fff51000\.ethernet -> /m, ls.stdout);
  }

  const xgmac = await VfioUserClient.connect(join(dir, 'run', 'vfio-platform0.sock'));
  assert.ok((await xgmac.getDeviceInfo()).flags & VFIO_DEVICE_FLAGS_PLATFORM);
  await xgmac.close();
  const uart = await VfioUserClient.connect(join(dir, 'run', 'vfio-amba0.sock'));
  assert.ok((await uart.getDeviceInfo()).flags & VFIO_DEVICE_FLAGS_AMBA);
  // PL011: UARTCR (0x30) = UARTEN | TXE | RXE, a byte to DR (0x00) comes back through the loopback port.
  await uart.regionWrite(0, 0x30, Buffer.from([0x01, 0x03, 0, 0]));
  await uart.regionWrite(0, 0x00, Buffer.from([0x5a, 0, 0, 0]));
  assert.equal((await uart.regionRead(0, 0x00, 4))[0], 0x5a);
  await uart.close();

  server.child.kill('SIGTERM');
  assert.equal(await server.exit(), 0, server.stderr);
  assert.doesNotMatch(server.stderr, /sanitizer: leak|unbind failed/);
});
