// One life-cycle measurement (alloc, register, open, close, unregister, put, repeated) against a build of the
// core: `node bench/lifecycle-cycles.mjs DIST SECONDS SANITIZE` prints {"cycles_per_s": N}. DIST is dist-test/
// of this checkout or of a baseline commit built by lifecycle.bench.mjs, so both run the same loop.
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const [distArg = 'dist-test', secondsArg = '2', sanitizeArg = '0'] = process.argv.slice(2);
const dist = pathToFileURL(resolve(distArg)).href;
const { Host } = await import(`${dist}/base/host.js`);
const { Device, deviceRegister } = await import(`${dist}/base/device.js`);
const { sanitizer } = await import(`${dist}/sanitizer/index.js`);
const vfio = await import(`${dist}/vfio/index.js`);

class BenchDev extends vfio.VfioDevice {
  counter = 0;
}
const ops = Object.freeze({
  name: 'bench',
  init(d) {
    d.counter = 1;
  },
  openDevice(d) {
    d.counter++;
  },
  closeDevice(d) {
    d.counter--;
  },
});

async function cycles(seconds) {
  const host = new Host();
  const parent = new Device();
  parent.name = 'mdev0';
  parent.release = () => {};
  deviceRegister(parent, host);
  let n = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  while (performance.now() < deadline) {
    for (let i = 0; i < 1000; i++) {
      const dev = vfio.allocDevice(BenchDev, parent, ops);
      vfio.registerEmulatedIommuDev(dev);
      const f = vfio.openDeviceFile(dev);
      vfio.deviceFileRelease(f);
      await vfio.unregisterGroupDev(dev);
      vfio.putVfioDevice(dev);
    }
    n += 1000;
  }
  return n / ((performance.now() - start) / 1000);
}

sanitizer.enabled = sanitizeArg === '1';
await cycles(0.3);
console.log(JSON.stringify({ cycles_per_s: Math.round(await cycles(Number(secondsArg))) }));
