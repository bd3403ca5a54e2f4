// What the package ships: no test file, test kit or test-only driver in the published files; the JSON Schema
// it ships for editors is the one the registry generates; the README's config example is a valid config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configJsonSchema, parseConfig } from './cli/config.js';
import { DriverRegistry, builtinDrivers } from './drivers/registry.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

test('npm pack lists the built library, the addon sources and the schema, and no test helper', () => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const parsed: unknown = JSON.parse(out);
  assert.ok(Array.isArray(parsed));
  const first: unknown = parsed[0];
  assert.ok(typeof first === 'object' && first !== null && 'files' in first && Array.isArray(first.files));
  const paths = first.files.map((f: unknown) => (typeof f === 'object' && f !== null && 'path' in f ? String(f.path) : ''));
  for (const p of ['dist/index.js', 'dist/cli/main.js', 'dist/drivers/mtty/index.js', 'schema/serve-config.schema.json', 'src/native/addon.cc']) {
    assert.ok(paths.includes(p), `${p} is shipped`);
  }
  const testOnly = paths.filter((p) => /\.test\.|\.test-kit\.|\/testdata\/|^dist-test\/|^dist\/fuzz\/|^scripts\/(run-tests|fuzz|run-bench)/.test(p));
  // The install script is the only script a user of the package runs.
  assert.deepEqual(paths.filter((p) => p.startsWith('scripts/')), ['scripts/build-native.mjs']);
  assert.deepEqual(testOnly, [], 'no test file, test kit or test-only driver is shipped');
});

test('schema/serve-config.schema.json is what the built-in registry generates (npm run schema)', async () => {
  const registry = new DriverRegistry(await builtinDrivers());
  const shipped: unknown = JSON.parse(readFileSync(`${ROOT}schema/serve-config.schema.json`, 'utf8'));
  assert.deepEqual(shipped, JSON.parse(JSON.stringify(configJsonSchema(registry))));
});

test("the README's config example parses", async () => {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  const block = /```json\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(block !== undefined, 'the README has a json block');
  const registry = new DriverRegistry(await builtinDrivers());
  const c = parseConfig(JSON.parse(block), '/srv/vfio', '/srv/vfio', registry);
  assert.ok(c.devices.length >= 4);
});
