// The CLI as a new user meets it (issue 16): the banner's commands paste and run, a refused unregister prints
// only its error, status tells the truth while an unregister waits for a client, the status columns line up,
// and the VFIO group shows as /sys/class/vfio/<N> and /dev/vfio/<N>.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { VfioUserClient } from '../vfio-user/client.js';
import { VFIO_PCI_CONFIG_REGION_INDEX } from '../uapi/region-info.js';
import { CliProcess, runCli } from './cli.test-kit.js';
import type { TestContextLike } from './cli.test-kit.js';

function tempDir(t: TestContextLike): string {
  const dir = mkdtempSync(join(tmpdir(), 'vfio-ts-fixes-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('banner commands paste and run; unregister of a missing device prints only the error; status during a wait', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ runDir: 'run', requestIntervalMs: 50, devices: [{ driver: 'mtty', type: '2' }] }));
  const server = new CliProcess(t, ['serve', '--config', 'config.json', '--shutdown-grace', '200'], dir, { VFIO_TS_SANITIZE: '1' });
  await server.waitFor(/ trace\n/);
  const ctl = join(dir, 'run', 'vfio-ts.ctl');

  // One command per line, none of them a pipe; the status one runs as printed, from the server's directory.
  const cmds = server.stdout.slice(server.stdout.indexOf('Inspect it with')).split('\n').slice(1, 4).map((l) => l.trim());
  assert.equal(cmds.length, 3, server.stdout);
  for (const c of cmds) assert.match(c, /^node \S+main\.js (status|ls \/sys\/class\/vfio-dev|trace)$/);
  const pasted = await promisify(execFile)('/bin/sh', ['-c', cmds[0] ?? ''], { cwd: dir });
  assert.match(pasted.stdout, /^vfio0 +mtty-2 +mdev \S+ +registered, 0 client\(s\), socket /m);

  // The server refuses: no "waiting" line, only the error.
  const missing = await runCli(t, ['--ctl', ctl, 'unregister', 'vfio9'], dir);
  assert.equal(missing.code, 1);
  assert.equal(missing.stdout, '');
  assert.match(missing.stderr, /ENODEV: no device 'vfio9'/);

  // The group's character device, as the kernel lists it.
  const cls = await runCli(t, ['--ctl', ctl, 'ls', '/sys/class/vfio'], dir);
  const group = /^(\d+) -> \/sys\/devices\/virtual\/vfio\/\1$/m.exec(cls.stdout)?.[1];
  assert.ok(group !== undefined, cls.stdout);
  assert.match((await runCli(t, ['--ctl', ctl, 'ls', `/sys/kernel/iommu_groups/${group}/devices`], dir)).stdout, /^[0-9a-f-]{36} -> /m);
  assert.match((await runCli(t, ['--ctl', ctl, 'ls', `/sys/class/vfio/${group}`], dir)).stdout, /^dev$/m);
  const devs = await runCli(t, ['--ctl', ctl, 'ls', '/dev/vfio'], dir);
  assert.deepEqual(devs.stdout.split('\n').filter((l) => l !== ''), [group, 'devices/', '  vfio0']);

  // A second, mdev-created device: the status columns line up whatever the widths.
  assert.equal((await runCli(t, ['--ctl', ctl, 'mdev', 'create', 'mtty', 'mtty-1'], dir)).code, 0);
  const table = (await runCli(t, ['--ctl', ctl, 'status'], dir)).stdout.split('\n').filter((l) => /^vfio/.test(l));
  assert.equal(table.length, 2);
  const stateCol = table.map((l) => l.search(/registered,/));
  assert.equal(stateCol[0], stateCol[1], table.join('\n'));

  // A client holds vfio0 and never answers the requests: status says what is true while unregister waits.
  const client = await VfioUserClient.connect(join(dir, 'run', 'mtty0.sock'));
  t.after(() => client.destroy());
  await client.regionRead(VFIO_PCI_CONFIG_REGION_INDEX, 0, 4);
  const unreg = new CliProcess(t, ['--ctl', ctl, 'unregister', 'vfio0'], dir);
  await unreg.waitFor(/request 1 sent/);
  assert.match(unreg.stdout, /^unregistering vfio0: waiting for its users to let go\nvfio0: still in use; request 0 sent/);
  const during = (await runCli(t, ['--ctl', ctl, 'status'], dir)).stdout;
  assert.match(during, /^vfio0 +mtty-2 +mdev \S+ +unregistering, 1 client\(s\), [1-9]\d* request\(s\) sent, socket removed$/m);
  await client.close();
  assert.equal(await unreg.exit(), 0, unreg.stderr);
  assert.match((await runCli(t, ['--ctl', ctl, 'status'], dir)).stdout, /^\(unbound\) +mtty-2 .* unbound, 0 client\(s\)/m);

  server.child.kill('SIGTERM');
  assert.equal(await server.exit(), 0, server.stderr);
  assert.match(server.stderr, /sanitizer: no leaks, no findings/);
});
