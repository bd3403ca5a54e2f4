// vfio-ccw through its uAPI on a device file opened through a container with real DMA mappings: the info ioctls,
// a disk block read into guest memory through the I/O region with the IO eventfd, the kernel's errnos for bad
// programs and in each FSM state, halt through the async region, SCHIB and CRW regions, a pinned range unmapped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CCW_CMD_SENSE_ID,
  CCW_FLAG_CC,
  CCW_FLAG_IDA,
  CCW_FLAG_SLI,
  DEV_STAT_CHN_END,
  DEV_STAT_DEV_END,
  SCSW_FCTL_HALT_FUNC,
  SCSW_FCTL_START_FUNC,
  cmdOrb,
  crwOfWord,
  decodeSchib,
  encodeCcwChain,
  CRW_ERC_PERRN,
  CRW_RSC_CPATH,
} from '../../uapi/s390-cio.js';
import { VFIO_CCW_ASYNC_CMD_HSCH, decodeCcwCrwRegion } from '../../uapi/ccw.js';
import { VFIO_DEVICE_FLAGS_CCW, VFIO_DEVICE_FLAGS_RESET, decodeVfioDeviceInfo } from '../../uapi/device-info.js';
import { VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_IRQ_INFO, VFIO_DEVICE_GET_REGION_INFO, VFIO_DEVICE_RESET, VFIO_IOMMU_UNMAP_DMA } from '../../uapi/ioctl.js';
import { decodeVfioIrqInfo, VFIO_IRQ_INFO_EVENTFD } from '../../uapi/irq-info.js';
import { decodeVfioRegionCapType, VFIO_REGION_SUBTYPE_CCW_ASYNC_CMD, VFIO_REGION_SUBTYPE_CCW_CRW, VFIO_REGION_TYPE_CCW } from '../../uapi/region-caps.js';
import { decodeVfioRegionInfo } from '../../uapi/region-info.js';
import { parseVfioInfoCaps } from '../../uapi/caps.js';
import { encodeVfioIommuType1DmaUnmap } from '../../uapi/iommu-type1.js';
import { FBA_CMD_LOCATE, FBA_CMD_READ, FBA_LOCATE_READ, FbaDisk } from '../../hw/css/fba-disk.js';
import { CON_CMD_READ_INQ, UnitRecordConsole } from '../../hw/css/unit-record.js';
import { errno, u32s } from '../../vfio/uapi.test-kit.js';
import { ccwRig, signalled } from './vfio-ccw.test-kit.js';

const OK = DEV_STAT_CHN_END | DEV_STAT_DEV_END;

function locate(op: number, block: number, count: number): Uint8Array {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  dv.setUint8(0, op);
  dv.setUint16(2, count);
  dv.setUint32(4, block);
  return b;
}

test('GET_INFO, GET_REGION_INFO (I/O region and TYPE-capped capability regions) and GET_IRQ_INFO', async () => {
  const r = ccwRig();
  const { priv } = r.create('0.0.0100');
  const d = r.open(priv);
  const info = u32s(24, 0, 0, 0, 0, 0);
  r.proc.ioctl(d.fd, VFIO_DEVICE_GET_INFO, info);
  const di = decodeVfioDeviceInfo(info);
  assert.equal(di.flags, VFIO_DEVICE_FLAGS_CCW | VFIO_DEVICE_FLAGS_RESET);
  assert.deepEqual([di.numRegions, di.numIrqs], [4, 3]);
  const ri = (index: number): Uint8Array => {
    const b = new Uint8Array(64);
    b.set(u32s(64, 0, index));
    r.proc.ioctl(d.fd, VFIO_DEVICE_GET_REGION_INFO, b);
    return b;
  };
  const io = decodeVfioRegionInfo(ri(0));
  assert.deepEqual([io.size, io.offset, io.flags], [124n, 0n, 3]);
  const asyncInfo = ri(1);
  const a = decodeVfioRegionInfo(asyncInfo);
  assert.deepEqual([a.size, a.offset], [8n, 1024n]);
  const [cap] = parseVfioInfoCaps(asyncInfo, a.capOffset);
  assert.ok(cap);
  assert.deepEqual(decodeVfioRegionCapType(cap.data), { type: VFIO_REGION_TYPE_CCW, subtype: VFIO_REGION_SUBTYPE_CCW_ASYNC_CMD });
  const crw = ri(3);
  const [crwCap] = parseVfioInfoCaps(crw, decodeVfioRegionInfo(crw).capOffset);
  assert.equal(crwCap && decodeVfioRegionCapType(crwCap.data).subtype, VFIO_REGION_SUBTYPE_CCW_CRW);
  assert.throws(() => ri(4), errno('EINVAL'));
  const irq = u32s(16, 0, 2, 0);
  r.proc.ioctl(d.fd, VFIO_DEVICE_GET_IRQ_INFO, irq);
  assert.deepEqual(decodeVfioIrqInfo(irq), { argsz: 16, flags: VFIO_IRQ_INFO_EVENTFD, index: 2, count: 1 });
  assert.throws(() => r.proc.ioctl(d.fd, VFIO_DEVICE_GET_IRQ_INFO, u32s(16, 0, 3, 0)), errno('EINVAL'));
  await r.done();
});

test('a disk block read into guest memory through the I/O region: CP_PENDING, EBUSY, the IO eventfd, the IRB', async () => {
  const r = ccwRig();
  const { priv } = r.create('0.0.0100');
  const d = r.open(priv);
  const disk = r.mod.machine.subchannel('0.0.0100')?.hw.device;
  assert.ok(disk instanceof FbaDisk);
  const block = Uint8Array.from({ length: 512 }, (_v, i) => (i * 13 + 1) & 0xff);
  disk.writeBlocks(7, block);
  r.guest.set(locate(FBA_LOCATE_READ, 7, 1), 0x800);
  // The buffer straddles a page boundary: two pages pinned, two IDAWs.
  r.guest.set(encodeCcwChain([
    { cmd: FBA_CMD_LOCATE, flags: CCW_FLAG_CC, count: 8, cda: 0x800 },
    { cmd: FBA_CMD_READ, flags: 0, count: 512, cda: 0x4f00 },
  ]), 0x1000);
  d.start(cmdOrb({ cpa: 0x1000 }));
  assert.equal(priv.state, 'CP_PENDING');
  assert.equal(priv.cp.iovaPinned(0x4000n, 0x2000n), true);
  assert.throws(() => d.start(cmdOrb({ cpa: 0x1000 })), errno('EBUSY'));
  await signalled(d.ioEfd, 'IO eventfd');
  const irb = d.irb();
  assert.equal(irb.scsw.dstat, OK);
  assert.equal(irb.scsw.fctl, SCSW_FCTL_START_FUNC);
  assert.equal(irb.scsw.cpa, 0x1010, "the guest's address after the last CCW, translated back");
  assert.deepEqual(r.guest.subarray(0x4f00, 0x5100), block);
  assert.equal(priv.state, 'IDLE');
  assert.equal(priv.cp.iovaPinned(0n, BigInt(1 << 20)), false, 'unpinned at completion');
  await r.done();
});

test("bad programs get the kernel's errno and leave the device IDLE with nothing pinned", async () => {
  const r = ccwRig();
  const { priv } = r.create('0.0.0100');
  const d = r.open(priv);
  r.guest.set(encodeCcwChain([{ cmd: FBA_CMD_READ, flags: CCW_FLAG_IDA, count: 512, cda: 0x2000 }]), 0x1000);
  assert.throws(() => d.start(cmdOrb({ cpa: 0x1000, tm: true })), errno('EOPNOTSUPP'), 'transport mode');
  // A format-2 IDAW naming memory the user never mapped: the pin fails.
  new DataView(r.guest.buffer, 0x2000, 8).setBigUint64(0, 0x4000_0000n);
  assert.throws(() => d.start(cmdOrb({ cpa: 0x1000, c64: true })), errno('EINVAL'));
  // A channel program outside the mapping cannot even be copied.
  assert.throws(() => d.start(cmdOrb({ cpa: 0xffc00 })), errno('EINVAL'));
  // 257 chained CCWs.
  r.guest.set(encodeCcwChain(Array.from({ length: 257 }, () => ({ cmd: 0x03, flags: CCW_FLAG_CC, count: 1, cda: 0 }))), 0x10000);
  assert.throws(() => d.start(cmdOrb({ cpa: 0x10000 })), errno('EINVAL'));
  assert.equal(priv.state, 'IDLE');
  assert.equal(priv.cp.initialized, false);
  await r.done();
});

test('a waiting console read: EBUSY while pending, HSCH through the async region ends it, RESET, SCHIB region', async () => {
  const r = ccwRig();
  const { priv } = r.create('0.0.0101');
  const d = r.open(priv);
  r.guest.set(encodeCcwChain([{ cmd: CON_CMD_READ_INQ, flags: CCW_FLAG_SLI, count: 80, cda: 0x3000 }]), 0x1000);
  d.start(cmdOrb({ cpa: 0x1000 }));
  await new Promise((res) => setImmediate(res));
  assert.equal(priv.state, 'CP_PENDING');
  assert.throws(() => d.start(cmdOrb({ cpa: 0x1000 })), errno('EBUSY'));
  d.async(VFIO_CCW_ASYNC_CMD_HSCH);
  await signalled(d.ioEfd);
  const irb = d.irb();
  assert.equal(irb.scsw.fctl, SCSW_FCTL_START_FUNC | SCSW_FCTL_HALT_FUNC);
  assert.equal(priv.state, 'IDLE');
  assert.throws(() => d.async(0x80), errno('EINVAL'), 'an unknown async command');
  const schib = decodeSchib(d.read(2, 0, 52));
  assert.equal(schib.pmcw.dev, 0x0009);
  assert.equal(schib.pmcw.ena, true);
  assert.throws(() => r.proc.pwrite(d.fd, new Uint8Array(4), 2048), errno('EINVAL'), 'the SCHIB region is read-only');
  assert.throws(() => d.read(0, 120, 8), errno('EINVAL'), 'past the I/O region');
  r.proc.ioctl(d.fd, VFIO_DEVICE_RESET);
  assert.equal(priv.state, 'IDLE');
  // After the reset a read with input typed completes with data.
  const con = r.mod.machine.subchannel('0.0.0101')?.hw.device;
  assert.ok(con instanceof UnitRecordConsole);
  con.pushInput(new TextEncoder().encode('go'));
  d.start(cmdOrb({ cpa: 0x1000 }));
  await signalled(d.ioEfd);
  assert.equal(new TextDecoder().decode(r.guest.subarray(0x3000, 0x3002)), 'go');
  await r.done();
});

test('a channel path deconfigured: a CRW queued, the CRW eventfd, read once from the CRW region; EACCES on the lost path', async () => {
  const r = ccwRig({ subchannels: [{ schid: '0.0.0200', devno: '0.0.2000', chpids: [0x20, 0x21], device: { kind: 'fba-disk', blocks: 16 } }] });
  const { priv } = r.create('0.0.0200');
  const d = r.open(priv);
  r.mod.machine.chp(0x21)?.configure(false);
  await signalled(d.crwEfd, 'CRW eventfd');
  const crw = crwOfWord(decodeCcwCrwRegion(d.read(3, 0, 8)).crw);
  assert.deepEqual([crw.rsc, crw.erc, crw.rsid], [CRW_RSC_CPATH, CRW_ERC_PERRN, 0x21]);
  assert.equal(decodeCcwCrwRegion(d.read(3, 0, 8)).crw, 0, 'the queue is empty');
  r.guest.set(encodeCcwChain([{ cmd: CCW_CMD_SENSE_ID, flags: CCW_FLAG_SLI, count: 8, cda: 0x3000 }]), 0x1000);
  assert.throws(() => d.start(cmdOrb({ cpa: 0x1000, lpm: 0x40 })), errno('EACCES'), 'the other path is still there');
  assert.equal(priv.sch.lpm, 0x80);
  d.start(cmdOrb({ cpa: 0x1000 }));
  await signalled(d.ioEfd);
  assert.deepEqual([...r.guest.subarray(0x3000, 0x3003)], [0xff, 0x63, 0x10]);
  await r.done();
});

test('unmapping a range a pending program pinned resets the device: the program is dropped and unpinned', async () => {
  const r = ccwRig();
  const { priv } = r.create('0.0.0101');
  const d = r.open(priv);
  r.guest.set(encodeCcwChain([{ cmd: CON_CMD_READ_INQ, flags: CCW_FLAG_SLI, count: 80, cda: 0x3000 }]), 0x1000);
  d.start(cmdOrb({ cpa: 0x1000 }));
  assert.equal(priv.cp.iovaPinned(0x3000n, 0x1000n), true);
  r.proc.ioctl(d.container, VFIO_IOMMU_UNMAP_DMA, encodeVfioIommuType1DmaUnmap({ argsz: 24, flags: 0, iova: 0n, size: BigInt(1 << 20) }));
  assert.equal(priv.cp.initialized, false);
  assert.equal(priv.state, 'IDLE');
  await r.done();
});
