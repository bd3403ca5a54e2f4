// DEVICE_FEATURE, MIG_DATA_READ and MIG_DATA_WRITE over a real socket: migration v2 save and resume of the
// test device through the connection's process, and the errnos of bad requests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testBed } from './server.test-kit.js';
import { VfioUserClient } from './client.js';
import {
  VFIO_DEVICE_FEATURE_GET,
  VFIO_DEVICE_FEATURE_MIGRATION,
  VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
  VFIO_DEVICE_FEATURE_SET,
  VFIO_USER_MIG_DATA_READ,
  encodeDeviceFeature,
  encodeMigDataRead,
} from './protocol/index.js';

const STOP = 1;
const RUNNING = 2;
const STOP_COPY = 3;
const RESUMING = 4;

function migState(state: number): Buffer {
  const data = Buffer.alloc(8);
  data.writeUInt32LE(state, 0);
  data.writeInt32LE(-1, 4);
  return encodeDeviceFeature(VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, data);
}

async function readAll(c: VfioUserClient): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (;;) {
    const d = await c.migDataRead(4096);
    if (d.length === 0) return Buffer.concat(parts);
    parts.push(d);
  }
}

test('DEVICE_FEATURE MIGRATION GET reports STOP_COPY; save on one device and resume on another', async (t) => {
  const bed = await testBed(2);
  t.after(() => bed.close());
  const a = await VfioUserClient.connect(bed.path(0));
  t.after(() => a.close());
  const get = await a.feature(encodeDeviceFeature(VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION, Buffer.alloc(8)));
  assert.equal(get.length, 16);
  assert.equal(Number(get.readBigUInt64LE(8)) & 1, 1, 'VFIO_MIGRATION_STOP_COPY');
  await a.regionWrite(0, 0, Buffer.from('state!'));
  await a.feature(migState(STOP));
  await a.feature(migState(STOP_COPY));
  const stream = await readAll(a);
  assert.ok(stream.length > 16);
  await a.feature(migState(STOP));

  const b = await VfioUserClient.connect(bed.path(1));
  t.after(() => b.close());
  await b.feature(migState(STOP));
  await b.feature(migState(RESUMING));
  await b.migDataWrite(stream);
  await b.feature(migState(STOP));
  await b.feature(migState(RUNNING));
  assert.equal((await b.regionRead(0, 0, 6)).toString(), 'state!');
});

test('MIG_DATA_READ without a data stream is EINVAL; DEVICE_FEATURE short payload EINVAL; unknown feature fails', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const c = await VfioUserClient.connect(bed.path());
  t.after(() => c.close());
  await assert.rejects(c.request(VFIO_USER_MIG_DATA_READ, encodeMigDataRead(16)), { code: 'EINVAL' });
  await assert.rejects(c.request(16, Buffer.alloc(4)), { code: 'EINVAL' });
  await assert.rejects(c.feature(encodeDeviceFeature(VFIO_DEVICE_FEATURE_GET | 0x7ff, Buffer.alloc(8))));
});
