// hisi-acc-vfio-pci over vfio-user: two servers each exporting a ZIP VF on real UNIX sockets, TypeScript clients
// mapping one memfd as guest memory on both; the guest leaves the source's queue half consumed, the client saves
// the source (MIG_DATA_READ) and resumes the target (MIG_DATA_WRITE), which finishes the queue in that memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GuestQm } from '../../hw/hisi-qm/guest-qm.test-kit.js';
import { GUEST_MEM_SIZE } from '../../hw/hisi-qm/guest-qm.test-kit.js';
import { PCI_COMMAND, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY } from '../../uapi/pci-regs.js';
import { VfioDeviceMigState } from '../../uapi/migration.js';
import { VfioUserClient } from '../../vfio-user/client.js';
import { VfioUserServer } from '../../vfio-user/server.js';
import { VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, VFIO_DEVICE_FEATURE_SET, encodeDeviceFeature } from '../../vfio-user/protocol/index.js';
import { VF_DATA } from './hisi-acc-device.js';
import { GUEST_IOVA, hisiBed } from './hisi-acc.test-kit.js';

const { STOP, RUNNING, STOP_COPY, RESUMING } = VfioDeviceMigState;

function migState(state: number): Buffer {
  const data = Buffer.alloc(8);
  data.writeUInt32LE(state, 0);
  data.writeInt32LE(-1, 4);
  return encodeDeviceFeature(VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, data);
}

/** A guest QM whose register writes go out as REGION_WRITEs of BAR2, in order; `flush` waits for them. */
function clientGuest(c: VfioUserClient, mem: Uint8Array): { guest: GuestQm; flush(): Promise<void> } {
  const pending: Promise<void>[] = [];
  const io = {
    readl: () => 0,
    writel: (off: number, v: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(v >>> 0, 0);
      pending.push(c.regionWrite(2, off, b));
    },
  };
  return { guest: new GuestQm(io, mem, GUEST_IOVA), flush: async () => void (await Promise.all(pending.splice(0))) };
}

test('vfio-user: save a half-consumed ZIP VF from one server (MIG_DATA_READ), resume it on another (MIG_DATA_WRITE)', async (t) => {
  const bed = await hisiBed([{ kind: 'zip', numVfs: 2, sqeBurst: 2 }]);
  const dir = mkdtempSync(join(tmpdir(), 'hisi-acc-user-'));
  const servers = [new VfioUserServer({}), new VfioUserServer({})];
  const clients: VfioUserClient[] = [];
  t.after(async () => {
    for (const c of clients) await c.close();
    for (const s of servers) await s.close();
    await bed.done();
    rmSync(dir, { recursive: true, force: true });
  });
  const paths = [join(dir, 'src.sock'), join(dir, 'dst.sock')];
  for (const [i, s] of servers.entries()) await s.export(bed.bind(0, i), paths[i] ?? '');
  for (const p of paths) {
    const c = await VfioUserClient.connect(p);
    clients.push(c);
    await c.dmaMap({ iova: GUEST_IOVA, size: BigInt(GUEST_MEM_SIZE), fd: bed.memfd });
    await c.regionWrite(7, PCI_COMMAND, Buffer.from([PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 0]));
  }
  const [a, b] = clients;
  assert.ok(a && b);
  const srcHw = bed.pfHw[0]?.vf(0);
  const dstHw = bed.pfHw[0]?.vf(1);

  const { guest, flush } = clientGuest(a, bed.mem);
  guest.start();
  for (let i = 0; i < 4; i++) {
    guest.src(i).fill(0x10 + i);
    guest.put(i);
  }
  guest.ring();
  await flush();
  assert.equal(srcHw?.qm.completed, 2, 'the source consumed half its queue');
  assert.equal(guest.dst(2)[0], 0);

  await a.feature(migState(STOP));
  await a.feature(migState(STOP_COPY));
  const parts: Buffer[] = [];
  for (let d = await a.migDataRead(64); d.length > 0; d = await a.migDataRead(64)) parts.push(d);
  const stream = Buffer.concat(parts);
  assert.equal(stream.length, VF_DATA.size);

  await b.feature(migState(STOP));
  await b.feature(migState(RESUMING));
  await b.migDataWrite(stream);
  await b.feature(migState(STOP));
  await b.feature(migState(RUNNING));
  assert.equal(dstHw?.qm.completed, 2, 'the target finished the queue');
  for (let i = 0; i < 4; i++) assert.deepEqual(guest.dst(i), guest.src(i));
  assert.equal(guest.cqe(3).sqHead, 4);
  assert.equal(srcHw?.qm.completed, 2, 'the source did nothing more');
});
