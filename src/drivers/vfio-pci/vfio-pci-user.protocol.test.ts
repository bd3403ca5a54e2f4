// The vfio-pci-bound 1b36:0002 card exported by the vfio-user server, as QEMU's vfio-user-pci reaches it: VERSION,
// then REGION_READ of the virtual config space and REGION_WRITE/READ of a UART register in BAR0, byte for byte.
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
