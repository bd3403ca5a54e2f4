// Round trips of vfio-ccw's regions and the architected formats inside them (vfio_ccw.h; s390 orb.h, scsw.h,
// schib.h, cio.h, crw.h), their sizes and bit positions, and the decoders' EINVAL on short input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioError } from './errno.js';
import {
  CCW_CMD_REGION_SIZE,
  CCW_CRW_REGION_SIZE,
  CCW_IO_REGION_RET_CODE,
  CCW_IO_REGION_SIZE,
  CCW_SCHIB_REGION_SIZE,
  ccwRetCode,
  ccwRetCodeError,
  decodeCcwCmdRegion,
  decodeCcwCrwRegion,
  decodeCcwIoRegion,
  encodeCcwCmdRegion,
  encodeCcwCrwRegion,
  encodeCcwIoRegion,
  vfioCcwIndexToOffset,
  vfioCcwOffsetToIndex,
} from './ccw.js';
import {
  CCW_CMD_TIC,
  CRW_ERC_INIT,
  CRW_RSC_CPATH,
  IRB_SIZE,
  SCHIB_SIZE,
  SCSW_FCTL_START_FUNC,
  ccw0ToCcw1,
  cmdOrb,
  crwOfWord,
  crwWord,
  decodeCcw1,
  decodeCmdOrb,
  decodeIrb,
  decodeSchib,
  decodeScsw,
  emptyScsw,
  encodeCcw1,
  encodeCmdOrb,
  encodeIrb,
  encodeSchib,
  encodeScsw,
  formatCcwBusId,
  parseCcwBusId,
} from './s390-cio.js';

test('region sizes and offsets are the kernel structs: io 124, cmd 8, schib 52, crw 8; index << 10', () => {
  assert.equal(CCW_IO_REGION_SIZE, 124);
  assert.equal(CCW_IO_REGION_RET_CODE, 120);
  assert.equal(CCW_CMD_REGION_SIZE, 8);
  assert.equal(CCW_SCHIB_REGION_SIZE, 52);
  assert.equal(CCW_CRW_REGION_SIZE, 8);
  assert.equal(IRB_SIZE, 96);
  assert.equal(vfioCcwIndexToOffset(3), 3072);
  assert.equal(vfioCcwOffsetToIndex(3072 + 7), 3);
});

test('ccw_io_region, ccw_cmd_region and ccw_crw_region round-trip; ret_code is a negative errno', () => {
  const orb = encodeCmdOrb(cmdOrb({ cpa: 0x1000, intparm: 7 }));
  const scsw = encodeScsw({ ...emptyScsw(), fctl: SCSW_FCTL_START_FUNC });
  const irb = Uint8Array.from({ length: 96 }, (_v, i) => i);
  const io = { orb, scsw, irb, retCode: ccwRetCode('EBUSY') };
  assert.deepEqual(decodeCcwIoRegion(encodeCcwIoRegion(io)), io);
  assert.equal(io.retCode, -16);
  assert.ok(VfioError.is(ccwRetCodeError(-16, 'x'), 'EBUSY'));
  assert.deepEqual(decodeCcwCmdRegion(encodeCcwCmdRegion({ command: 2, retCode: -19 })), { command: 2, retCode: -19 });
  assert.deepEqual(decodeCcwCrwRegion(encodeCcwCrwRegion({ crw: 0x04020010 })), { crw: 0x04020010 });
  assert.throws(() => decodeCcwIoRegion(new Uint8Array(100)), (e: unknown) => VfioError.is(e, 'EINVAL'));
});

test('ORB, SCSW, IRB and SCHIB round-trip big-endian with the architecture bit positions', () => {
  const orb = cmdOrb({ cpa: 0x12345678, intparm: 0xdeadbeef, key: 9, c64: true, i2k: true, lpm: 0x80, ils: true, fmt: true, pfch: true, tm: false });
  const ob = encodeCmdOrb(orb);
  assert.deepEqual([...ob.subarray(4, 8)], [0x90, 0xc3, 0x80, 0x80], 'key, fmt, pfch, c64, i2k, lpm, ils');
  assert.deepEqual(decodeCmdOrb(ob), orb);
  assert.equal(decodeCmdOrb(Uint8Array.of(0, 0, 0, 0, 0, 0x04, 0, 0, 0, 0, 0, 0)).tm, true, 'the transport-mode b bit');
  const scsw = { ...emptyScsw(), key: 3, cc: 1, fctl: 4, actl: 0x22, stctl: 0x17, cpa: 0x2008, dstat: 0x0c, cstat: 0x40, count: 12, eswf: true };
  assert.deepEqual(decodeScsw(encodeScsw(scsw)), scsw);
  assert.deepEqual([...encodeScsw(scsw).subarray(0, 4)], [0x35, 0x00, 0x44, 0x57]);
  const irb = { scsw, lpum: 0x80, cons: true, scnt: 24, ecw: Uint8Array.from({ length: 32 }, (_v, i) => 255 - i) };
  assert.deepEqual(decodeIrb(encodeIrb(irb)), irb);
  const schib = {
    pmcw: { intparm: 1, qf: false, isc: 3, ena: true, dnv: true, dev: 0x1234, lpm: 0xc0, pnom: 0, lpum: 0x80, pim: 0xc0, pom: 0xff, pam: 0xc0, chpid: [0x10, 0x11, 0, 0, 0, 0, 0, 0], st: 0 },
    scsw,
  };
  const sb = encodeSchib(schib);
  assert.equal(sb.length, SCHIB_SIZE);
  assert.deepEqual([...sb.subarray(4, 8)], [0x18, 0x81, 0x12, 0x34], 'isc 3, ena, dnv, device 1234');
  assert.deepEqual(decodeSchib(sb), schib);
});

test('CCWs: format 1 round-trips, format 0 converts as convert_ccw0_to_ccw1 (TIC keeps only its address)', () => {
  const c = { cmd: 0x42, flags: 0x84, count: 512, cda: 0x7fff0000 };
  assert.deepEqual(decodeCcw1(encodeCcw1(c)), c);
  assert.deepEqual(ccw0ToCcw1(Uint8Array.of(0x02, 0x01, 0x23, 0x45, 0x20, 0, 0x00, 0x50)), { cmd: 2, flags: 0x20, count: 0x50, cda: 0x12345 });
  assert.deepEqual(ccw0ToCcw1(Uint8Array.of(0x18, 0, 0x10, 0, 0x40, 0, 0, 8)), { cmd: CCW_CMD_TIC, flags: 0, count: 0, cda: 0x1000 });
});

test('CRW words and bus ids', () => {
  const crw = { slct: false, oflw: false, chn: true, rsc: CRW_RSC_CPATH, anc: true, erc: CRW_ERC_INIT, rsid: 0x10 };
  assert.equal(crwWord(crw), 0x14820010);
  assert.deepEqual(crwOfWord(crwWord(crw)), crw);
  assert.deepEqual(parseCcwBusId('0.0.01aB'), { cssid: 0, ssid: 0, num: 0x1ab });
  assert.equal(formatCcwBusId(parseCcwBusId('fe.3.ffff')), 'fe.3.ffff');
  assert.throws(() => parseCcwBusId('0.4.0100'), (e: unknown) => VfioError.is(e, 'EINVAL'));
});
