// migrateDevice between two mbochs devices exported by one vfio-user server: a mode and a picture set by a client, VRAM
// written during PRE_COPY (through the BAR and behind it) reaching the target, the same screenshot and mode there; a
// device of another type refused up front and a garbage stream refused by the device, the source running on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Host } from '../base/host.js';
import { sanitizer } from '../sanitizer/sanitizer.js';
import { VfioError } from '../uapi/errno.js';
import { VFIO_DEVICE_STATE_RESUMING, VFIO_DEVICE_STATE_RUNNING, VFIO_DEVICE_STATE_STOP } from '../uapi/migration.js';
import { vfioConfigure } from '../vfio/core-state.js';
import { opsOf } from '../vfio/vfio-device.js';
import { mdevCreate, mdevParentType, mdevVfioDevice } from '../mdev/index.js';
import { VBE_DISPI_ENABLED, VBE_DISPI_INDEX_BPP, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_INDEX_XRES, VBE_DISPI_INDEX_YRES, VBE_DISPI_LFB_ENABLED } from '../hw/bochs-dispi.js';
import { MbochsState, mbochsRegister, screenshot } from '../drivers/mbochs/index.js';
import { VfioUserClient } from './client.js';
import { migrationState, setMigrationState } from './client-migration.js';
import { MigrationError, migrateDevice } from './migrate.js';
import { VfioUserServer } from './server.js';

test('migrateDevice moves an mbochs mid-use: PRE_COPY writes reach the target, same screen and mode; wrong type refused', async (t) => {
  const mark = sanitizer.mark();
  const host = new Host();
  vfioConfigure(host, { requestIntervalMs: 10 });
  const sample = mbochsRegister(host);
  const server = new VfioUserServer({});
  const dir = mkdtempSync(join(tmpdir(), 'vfio-user-mig-'));
  const clients: VfioUserClient[] = [];
  t.after(async () => {
    for (const c of clients) await c.close();
    await server.close();
    await sample.unregister();
    rmSync(dir, { recursive: true, force: true });
    sanitizer.assertNoLeaks(mark);
  });
  const exported = async (type: string, n: number): Promise<{ dev: MbochsState; c: VfioUserClient }> => {
    const ty = mdevParentType(sample.parent, type);
    assert.ok(ty);
    const dev = mdevVfioDevice(mdevCreate(ty, `0000000${n}-0000-4000-8000-00000000000${n}`));
    assert.ok(dev instanceof MbochsState);
    await server.export(dev, join(dir, `mbochs${n}.sock`));
    const c = await VfioUserClient.connect(join(dir, `mbochs${n}.sock`));
    clients.push(c);
    return { dev, c };
  };
  const src = await exported('small', 1);
  const dst = await exported('small', 2);
  const medium = await exported('medium', 3);

  // The guest's work through the source's client: a 128x64 mode and a picture.
  const dispi = (index: number, value: number): Promise<void> => src.c.regionWrite(2, 0x500 + index * 2, Buffer.from(new Uint16Array([value]).buffer));
  await dispi(VBE_DISPI_INDEX_XRES, 128);
  await dispi(VBE_DISPI_INDEX_YRES, 64);
  await dispi(VBE_DISPI_INDEX_BPP, 32);
  await dispi(VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED);
  const frame = Buffer.alloc(128 * 64 * 4);
  for (let i = 0; i < frame.length; i += 4) frame.set([(i >> 2) & 0xff, 0x40, (i >> 10) & 0xff, 0], i);
  await src.c.regionWrite(0, 0, frame);

  await assert.rejects(migrateDevice(src.c, medium.c), (e) => e instanceof MigrationError && /not the same kind/.test(e.message) && e.source === 'running');
  await setMigrationState(medium.c, VFIO_DEVICE_STATE_RESUMING);
  await assert.rejects(medium.c.migDataWrite(Buffer.from('a stream that is not one of an mbochs')), (e) => VfioError.is(e, 'EINVAL'));
  await assert.rejects(setMigrationState(medium.c, VFIO_DEVICE_STATE_STOP), (e) => VfioError.is(e, 'EINVAL'));
  assert.equal(await migrationState(src.c), VFIO_DEVICE_STATE_RUNNING, 'the source was never stopped');

  // While pre-copy runs the device keeps changing: a BAR write in round 1, an mmap-style write in round 2.
  const rounds = new Set<number>();
  const r = await migrateDevice(src.c, dst.c, {
    convergeBytes: 0,
    maxIterations: 3,
    onProgress: (p) => {
      if (p.phase !== 'pre-copy' || rounds.has(p.iteration)) return;
      rounds.add(p.iteration);
      if (p.iteration === 1) opsOf(src.dev).regionRw?.(src.dev, 0, 512 * 4, new Uint8Array(64).fill(0xab), true);
      if (p.iteration === 2) src.dev.memory.fill(0xcd, 30 * 512, 30 * 512 + 64);
    },
  });
  assert.equal(r.iterations, 3);
  assert.ok(r.preCopyBytes > 128 * 64 * 4, JSON.stringify(r));
  assert.ok(r.stopCopyBytes > 0 && r.stopCopyBytes < 8192, `the stop-copy part is the final state record: ${r.stopCopyBytes}`);
  assert.equal(await migrationState(dst.c), VFIO_DEVICE_STATE_RUNNING);
  assert.deepEqual(screenshot(dst.dev), screenshot(src.dev), 'the same picture');
  assert.deepEqual(dst.dev.dispiOf().scanout(), src.dev.dispiOf().scanout(), 'the same mode');
  assert.deepEqual([...(await dst.c.regionRead(0, 512 * 4, 4))], [0xab, 0xab, 0xab, 0xab], 'the BAR write during pre-copy');
  assert.deepEqual([...(await dst.c.regionRead(0, 30 * 512, 4))], [0xcd, 0xcd, 0xcd, 0xcd], 'the write behind the BAR');
});
