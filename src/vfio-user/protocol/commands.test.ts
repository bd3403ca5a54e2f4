// Round trips and errno cases for the per-command payload codecs: DMA, region, device info,
// SET_IRQS, DEVICE_FEATURE and migration data (errnos as libvfio-user's test/py/test_*.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioError, type ErrnoName } from '../../uapi/errno.js';
import {
  checkDmaWriteReply,
  decodeDmaAccess,
  decodeDmaMap,
  decodeDmaReadReply,
  decodeDmaUnmap,
  decodeDmaWriteRequest,
  encodeDmaMap,
  encodeDmaReadReply,
  encodeDmaReadRequest,
  encodeDmaUnmap,
  encodeDmaUnmapReply,
  encodeDmaWriteReply,
  encodeDmaWriteRequest,
  VFIO_DMA_UNMAP_FLAG_ALL,
  VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
  VFIO_USER_F_DMA_REGION_READ,
  VFIO_USER_F_DMA_REGION_WRITE,
} from './dma.js';
import {
  createRegionAccess,
  decodeRegionAccessReply,
  decodeRegionWriteMulti,
  encodeRegionAccess,
  encodeRegionWriteMulti,
  encodeRegionWriteMultiReply,
  readRegionAccess,
  regionReadReplySize,
  writeRegionReadReply,
  writeRegionWriteReply,
} from './region.js';
import {
  decodeDeviceInfoRequest,
  decodeIrqInfoRequest,
  decodeIrqSet,
  decodeRegionInfoRequest,
  decodeRegionIoFdsReply,
  decodeRegionIoFdsRequest,
  encodeDeviceInfoRequest,
  encodeIrqInfoRequest,
  encodeIrqSet,
  encodeRegionInfoRequest,
  encodeRegionIoFdsReply,
  encodeRegionIoFdsRequest,
  frameDeviceInfoReply,
  frameIrqInfoReply,
  frameRegionInfoReply,
  irqSetToIoctl,
  VFIO_IRQ_SET_ACTION_MASK,
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_DATA_BOOL,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_DATA_NONE,
  VFIO_USER_IO_FD_TYPE_IOEVENTFD,
  VFIO_USER_IO_FD_TYPE_IOREGIONFD,
} from './device-info.js';
import {
  decodeDeviceFeature,
  encodeDeviceFeature,
  encodeDeviceFeatureReply,
  VFIO_DEVICE_FEATURE_GET,
  VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
  VFIO_DEVICE_FEATURE_SET,
} from './feature.js';
import {
  decodeMigDataRead,
  decodeMigDataReadReply,
  decodeMigDataWrite,
  encodeMigDataRead,
  encodeMigDataReadReply,
  encodeMigDataWrite,
} from './migration.js';
import { createHeader, readHeader } from './header.js';

function fails(code: ErrnoName, fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => VfioError.is(e, code), `expected ${code}`);
}

const RW = VFIO_USER_F_DMA_REGION_READ | VFIO_USER_F_DMA_REGION_WRITE;

test('DMA_MAP round-trips and refuses short payloads, small argsz, bad flags, two fds', () => {
  const req = { flags: RW, offset: 0x1000n, address: 0xffff_0000_0000_0000n, size: 1n << 40n };
  const p = encodeDmaMap(req);
  assert.equal(p.length, 32);
  assert.deepEqual(decodeDmaMap(p, 1), { argsz: 32, ...req });
  fails('EINVAL', () => decodeDmaMap(p.subarray(0, 31), 0));
  fails('EINVAL', () => decodeDmaMap(encodeDmaMap({ ...req, argsz: 8 }), 0));
  fails('EINVAL', () => decodeDmaMap(encodeDmaMap({ ...req, flags: 4 }), 0));
  fails('EINVAL', () => decodeDmaMap(p, 2));
});

test('DMA_UNMAP round-trips, echoes in its reply, and has libvfio-user errnos', () => {
  const req = { flags: 0, address: 0x1000n, size: 0x1000n };
  const d = decodeDmaUnmap(encodeDmaUnmap(req));
  assert.deepEqual(d, { argsz: 24, ...req, bitmap: undefined });
  assert.deepEqual(encodeDmaUnmapReply(d), encodeDmaUnmap(req));
  fails('EINVAL', () => decodeDmaUnmap(Buffer.alloc(8))); // test_dma_unmap_short_write
  fails('EINVAL', () => decodeDmaUnmap(encodeDmaUnmap({ ...req, argsz: 8 })));
  fails('EOPNOTSUPP', () => decodeDmaUnmap(encodeDmaUnmap({ ...req, flags: 4 }))); // invalid_flags: ENOTSUP
  fails('EINVAL', () => decodeDmaUnmap(encodeDmaUnmap({ flags: VFIO_DMA_UNMAP_FLAG_ALL, address: 0x10000n, size: 4096n })));
  fails('EINVAL', () =>
    decodeDmaUnmap(encodeDmaUnmap({ flags: VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, address: 0n, size: 0n })),
  );
  assert.equal(decodeDmaUnmap(encodeDmaUnmap({ flags: VFIO_DMA_UNMAP_FLAG_ALL, address: 0n, size: 0n })).flags, 2);

  const bitmap = { pgsize: 4096n, size: 8n };
  const withBitmap = encodeDmaUnmap({ flags: VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, address: 0n, size: 0x40000n, bitmap });
  const db = decodeDmaUnmap(withBitmap);
  assert.equal(db.argsz, 24 + 16 + 8);
  assert.deepEqual(db.bitmap, bitmap);
  const reply = encodeDmaUnmapReply(db, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]));
  assert.equal(reply.length, 48);
  assert.deepEqual([...reply.subarray(40)], [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.throws(() => encodeDmaUnmapReply(db, Buffer.alloc(4)), RangeError);
  fails('EINVAL', () => decodeDmaUnmap(withBitmap.subarray(0, 24))); // bitmap header missing
  fails('EINVAL', () => decodeDmaUnmap(encodeDmaUnmap({ flags: 1, address: 0n, size: 1n, bitmap, argsz: 40 })));
});

test('DMA_READ/WRITE in the spec layout and in QEMU 10.x layout', () => {
  const req = encodeDmaReadRequest(0x2000n, 4);
  assert.deepEqual(decodeDmaAccess(req, 1 << 20), { address: 0x2000n, count: 4 });
  fails('EINVAL', () => decodeDmaAccess(req, 2));
  const data = Buffer.from([9, 8, 7, 6]);
  const spec = encodeDmaReadReply(0x2000n, data);
  assert.equal(spec.length, 20);
  assert.deepEqual(decodeDmaReadReply(spec, 0x2000n, 4), data);
  // QEMU: {offset u64, count u32, data at 12} in a payload of 16 + count.
  const qemu = Buffer.alloc(20);
  qemu.writeBigUInt64LE(0x2000n, 0);
  qemu.writeUInt32LE(4, 8);
  data.copy(qemu, 12);
  assert.deepEqual(encodeDmaReadReply(0x2000n, data, 'qemu'), qemu);
  assert.deepEqual(decodeDmaReadReply(qemu, 0x2000n, 4, 'qemu'), data);
  fails('EINVAL', () => decodeDmaReadReply(spec, 0x3000n, 4));
  fails('EINVAL', () => decodeDmaReadReply(spec.subarray(0, 19), 0x2000n, 4));

  const w = encodeDmaWriteRequest(0x4000n, data);
  assert.deepEqual(decodeDmaWriteRequest(w, 4), { address: 0x4000n, data });
  assert.deepEqual(encodeDmaWriteRequest(0x4000n, data, 'qemu').subarray(12, 16), data);
  checkDmaWriteReply(encodeDmaWriteReply(0x4000n, 4), 0x4000n, 4);
  checkDmaWriteReply(Buffer.alloc(0), 0x4000n, 4, 'qemu');
  fails('EINVAL', () => checkDmaWriteReply(Buffer.alloc(0), 0x4000n, 4));
});

test('REGION_READ/WRITE decode in place and write replies without allocating', () => {
  const out = createRegionAccess();
  const r = encodeRegionAccess(0x1_0000_0010, 7, 4);
  assert.equal(readRegionAccess(r, false, 1 << 20, out), out);
  assert.deepEqual(out, { offset: 0x1_0000_0010, region: 7, count: 4 });
  const buf = Buffer.alloc(64);
  const dataAt = writeRegionReadReply(buf, 8, 0x55, out);
  assert.equal(dataAt, 8 + 32);
  buf.writeUInt32LE(0xdeadbeef, dataAt);
  const h = readHeader(buf, 8, createHeader());
  assert.deepEqual(h, { msgId: 0x55, cmd: 9, msgSize: regionReadReplySize(4), flags: 1, errorNo: 0 });
  const got = decodeRegionAccessReply(buf.subarray(24, 8 + h.msgSize), false, out);
  assert.equal(got.readUInt32LE(0), 0xdeadbeef);

  const w = encodeRegionAccess(0x10, 7, 2, Buffer.from([1, 2]));
  readRegionAccess(w, true, 1 << 20, out);
  assert.deepEqual(out, { offset: 0x10, region: 7, count: 2 });
  assert.equal(writeRegionWriteReply(buf, 0, 3, out), 32);
  assert.equal(decodeRegionAccessReply(buf.subarray(16, 32), true, out).length, 0);

  fails('EINVAL', () => readRegionAccess(r.subarray(0, 15), false, 1 << 20, out));
  fails('EINVAL', () => readRegionAccess(encodeRegionAccess(0, 0, 8), false, 4, out)); // over max_data_xfer_size
  fails('EINVAL', () => readRegionAccess(encodeRegionAccess(0, 0, 3, Buffer.from([1, 2])), true, 1 << 20, out));
  // A read reply carrying more than asked is E2BIG, as QEMU treats it.
  const more = encodeRegionAccess(0x10, 7, 8, Buffer.alloc(8));
  fails('E2BIG', () => decodeRegionAccessReply(more, false, { offset: 0x10, region: 7, count: 4 }));
});

test('REGION_WRITE_MULTI has fixed 24-byte entries of up to 8 bytes', () => {
  const writes = [
    { offset: 0x20, region: 0, data: Buffer.from([1]) },
    { offset: 0x28, region: 2, data: Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]) },
  ];
  const p = encodeRegionWriteMulti(writes);
  assert.equal(p.length, 8 + 2 * 24);
  const d = decodeRegionWriteMulti(p);
  assert.deepEqual(
    d.map((w) => [w.offset, w.region, w.count, [...w.data]]),
    [
      [0x20, 0, 1, [1]],
      [0x28, 2, 8, [1, 2, 3, 4, 5, 6, 7, 8]],
    ],
  );
  assert.deepEqual([...encodeRegionWriteMultiReply(2)], [2, 0, 0, 0, 0, 0, 0, 0]);
  fails('EINVAL', () => decodeRegionWriteMulti(p.subarray(0, 7)));
  fails('EINVAL', () => decodeRegionWriteMulti(p.subarray(0, 40))); // inconsistent with wr_cnt
  const bad = Buffer.from(p);
  bad.writeUInt32LE(9, 8 + 12);
  fails('EINVAL', () => decodeRegionWriteMulti(bad));
  const many = Buffer.from(p);
  many.writeBigUInt64LE(201n, 0);
  fails('EINVAL', () => decodeRegionWriteMulti(many));
});

test('device and IRQ info queries frame the VFIO structs by argsz', () => {
  assert.equal(decodeDeviceInfoRequest(encodeDeviceInfoRequest()), 16);
  fails('EINVAL', () => decodeDeviceInfoRequest(Buffer.alloc(12)));
  fails('EINVAL', () => decodeDeviceInfoRequest(Buffer.alloc(16)));
  const kinfo = Buffer.alloc(24); // kernel vfio_device_info with cap_offset and pad
  kinfo.writeUInt32LE(24, 0);
  kinfo.writeUInt32LE(3, 4);
  kinfo.writeUInt32LE(9, 8);
  kinfo.writeUInt32LE(5, 12);
  assert.deepEqual([...frameDeviceInfoReply(kinfo)], [16, 0, 0, 0, 3, 0, 0, 0, 9, 0, 0, 0, 5, 0, 0, 0]);

  assert.deepEqual(decodeRegionInfoRequest(encodeRegionInfoRequest(7, 64)), { argsz: 64, index: 7 });
  fails('EINVAL', () => decodeRegionInfoRequest(encodeRegionInfoRequest(7, 16)));
  fails('EINVAL', () => decodeRegionInfoRequest(Buffer.alloc(31)));
  const rinfo = Buffer.alloc(64); // region info with a 32-byte cap chain; ioctl says 64 needed
  rinfo.writeUInt32LE(64, 0);
  assert.equal(frameRegionInfoReply(rinfo, 64).length, 64);
  assert.equal(frameRegionInfoReply(rinfo, 32).length, 32); // does not fit: struct only
  assert.equal(frameRegionInfoReply(rinfo.subarray(0, 32), 32).length, 32);

  assert.deepEqual(decodeIrqInfoRequest(encodeIrqInfoRequest(4)), { argsz: 16, index: 4 });
  fails('EINVAL', () => decodeIrqInfoRequest(Buffer.alloc(8)));
  const iinfo = Buffer.alloc(16);
  iinfo.writeUInt32LE(99, 0);
  iinfo.writeUInt32LE(1, 12);
  assert.equal(frameIrqInfoReply(iinfo).readUInt32LE(0), 16);
  assert.equal(frameIrqInfoReply(iinfo).readUInt32LE(12), 1);
});

test('GET_REGION_IO_FDS round-trips and sends only the head when argsz is short', () => {
  assert.deepEqual(decodeRegionIoFdsRequest(encodeRegionIoFdsRequest(2, 200)), { argsz: 200, index: 2 });
  const bad = encodeRegionIoFdsRequest(2);
  bad.writeUInt32LE(1, 4);
  fails('EINVAL', () => decodeRegionIoFdsRequest(bad));
  fails('EINVAL', () => decodeRegionIoFdsRequest(encodeRegionIoFdsRequest(2, 8)));
  const subs = [
    { offset: 0x100n, size: 4n, fdIndex: 0, type: VFIO_USER_IO_FD_TYPE_IOEVENTFD, flags: 1, data: 0xabn },
    { offset: 0x200n, size: 8n, fdIndex: 0, type: VFIO_USER_IO_FD_TYPE_IOREGIONFD, flags: 0, data: 7n },
  ] as const;
  const full = encodeRegionIoFdsReply(2, subs, 200);
  assert.equal(full.length, 16 + 80);
  const d = decodeRegionIoFdsReply(full);
  assert.deepEqual(d, { argsz: 96, index: 2, count: 2, subRegions: subs });
  const head = encodeRegionIoFdsReply(2, subs, 16);
  assert.equal(head.length, 16);
  assert.deepEqual(decodeRegionIoFdsReply(head), { argsz: 96, index: 2, count: 2, subRegions: [] });
});

test('SET_IRQS frames data and fds the way QEMU sends them', () => {
  const TRIG = VFIO_IRQ_SET_ACTION_TRIGGER;
  // QEMU: eventfds travel as SCM_RIGHTS with argsz 20 and count = number of fds.
  const ev = decodeIrqSet(encodeIrqSet(VFIO_IRQ_SET_DATA_EVENTFD | TRIG, 2, 0, 3), 3);
  assert.deepEqual({ ...ev, bools: [...ev.bools] }, { argsz: 20, flags: 36, index: 2, start: 0, count: 3, bools: [] });
  const k = irqSetToIoctl(ev, [10, 11, 12]);
  assert.equal(k.length, 32);
  assert.deepEqual([k.readInt32LE(20), k.readInt32LE(24), k.readInt32LE(28)], [10, 11, 12]);
  // No fds: de-assign, as QEMU sends for -1 entries.
  const de = decodeIrqSet(encodeIrqSet(VFIO_IRQ_SET_DATA_EVENTFD | TRIG, 2, 0, 2), 0);
  assert.deepEqual([irqSetToIoctl(de, []).readInt32LE(20), irqSetToIoctl(de, []).readInt32LE(24)], [-1, -1]);
  const bo = decodeIrqSet(encodeIrqSet(VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_MASK, 0, 0, 2, Buffer.from([1, 0])), 0);
  assert.deepEqual([...bo.bools], [1, 0]);
  assert.deepEqual([...irqSetToIoctl(bo, []).subarray(20)], [1, 0]);
  assert.equal(decodeIrqSet(encodeIrqSet(VFIO_IRQ_SET_DATA_NONE | TRIG, 1, 0, 0), 0).count, 0);

  fails('EINVAL', () => decodeIrqSet(Buffer.alloc(19), 0));
  fails('EINVAL', () => decodeIrqSet(encodeIrqSet(VFIO_IRQ_SET_DATA_EVENTFD | TRIG, 2, 0, 3), 2)); // fd count
  fails('EINVAL', () => decodeIrqSet(encodeIrqSet(VFIO_IRQ_SET_DATA_NONE | TRIG, 2, 0, 1), 1)); // stray fd
  fails('EINVAL', () => decodeIrqSet(encodeIrqSet(VFIO_IRQ_SET_DATA_BOOL | TRIG, 2, 0, 3, Buffer.from([1])), 0));
  fails('EINVAL', () => decodeIrqSet(encodeIrqSet(VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_DATA_NONE | TRIG, 2, 0, 0), 0));
  fails('EINVAL', () => decodeIrqSet(encodeIrqSet(VFIO_IRQ_SET_DATA_NONE, 2, 0, 0), 0)); // no action
  fails('EINVAL', () => decodeIrqSet(encodeIrqSet(0x40 | VFIO_IRQ_SET_DATA_NONE | TRIG, 2, 0, 0), 0));
  const long = Buffer.concat([encodeIrqSet(VFIO_IRQ_SET_DATA_NONE | TRIG, 1, 0, 0), Buffer.alloc(4)]);
  fails('EINVAL', () => decodeIrqSet(long, 0)); // payload != argsz
});

test('DEVICE_FEATURE frames a vfio_device_feature and its reply', () => {
  const state = Buffer.alloc(8);
  state.writeUInt32LE(2, 0);
  const set = decodeDeviceFeature(encodeDeviceFeature(VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, state));
  assert.equal(set.argsz, 16);
  assert.equal(set.feature, 2);
  assert.deepEqual(set.data, state);
  assert.deepEqual(encodeDeviceFeatureReply(set, set.data), set.raw);
  const get = decodeDeviceFeature(encodeDeviceFeature(VFIO_DEVICE_FEATURE_GET | 1, undefined, 16));
  assert.equal(get.data.length, 0);
  const reply = encodeDeviceFeatureReply(get, Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]));
  assert.deepEqual([reply.readUInt32LE(0), reply.readUInt32LE(4), reply.length], [16, VFIO_DEVICE_FEATURE_GET | 1, 16]);
  fails('EINVAL', () => encodeDeviceFeatureReply(get, Buffer.alloc(9)));
  fails('EINVAL', () => decodeDeviceFeature(Buffer.alloc(7)));
  fails('EINVAL', () => decodeDeviceFeature(encodeDeviceFeature(1, undefined, 4)));
});

test('MIG_DATA_READ/WRITE round-trip with libvfio-user checks', () => {
  const r = decodeMigDataRead(encodeMigDataRead(4), 1 << 20);
  assert.deepEqual({ argsz: r.argsz, size: r.size }, { argsz: 12, size: 4 });
  const reply = encodeMigDataReadReply(Buffer.from([0, 1, 2]));
  assert.deepEqual([reply.readUInt32LE(0), reply.readUInt32LE(4)], [11, 3]);
  assert.deepEqual([...decodeMigDataReadReply(reply, 4)], [0, 1, 2]);
  fails('EINVAL', () => decodeMigDataReadReply(reply, 2));
  fails('EINVAL', () => decodeMigDataRead(encodeMigDataRead(8), 4)); // test_handle_mig_data_read_too_long
  const small = encodeMigDataRead(4);
  small.writeUInt32LE(8, 0);
  fails('EINVAL', () => decodeMigDataRead(small, 1 << 20));
  fails('EINVAL', () => decodeMigDataRead(Buffer.alloc(4), 1 << 20));

  const w = decodeMigDataWrite(encodeMigDataWrite(Buffer.from([4, 5])), 1 << 20);
  assert.deepEqual([w.size, ...w.data], [2, 4, 5]);
  fails('EINVAL', () => decodeMigDataWrite(encodeMigDataWrite(Buffer.alloc(8)), 4));
  fails('EINVAL', () => decodeMigDataWrite(encodeMigDataWrite(Buffer.from([4, 5])).subarray(0, 9), 1 << 20));
});
