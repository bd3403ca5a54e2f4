// A driver defined only in a test folder (testdata/scratchpad) is served through the CLI's registry: loaded with
// `--driver`, validated by the schema its descriptor carries, exported on a socket and used by a vfio-user client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VfioUserClient } from '../vfio-user/client.js';
import { CliProcess, runCli } from './cli.test-kit.js';
import type { TestContextLike } from './cli.test-kit.js';

const SCRATCHPAD = fileURLToPath(new URL('./testdata/scratchpad/index.js', import.meta.url));

function tempDir(t: TestContextLike): string {
  const dir = mkdtempSync(join(tmpdir(), 'vfio-ts-drv-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('serve --driver loads a driver from outside the tree and serves its device to a vfio-user client', async (t) => {
  const dir = tempDir(t);
  const greeting = 'hello from a test folder';
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ runDir: 'run', devices: [{ driver: 'scratchpad', type: 'pad', greeting }] }));
  const server = new CliProcess(t, ['serve', '--config', 'config.json', '--driver', SCRATCHPAD, '--shutdown-grace', '200'], dir, { VFIO_TS_SANITIZE: '1' });
  await server.waitFor(/Inspect it with/);
  assert.match(server.stdout, /vfio0 \(scratchpad-pad, mdev [0-9a-f-]+\) on vfio-user socket .*scratchpad0\.sock/);
  const client = await VfioUserClient.connect(join(dir, 'run', 'scratchpad0.sock'));
  t.after(() => client.destroy());
  const ids = await client.regionRead(7, 0, 4);
  assert.equal(ids.readUInt16LE(0), 0x1234);
  assert.equal(ids.readUInt16LE(2), 0x5ca7);
  assert.equal((await client.regionRead(0, 0, greeting.length)).toString(), greeting, 'init read the params its mdev carries');
  await client.regionWrite(0, 0, Buffer.from('scribble'));
  assert.equal((await client.regionRead(0, 0, 8)).toString(), 'scribble');
  await client.reset();
  assert.equal((await client.regionRead(0, 0, greeting.length)).toString(), greeting, 'reset brings the power-on contents back');
  await client.close();
  server.child.kill('SIGTERM');
  assert.equal(await server.exit(), 0, server.stderr);
});

test('the loaded driver is listed, its keys are in the JSON Schema, and a bad value is a config error naming the key', async (t) => {
  const dir = tempDir(t);
  const listed = await runCli(t, ['drivers', '--driver', SCRATCHPAD], dir);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /^scratchpad +mdev +test driver/m);
  assert.match(listed.stdout, /^mtty +mdev +virtual PCI serial card/m);
  const schema = await runCli(t, ['drivers', '--json-schema', '--driver', SCRATCHPAD], dir);
  assert.equal(schema.code, 0, schema.stderr);
  const json: unknown = JSON.parse(schema.stdout);
  assert.match(JSON.stringify(json), /"greeting":\{"type":"string","maxLength":64\}/);
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ devices: [{ driver: 'scratchpad', type: 'pad', greeting: 42 }] }));
  const bad = await runCli(t, ['serve', '--config', 'bad.json', '--driver', SCRATCHPAD], dir);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /bad config: devices\[0\]\.greeting: /);
  const missing = await runCli(t, ['serve', '--driver', join(dir, 'nope.js')], dir);
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, /bad config: --driver: .*cannot load driver module .*nope\.js/);
});
