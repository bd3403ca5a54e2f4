// The simulated PCI machine through the CLI: serve builds it from the config's machine.pci, `lspci` lists it as
// lspci -nnk does, `ls` shows /sys/bus/pci, and bind/unbind refuse what the kernel refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  assert.match(noDevice.stderr, /ENODEV: no PCI function 0000:00:09\.0/);
  const unbound = await runCli(t, ['--ctl', ctl, 'unbind', '0000:00:03.0'], dir);
  assert.equal(unbound.code, 1);
  assert.match(unbound.stderr, /ENODEV: 0000:00:03\.0 has no driver/);
  server.child.kill('SIGTERM');
  assert.equal(await server.exit(), 0, server.stderr);
  assert.doesNotMatch(server.stderr, /sanitizer: leak/);
});
