// The life-cycle loop (alloc, register, open, close, unregister, put, repeated) against one build of the core.
// lifecycle.bench.mjs loads this checkout's dist-test/ and a baseline commit's build side by side in one process
// and alternates short slices of the two, so both see the same machine at the same moment.
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

/** Imports what the loop needs from a dist directory (dist-test/ of some build). */
export async function loadCore(dist) {
  const url = pathToFileURL(resolve(dist)).href;
  const { Host } = await import(`${url}/base/host.js`);
  const { Device, deviceRegister } = await import(`${url}/base/device.js`);
  const { sanitizer } = await import(`${url}/sanitizer/index.js`);
  const vfio = await import(`${url}/vfio/index.js`);
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
  const host = new Host();
  const parent = new Device();
  parent.name = 'mdev0';
  parent.release = () => {};
  deviceRegister(parent, host);
  return { vfio, sanitizer, BenchDev, ops, parent };
}

/** Runs the loop for `seconds` with the sanitizer on or off; returns cycles/s. */
export async function cycles(core, seconds, sanitize = false) {
  const { vfio, BenchDev, ops, parent } = core;
  core.sanitizer.enabled = sanitize;
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
