// The vfio-pci-bound 1b36:0002 card exported by the vfio-user server, as QEMU's vfio-user-pci reaches it: VERSION,
// then REGION_READ of the virtual config space and REGION_WRITE/READ of a UART register in BAR0, byte for byte; and
// the std-vga card whose VRAM BAR's GET_REGION_INFO carries the memfd to map.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PciSerialCard } from '../../hw/pci/serial-card.js';
import { UART_SCR } from '../../uapi/serial-reg.js';
import { Errno } from '../../uapi/errno.js';
import { VfioUserServer } from '../../vfio-user/server.js';
import { RawClient } from '../../vfio-user/server.test-kit.js';
import { VFIO_USER_REGION_READ, VFIO_USER_REGION_WRITE, encodeCommand, encodeRegionAccess } from '../../vfio-user/protocol/index.js';
import { pciBed } from './vfio-pci.test-kit.js';
import { StdVga } from '../../hw/pci/std-vga.js';
import { close, mmap, munmap } from '../../native/index.js';
import { VfioUserClient } from '../../vfio-user/client.js';
import { VFIO_PCI_ROM_REGION_INDEX, VFIO_REGION_INFO_FLAG_MMAP, VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE } from '../../uapi/region-info.js';

test('vfio-user: config space and a UART register of the vfio-pci-bound serial card over the socket', async (t) => {
  const card = new PciSerialCard();
  const bed = pciBed({ devices: [{ device: 3, hw: card }] });
  const vdev = bed.bind('0000:00:03.0');
  const dir = mkdtempSync(join(tmpdir(), 'vfio-pci-user-'));
  const server = new VfioUserServer({});
  const path = join(dir, 'serial.sock');
  await server.export(vdev, path);
  const raw = new RawClient(path);
  t.after(async () => {
    raw.close();
    await server.close();
    await bed.done();
    rmSync(dir, { recursive: true, force: true });
  });
  await raw.handshake();
  raw.send(encodeCommand(1, VFIO_USER_REGION_READ, encodeRegionAccess(0, 7, 4)));
  const id = await raw.next();
  assert.equal(id.header.errorNo, 0);
  assert.deepEqual(id.payload, Buffer.concat([encodeRegionAccess(0, 7, 4), Buffer.from([0x36, 0x1b, 0x02, 0x00])]), 'vendor 1b36, device 0002');
  raw.send(encodeCommand(2, VFIO_USER_REGION_READ, encodeRegionAccess(0x3d, 7, 1)));
  assert.deepEqual((await raw.next()).payload.subarray(16), Buffer.from([1]), 'INTA#');
  // Decoding on (the user's COMMAND: I/O space), then the scratch register of the UART.
  raw.send(encodeCommand(3, VFIO_USER_REGION_WRITE, encodeRegionAccess(4, 7, 2, Buffer.from([0x01, 0x00]))));
  assert.equal((await raw.next()).header.errorNo, 0);
  raw.send(encodeCommand(4, VFIO_USER_REGION_WRITE, encodeRegionAccess(UART_SCR, 0, 1, Buffer.from([0xa5]))));
  assert.equal((await raw.next()).header.errorNo, 0);
  assert.equal(card.uart.read(UART_SCR), 0xa5, 'the write reached the card');
  raw.send(encodeCommand(5, VFIO_USER_REGION_READ, encodeRegionAccess(UART_SCR, 0, 1)));
  assert.deepEqual((await raw.next()).payload, Buffer.concat([encodeRegionAccess(UART_SCR, 0, 1), Buffer.from([0xa5])]));
  // BAR0 is 8 bytes: a read past it is EINVAL on the wire.
  raw.send(encodeCommand(6, VFIO_USER_REGION_READ, encodeRegionAccess(8, 0, 1)));
  assert.equal((await raw.next()).header.errorNo, Errno.EINVAL);
});

test('vfio-user: GET_REGION_INFO of the vfio-pci-bound std-vga\'s VRAM BAR carries the card\'s memfd, and writes through it reach the card', async (t) => {
  const card = new StdVga({ vramSize: 1 << 20 });
  const bed = pciBed({ devices: [{ device: 2, hw: card }] });
  const vdev = bed.bind('0000:00:02.0');
  const dir = mkdtempSync(join(tmpdir(), 'vfio-pci-user-'));
  const server = new VfioUserServer({});
  const path = join(dir, 'vga.sock');
  await server.export(vdev, path);
  const client = await VfioUserClient.connect(path);
  const fds: number[] = [];
  t.after(async () => {
    await client.close();
    for (const fd of fds) close(fd);
    await server.close();
    await bed.done();
    card.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const bar0 = await client.getRegionInfo(0);
  assert.ok(bar0.fd !== undefined, 'the mmap fd came with the reply');
  fds.push(bar0.fd);
  assert.equal(bar0.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP);
  assert.equal(bar0.size, 1n << 20n);
  assert.equal(bar0.offset, 0n, 'the offset to mmap in the fd');
  const mmio = await client.getRegionInfo(2);
  assert.equal(mmio.fd, undefined, 'registers: no fd');
  assert.equal(mmio.flags & VFIO_REGION_INFO_FLAG_MMAP, 0);
  const rom = await client.getRegionInfo(VFIO_PCI_ROM_REGION_INDEX);
  assert.equal(rom.size, 0x10000n);
  assert.equal(rom.fd, undefined);
  const ab = mmap(bar0.fd, 0, 1 << 20, true);
  t.after(() => munmap(ab));
  new Uint8Array(ab).set([0xde, 0xad], 0x4000);
  assert.deepEqual([...card.vram.subarray(0x4000, 0x4002)], [0xde, 0xad]);
  await client.regionWrite(7, 4, Uint8Array.of(0x02, 0x00)); // COMMAND.MEMORY
  assert.deepEqual([...(await client.regionRead(0, 0x4000, 2))], [0xde, 0xad], 'a REGION_READ of BAR0 sees it');
  assert.deepEqual([...(await client.regionRead(VFIO_PCI_ROM_REGION_INDEX, 0, 2))], [0x55, 0xaa]);
});
