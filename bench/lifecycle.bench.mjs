// Life-cycle cycles per second (alloc, register, open, close, unregister, put) with the sanitizer off and
// on, and heap bytes per registered idle device over 10,000 devices. One JSON line per figure.
import { Host } from '../dist-test/base/host.js';
import { Device, deviceRegister } from '../dist-test/base/device.js';
import { sanitizer } from '../dist-test/sanitizer/index.js';
import {
  VfioDevice,
  allocDevice,
  putVfioDevice,
  registerEmulatedIommuDev,
  unregisterGroupDev,
  openDeviceFile,
  deviceFileRelease,
} from '../dist-test/vfio/index.js';

class BenchDev extends VfioDevice {
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

function emit(bench, unit, value, extra = {}) {
  console.log(JSON.stringify({ bench, unit, value: Math.round(value), ...extra }));
}

function newParent(host, name) {
  const p = new Device();
  p.name = name;
  p.release = () => {};
  deviceRegister(p, host);
  return p;
}

async function cycles(seconds, sanitize) {
  sanitizer.enabled = sanitize;
  const host = new Host();
  const parent = newParent(host, 'mdev0');
  let n = 0;
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  while (performance.now() < deadline) {
    for (let i = 0; i < 1000; i++) {
      const dev = allocDevice(BenchDev, parent, ops);
      registerEmulatedIommuDev(dev);
      const f = openDeviceFile(dev);
      deviceFileRelease(f);
      await unregisterGroupDev(dev);
      putVfioDevice(dev);
    }
    n += 1000;
  }
  return n / ((performance.now() - start) / 1000);
}

async function heapPerDevice(count) {
  sanitizer.enabled = false;
  const host = new Host();
  const parents = [];
  for (let i = 0; i < count; i++) parents.push(newParent(host, `mdev${i}`));
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  const devs = [];
  for (let i = 0; i < count; i++) {
    const d = allocDevice(BenchDev, parents[i], ops);
    registerEmulatedIommuDev(d);
    devs.push(d);
  }
  globalThis.gc?.();
  const after = process.memoryUsage().heapUsed;
  for (const d of devs) {
    await unregisterGroupDev(d);
    putVfioDevice(d);
  }
  return (after - before) / count;
}

await cycles(0.3, false);
emit('lifecycle.cycles_sanitizer_off', 'cycles/s', await cycles(2, false), { target: 500000 });
emit('lifecycle.cycles_sanitizer_on', 'cycles/s', await cycles(2, true));
emit('lifecycle.heap_per_registered_device', 'bytes', await heapPerDevice(10000), { devices: 10000, target_max: 4096 });
