// The simulated PCI machine through the CLI: serve builds it from the config's machine.pci, `lspci` lists it as
// lspci -nnk does, `ls` shows /sys/bus/pci, and bind/unbind refuse what the kernel refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VfioUserClient } from '../vfio-user/client.js';
import { CliProcess, runCli } from './cli.test-kit.js';
import type { TestContextLike } from './cli.test-kit.js';

function tempDir(t: TestContextLike): string {
  const dir = mkdtempSync(join(tmpdir(), 'vfio-ts-pci-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const MACHINE = {
  pci: [
    {
      devices: [
        { device: 3, model: 'pci-serial' },
        { device: 4, bridge: 'root-port', acs: true, below: [{ device: 0, model: 'dma-engine' }] },
      ],
    },
  ],
};

test('serve builds machine.pci; lspci lists each function with ids, group and driver; bind and unbind refuse with errno', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ runDir: 'run', machine: MACHINE, devices: [] }));
  const server = new CliProcess(t, ['serve', '--config', 'config.json', '--shutdown-grace', '200'], dir, { VFIO_TS_SANITIZE: '1' });
  await server.waitFor(/Inspect it with/);
  const ctl = join(dir, 'run', 'vfio-ts.ctl');
  const ls = await runCli(t, ['--ctl', ctl, 'lspci'], dir);
  assert.equal(ls.code, 0, ls.stderr);
  assert.match(ls.stdout, /^0000:00:03\.0 Serial controller \[0700\]: Red Hat, Inc\. pci-serial \[1b36:0002\] \(rev 01\)$/m);
  assert.match(ls.stdout, /^0000:00:04\.0 PCI bridge \[0604\]: /m);
  assert.match(ls.stdout, /^0000:01:00\.0 System peripheral \[0880\]: .*dma-engine \[1234:10d0\]/m);
  assert.match(ls.stdout, /Kernel driver in use: pcieport|IOMMU group \d+/);
  const sys = await runCli(t, ['--ctl', ctl, 'ls', '/sys/bus/pci/devices'], dir);
  assert.equal(sys.code, 0, sys.stderr);
  assert.match(sys.stdout, /0000:00:03\.0/);
  const noDriver = await runCli(t, ['--ctl', ctl, 'bind', '0000:00:03.0', 'nvme'], dir);
  assert.equal(noDriver.code, 1);
  assert.match(noDriver.stderr, /ENODEV: no PCI driver 'nvme'/);
  const noDevice = await runCli(t, ['--ctl', ctl, 'bind', '0000:00:09.0', 'nvme'], dir);
  assert.match(noDevice.stderr, /ENODEV: no device 0000:00:09\.0 on the simulated machine/);
  const unbound = await runCli(t, ['--ctl', ctl, 'unbind', '0000:00:03.0'], dir);
  assert.equal(unbound.code, 1);
  assert.match(unbound.stderr, /ENODEV: 0000:00:03\.0 has no driver/);
  server.child.kill('SIGTERM');
  assert.equal(await server.exit(), 0, server.stderr);
  assert.doesNotMatch(server.stderr, /sanitizer: leak/);
});

test('a config entry binds a function to vfio-pci and exports it; unbind waits for the client, bind exports it again', async (t) => {
  const dir = tempDir(t);
  const config = { runDir: 'run', requestIntervalMs: 50, machine: MACHINE, devices: [{ driver: 'vfio-pci', device: '0000:00:03.0' }] };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const server = new CliProcess(t, ['serve', '--config', 'config.json', '--shutdown-grace', '200'], dir, { VFIO_TS_SANITIZE: '1' });
  await server.waitFor(/Inspect it with/);
  assert.match(server.stdout, /vfio0 \(pci-serial at 0000:00:03\.0\) on vfio-user socket .*vfio-pci0\.sock/);
  assert.match(server.stdout, /8250_pci/);
  const ctl = join(dir, 'run', 'vfio-ts.ctl');
  const client = await VfioUserClient.connect(join(dir, 'run', 'vfio-pci0.sock'));
  t.after(() => client.destroy());
  const ids = await client.regionRead(7, 0, 4);
  assert.equal(ids.readUInt16LE(0), 0x1b36);
  assert.equal(ids.readUInt16LE(2), 0x0002);
  // The UART's scratch register (offset 7) in BAR0, through vfio-pci to the card: I/O decoding on first.
  await client.regionWrite(7, 4, Buffer.from([0x01, 0x00]));
  await client.regionWrite(0, 7, Buffer.from([0x5a]));
  assert.equal((await client.regionRead(0, 7, 1))[0], 0x5a);
  const lspci = await runCli(t, ['--ctl', ctl, 'lspci'], dir);
  assert.match(lspci.stdout, /0000:00:03\.0 Serial controller[^\n]*\n\tSubsystem: [^\n]*\n\tKernel driver in use: vfio-pci/);
  const status = await runCli(t, ['--ctl', ctl, 'status'], dir);
  assert.match(status.stdout, /vfio0 +pci-serial .*1 client\(s\)/);
  // Unbind waits for the client, asking it (REQ) meanwhile; the client lets go after the first request.
  const unbind = new CliProcess(t, ['--ctl', ctl, 'unbind', '0000:00:03.0'], dir);
  await unbind.waitFor(/request 0 sent/);
  await client.close();
  assert.equal(await unbind.exit(), 0, unbind.stderr);
  assert.match(unbind.stdout, /unbound 0000:00:03\.0 \(vfio0 unregistered\)/);
  const again = await runCli(t, ['--ctl', ctl, 'bind', '0000:00:03.0', 'vfio-pci'], dir);
  assert.equal(again.code, 0, again.stderr);
  const sock = /on vfio-user socket (\S+)/.exec(again.stdout)?.[1];
  assert.ok(sock !== undefined, again.stdout);
  const second = await VfioUserClient.connect(sock);
  assert.equal((await second.regionRead(7, 0, 2)).readUInt16LE(0), 0x1b36);
  await second.close();
  const busy = await runCli(t, ['--ctl', ctl, 'bind', '0000:00:03.0', 'vfio-pci'], dir);
  assert.match(busy.stderr, /EBUSY: 0000:00:03\.0 is bound to vfio-pci/);
  server.child.kill('SIGTERM');
  assert.equal(await server.exit(), 0, server.stderr);
  assert.doesNotMatch(server.stderr, /sanitizer: leak/);
});
