// vfio-amba through the uAPI and over vfio-user: the device named from the periphid the bus read off the PL011,
// a byte through the UART (written to DR, back through the loopback), its RX interrupt on the level line with
// mask/unmask, the PL061's edge line (EVENTFD only, not maskable), and the PL011 exported by the vfio-user server
// and driven with the TypeScript client (GET_INFO flags, region reads and writes of its registers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as U from '../../hw/amba/pl011.js';
import * as P from '../../hw/amba/pl061.js';
import { fired } from '../../emu/irq.test-kit.js';
import { VFIO_DEVICE_FLAGS_AMBA, decodeVfioDeviceInfo } from '../../uapi/device-info.js';
import { VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_IRQ_INFO, VFIO_DEVICE_RESET, VFIO_DEVICE_SET_IRQS } from '../../uapi/ioctl.js';
import { VFIO_IRQ_INFO_AUTOMASKED, VFIO_IRQ_INFO_EVENTFD, VFIO_IRQ_INFO_MASKABLE, decodeVfioIrqInfo } from '../../uapi/irq-info.js';
import { VFIO_IRQ_SET_ACTION_MASK, VFIO_IRQ_SET_ACTION_UNMASK, encodeVfioIrqSet, vfioIrqSetOfEventfds, vfioIrqSetOfNone } from '../../uapi/irq-set.js';
import { VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE } from '../../uapi/region-info.js';
import { VfioUserClient } from '../../vfio-user/client.js';
import { VfioUserServer } from '../../vfio-user/server.js';
import { errno, openViaGroup, u32s } from '../../vfio/uapi.test-kit.js';
import { PL011, PL061, rd32, socBed, wr32 } from '../vfio-platform/platform.test-kit.js';

const ENABLE = U.UART01x_CR_UARTEN | U.UART011_CR_TXE | U.UART011_CR_RXE;

test('PL011: named from its periphid, AMBA flags, a byte through the UART, its RX interrupt masked and unmasked', async (t) => {
  const bed = socBed();
  t.after(() => bed.done());
  const vdev = bed.bind('amba', PL011);
  assert.equal(vdev.devName, 'vfio-amba-00141011');
  assert.equal(vdev.resetRequired, false, 'vfio-amba never requires a reset');
  const { device } = openViaGroup(bed.proc, vdev);
  const info = u32s(16, 0, 0, 0);
  bed.proc.ioctl(device, VFIO_DEVICE_GET_INFO, info);
  const di = decodeVfioDeviceInfo(info);
  assert.equal(di.flags, VFIO_DEVICE_FLAGS_AMBA, 'no reset handler for arm,pl011: no RESET flag');
  assert.equal(di.numRegions, 1);
  assert.equal(di.numIrqs, 1);
  assert.throws(() => bed.proc.ioctl(device, VFIO_DEVICE_RESET), errno('EINVAL'));
  const irq = u32s(16, 0, 0, 0);
  bed.proc.ioctl(device, VFIO_DEVICE_GET_IRQ_INFO, irq);
  assert.equal(decodeVfioIrqInfo(irq).flags, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED);
  assert.equal(rd32(bed.proc, device, 0, 0xfe0), 0x11, 'the PrimeCell ID reads through the region');
  const efd = bed.eventfd();
  bed.proc.ioctl(device, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfEventfds(0, 0, [efd])));
  wr32(bed.proc, device, 0, U.UART011_CR, ENABLE);
  wr32(bed.proc, device, 0, U.UART011_IMSC, U.UART011_RXIM);
  wr32(bed.proc, device, 0, U.UART01x_DR, 0x41);
  assert.equal(fired(efd), 1, 'RX interrupt through the eventfd');
  assert.equal(rd32(bed.proc, device, 0, U.UART01x_FR) & U.UART01x_FR_RXFE, 0);
  assert.equal(rd32(bed.proc, device, 0, U.UART01x_DR), 0x41, 'the byte came back');
  assert.equal(rd32(bed.proc, device, 0, U.UART01x_FR) & U.UART01x_FR_RXFE, U.UART01x_FR_RXFE);
  const set = (action: number): void => void bed.proc.ioctl(device, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfNone(0, 0, 1, action)));
  set(VFIO_IRQ_SET_ACTION_UNMASK);
  assert.equal(fired(efd), 0, 'the FIFO drained: the line dropped, nothing on unmask');
  set(VFIO_IRQ_SET_ACTION_MASK);
  wr32(bed.proc, device, 0, U.UART01x_DR, 0x42);
  assert.equal(fired(efd), 0, 'masked');
  set(VFIO_IRQ_SET_ACTION_UNMASK);
  assert.equal(fired(efd), 1, 'pending RX delivered on unmask');
  assert.equal(rd32(bed.proc, device, 0, U.UART01x_DR), 0x42);
  assert.equal(bed.uart.rx.length, 0);
});

test('PL061 on an edge line: EVENTFD only, MASK refused, every rising edge signalled', async (t) => {
  const bed = socBed();
  t.after(() => bed.done());
  const vdev = bed.bind('amba', PL061);
  assert.equal(vdev.devName, 'vfio-amba-00041061');
  const { device } = openViaGroup(bed.proc, vdev);
  const irq = u32s(16, 0, 0, 0);
  bed.proc.ioctl(device, VFIO_DEVICE_GET_IRQ_INFO, irq);
  assert.equal(decodeVfioIrqInfo(irq).flags, VFIO_IRQ_INFO_EVENTFD);
  assert.throws(() => bed.proc.ioctl(device, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfNone(0, 0, 1, VFIO_IRQ_SET_ACTION_MASK))), errno('EINVAL'));
  const efd = bed.eventfd();
  bed.proc.ioctl(device, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfEventfds(0, 0, [efd])));
  wr32(bed.proc, device, 0, P.GPIOIEV, 0x01);
  wr32(bed.proc, device, 0, P.GPIOIE, 0x01);
  bed.gpio.setInput(0, true);
  assert.equal(fired(efd), 1);
  wr32(bed.proc, device, 0, P.GPIOIC, 0x01);
  bed.gpio.setInput(0, false);
  bed.gpio.setInput(0, true);
  assert.equal(fired(efd), 1, 'not automasked: the next edge is signalled too');
  assert.equal(rd32(bed.proc, device, 0, P.GPIOMIS), 0x01);
});

test('vfio-user: the PL011 exported and driven with the TypeScript client (AMBA flags, a register written and read)', async (t) => {
  const bed = socBed();
  const vdev = bed.bind('amba', PL011);
  const dir = mkdtempSync(join(tmpdir(), 'vfio-amba-user-'));
  const server = new VfioUserServer({});
  const path = join(dir, 'pl011.sock');
  await server.export(vdev, path);
  const client = await VfioUserClient.connect(path);
  t.after(async () => {
    await client.close();
    await server.close();
    await bed.done();
    rmSync(dir, { recursive: true, force: true });
  });
  const info = await client.getDeviceInfo();
  assert.equal(info.flags, VFIO_DEVICE_FLAGS_AMBA);
  assert.equal(info.numRegions, 1);
  assert.equal(info.numIrqs, 1);
  const r = await client.getRegionInfo(0);
  assert.equal(r.size, 0x1000n);
  assert.equal(r.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE);
  await client.regionWrite(0, U.UART011_CR, Buffer.from([ENABLE & 0xff, ENABLE >>> 8, 0, 0]));
  assert.equal(bed.uart.cr, ENABLE, 'the write reached the UART');
  await client.regionWrite(0, U.UART01x_DR, Buffer.from([0x5a, 0, 0, 0]));
  assert.deepEqual([...(await client.regionRead(0, U.UART01x_DR, 4))], [0x5a, 0, 0, 0], 'the byte came back over the socket');
  assert.deepEqual([...(await client.regionRead(0, 0xfe0, 4))], [0x11, 0, 0, 0]);
});
