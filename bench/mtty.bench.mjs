// mtty region reads per second through the core's device-file API: a 4-byte read of BAR0 at offset 4 (MCR, LSR,
// MSR, SCR: the LSR poll an 8250 driver does), and a 1-byte LSR read. One JSON line per figure.
import { openDeviceFile, deviceFileRead, deviceFileRelease } from '../dist-test/vfio/index.js';
import { mdevRemove } from '../dist-test/mdev/index.js';
import { mttyTestHost } from '../dist-test/drivers/mtty/mtty.test-kit.js';

function emit(bench, unit, value, extra = {}) {
  console.log(JSON.stringify({ bench, unit, value: Math.round(value), ...extra }));
}

// A two-port mtty made as the kernel makes one: an mdev of type mtty-2, probed by the mtty driver.
const th = mttyTestHost();
const { mdev, dev } = th.create('2');
const df = openDeviceFile(dev);

function rate(len, pos, seconds = 1) {
  const buf = new Uint8Array(len);
  for (let i = 0; i < 100_000; i++) deviceFileRead(df, buf, pos);
  let n = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  while (performance.now() < deadline) {
    for (let i = 0; i < 10_000; i++) deviceFileRead(df, buf, pos);
    n += 10_000;
  }
  return (n * 1000) / (performance.now() - start);
}

emit('mtty.region_read.bar0_4byte_at_lsr_dword', 'ops/s', rate(4, 4), { offset: 4, size: 4 });
emit('mtty.region_read.bar0_lsr_1byte', 'ops/s', rate(1, 5), { offset: 5, size: 1 });
deviceFileRelease(df);
await mdevRemove(mdev);
await th.unload();
