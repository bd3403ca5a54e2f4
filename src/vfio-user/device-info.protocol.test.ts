// DEVICE_GET_INFO, GET_REGION_INFO (argsz rule, mmap fd), GET_REGION_IO_FDS, GET_IRQ_INFO, SET_IRQS with
// eventfds and DEVICE_RESET over a real socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as native from '../native/index.js';
import { Errno } from '../uapi/errno.js';
import { VFIO_DEVICE_FLAGS_PCI, VFIO_DEVICE_FLAGS_RESET } from '../uapi/device-info.js';
import { VFIO_REGION_INFO_FLAG_MMAP } from '../uapi/region-info.js';
import { RawClient, openFdCount, testBed, waitFor } from './server.test-kit.js';
import { VfioUserClient } from './client.js';
import {
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_USER_DEVICE_GET_INFO,
  VFIO_USER_DEVICE_GET_REGION_INFO,
  VFIO_USER_DEVICE_SET_IRQS,
  VFIO_USER_REGION_READ,
  encodeCommand,
  encodeIrqSet,
  encodeRegionAccess,
  encodeRegionInfoRequest,
} from './protocol/index.js';

test('DEVICE_GET_INFO: 16-byte reply with PCI|RESET, 9 regions, 5 irqs; short argsz is EINVAL', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const c = await VfioUserClient.connect(bed.path());
  t.after(() => c.close());
  const info = await c.getDeviceInfo();
  assert.equal(info.flags & (VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET), VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET);
  assert.equal(info.numRegions, 9);
  assert.equal(info.numIrqs, 5);
  const r = await c.request(VFIO_USER_DEVICE_GET_INFO, Buffer.from([16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
  assert.equal(r.payload.length, 16);
  assert.equal(r.payload.readUInt32LE(0), 16);
  await assert.rejects(c.request(VFIO_USER_DEVICE_GET_INFO, Buffer.from([8, 0, 0, 0, 0, 0, 0, 0])), { code: 'EINVAL' });
});

test('GET_REGION_INFO: BAR0 size, config region, bad index EINVAL, short argsz EINVAL', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const c = await VfioUserClient.connect(bed.path());
  t.after(() => c.close());
  const bar0 = await c.getRegionInfo(0);
  assert.equal(bar0.size, 4096n);
  assert.equal(bar0.fd, undefined);
  assert.equal((await c.getRegionInfo(7)).size, 256n);
  await assert.rejects(c.getRegionInfo(40), { code: 'EINVAL' });
  await assert.rejects(c.request(VFIO_USER_DEVICE_GET_REGION_INFO, encodeRegionInfoRequest(0, 16).subarray(0, 16)), { code: 'EINVAL' });
});

test('GET_REGION_INFO of an mmappable BAR sends its fd; writes through the mapping reach the device', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const c = await VfioUserClient.connect(bed.path());
  t.after(() => c.close());
  const bar2 = await c.getRegionInfo(2, 256);
  assert.ok(bar2.flags & VFIO_REGION_INFO_FLAG_MMAP);
  assert.notEqual(bar2.fd, undefined);
  const fd = bar2.fd as number;
  const ab = native.mmap(fd, Number(bar2.offset), 4096, true);
  new Uint8Array(ab)[5] = 0x77;
  native.munmap(ab);
  native.close(fd);
  const mine = native.mmap(bed.devices[0]!.bar2Fd, 0, 4096, false);
  assert.equal(new Uint8Array(mine)[5], 0x77);
  native.munmap(mine);
});

test('GET_REGION_IO_FDS: an empty list; bad region EINVAL', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const c = await VfioUserClient.connect(bed.path());
  t.after(() => c.close());
  const r = await c.getRegionIoFds(0);
  assert.equal(r.count, 0);
  assert.deepEqual(r.fds, []);
  await assert.rejects(c.getRegionIoFds(77), { code: 'EINVAL' });
});

test('GET_IRQ_INFO and SET_IRQS: an eventfd for MSI fires when the device raises it; the server keeps no copy', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const c = await VfioUserClient.connect(bed.path());
  t.after(() => c.close());
  const msi = await c.getIrqInfo(1);
  assert.equal(msi.count, 1);
  assert.equal((await c.getIrqInfo(4)).count, 1, 'REQ');
  const before = openFdCount();
  const efd = native.eventfd();
  t.after(() => native.close(efd));
  await c.setIrqs(1, 0, [efd]);
  assert.equal(openFdCount(), before + 2, 'ours and the driver dup; the server closed the received one');
  bed.devices[0]!.raiseMsi(0);
  assert.equal(native.eventfdRead(efd), 1n);
  await c.setIrqs(1, 0, null);
  assert.equal(openFdCount(), before + 1, 'teardown closed the driver dup');
  await assert.rejects(c.getIrqInfo(9), { code: 'EINVAL' });
});

test('SET_IRQS with the wrong number of fds, or fds on a command that takes none: EINVAL, fds closed', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const raw = new RawClient(bed.path());
  t.after(() => raw.close());
  await raw.handshake();
  const a = native.eventfd();
  const b = native.eventfd();
  const before = openFdCount();
  raw.send(encodeCommand(1, VFIO_USER_DEVICE_SET_IRQS, encodeIrqSet(VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, 1, 0, 1)), [a, b]);
  assert.equal((await raw.next()).header.errorNo, Errno.EINVAL);
  raw.send(encodeCommand(2, VFIO_USER_REGION_READ, encodeRegionAccess(0, 0, 4)), [a]);
  assert.equal((await raw.next()).header.errorNo, Errno.EINVAL);
  await waitFor(() => openFdCount() === before, 2000, 'received fds closed');
  native.close(a);
  native.close(b);
});

test('DEVICE_RESET resets config space', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const c = await VfioUserClient.connect(bed.path());
  t.after(() => c.close());
  await c.regionWrite(7, 4, Buffer.from([0x06, 0x00])); // COMMAND: memory + bus master
  assert.equal((await c.regionRead(7, 4, 2)).readUInt16LE(0) & 0x6, 0x6);
  await c.reset();
  assert.equal((await c.regionRead(7, 4, 2)).readUInt16LE(0) & 0x6, 0);
});
