// vfio-pci against mtty through the core's device-file API, in one run: a 4-byte config-space read (the
// virtualized vendor/device dword) and a 1-byte BAR0 read of a 16550's LSR, on a 1b36:0002 card bound to vfio-pci
// and on a two-port mtty. One JSON line per figure, and the ratio of each vfio-pci figure to mtty's.
import { PciSerialCard } from '../dist-test/hw/pci/serial-card.js';
import { deviceFileRead, deviceFileRelease, deviceFileWrite, openDeviceFile } from '../dist-test/vfio/index.js';
import { mdevRemove } from '../dist-test/mdev/index.js';
import { mttyTestHost } from '../dist-test/drivers/mtty/mtty.test-kit.js';
import { pciBed } from '../dist-test/drivers/vfio-pci/vfio-pci.test-kit.js';
import { vfioPciIndexToOffset } from '../dist-test/uapi/region-info.js';

function emit(bench, unit, value, extra = {}) {
  console.log(JSON.stringify({ bench, unit, value: Number(value.toFixed(unit === 'ratio' ? 3 : 0)), ...extra }));
}

function rate(df, len, pos, seconds = 1) {
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

const CONFIG = Number(vfioPciIndexToOffset(7));
const BAR0 = Number(vfioPciIndexToOffset(0));

// mtty: an mdev of type 2, probed by the mtty driver.
const th = mttyTestHost();
const { mdev, dev: mtty } = th.create('2');
const mttyDf = openDeviceFile(mtty);

// vfio-pci: the pci-serial card on a simulated root bus, bound through driver_override + bind; I/O decoding on.
const bed = pciBed({ devices: [{ device: 3, hw: new PciSerialCard() }] });
const vdev = bed.bind('0000:00:03.0');
const pciDf = openDeviceFile(vdev);
deviceFileWrite(pciDf, Uint8Array.of(0x01, 0x00), CONFIG + 4);

const figures = [
  ['config_read_4', 4, CONFIG],
  ['bar0_lsr_read_1', 1, BAR0 + 5],
];
for (const [name, len, pos] of figures) {
  const m = rate(mttyDf, len, pos);
  const p = rate(pciDf, len, pos);
  emit(`vfio_pci.${name}.mtty`, 'ops/s', m);
  emit(`vfio_pci.${name}.vfio_pci`, 'ops/s', p);
  emit(`vfio_pci.${name}.ratio_to_mtty`, 'ratio', p / m, { target_min: 0.9 });
}

deviceFileRelease(pciDf);
deviceFileRelease(mttyDf);
await bed.done();
await mdevRemove(mdev);
await th.unload();
