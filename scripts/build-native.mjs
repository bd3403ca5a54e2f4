// Builds build/vfio_native.node from src/native/*.cc with the system g++ against Node's own headers
// (Node-API only, so no node-gyp and no download). Run as package.json's `install` script.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'src', 'native');
const outDir = join(root, 'build');
const out = join(outDir, 'vfio_native.node');
const cxx = process.env.CXX || 'g++';

function fail(message) {
  console.error(`build-native: ${message}`);
  process.exit(1);
}

// <prefix>/include/node next to the running node, else the distribution's /usr/include/node.
function nodeIncludeDir() {
  const candidates = [join(dirname(dirname(process.execPath)), 'include', 'node'), '/usr/include/node'];
  return candidates.find((d) => existsSync(join(d, 'node_api.h')) && existsSync(join(d, 'uv.h')));
}

if (!existsSync(srcDir)) fail(`no sources at ${srcDir}`);
const names = readdirSync(srcDir).filter((f) => f.endsWith('.cc') || f.endsWith('.h'));
const sources = names.filter((f) => f.endsWith('.cc')).map((f) => join(srcDir, f));
if (sources.length === 0) fail(`no .cc files in ${srcDir}`);

// Rebuild when any source, header or this script is newer than the output.
const inputs = [...names.map((f) => join(srcDir, f)), fileURLToPath(import.meta.url)];
if (existsSync(out)) {
  const built = statSync(out).mtimeMs;
  if (inputs.every((f) => statSync(f).mtimeMs <= built)) {
    console.log(`build-native: ${out} is up to date`);
    process.exit(0);
  }
}

const include = nodeIncludeDir();
if (include === undefined) {
  fail(
    `Node's headers (node_api.h, uv.h) not found in ${join(dirname(dirname(process.execPath)), 'include', 'node')} ` +
      'or /usr/include/node; install them (Debian/Ubuntu: apt-get install libnode-dev, or use an official Node tarball)',
  );
}
const probe = spawnSync(cxx, ['--version'], { encoding: 'utf8' });
if (probe.error !== undefined || probe.status !== 0) {
  fail(`C++ compiler '${cxx}' not found or not working; install g++ (Debian/Ubuntu: apt-get install g++)`);
}

mkdirSync(outDir, { recursive: true });
// Compile to a temporary name and rename, so a concurrent load never sees half a file.
const tmp = `${out}.${process.pid}.tmp`;
const args = ['-O2', '-std=c++17', '-shared', '-fPIC', '-Wall', '-Wextra', '-DNAPI_VERSION=8', `-I${include}`, '-o', tmp, ...sources];
const t0 = Date.now();
const r = spawnSync(cxx, args, { stdio: 'inherit' });
if (r.status !== 0) {
  rmSync(tmp, { force: true });
  fail(`${cxx} failed (exit ${r.status ?? r.signal}): ${cxx} ${args.join(' ')}`);
}
renameSync(tmp, out);
console.log(`build-native: compiled ${sources.length} files with ${cxx} (headers ${include}) -> ${out} in ${Date.now() - t0} ms`);
