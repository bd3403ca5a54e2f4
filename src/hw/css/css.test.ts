// The simulated channel subsystem without VFIO: /sys/bus/css and css0, a css driver bound by driver_override, an
// FBA disk read and written by channel programs (LOCATE, data chaining, IDALs, TIC) over flat storage, a console
// read that waits until halted or fed, clear, program checks, channel-path vary and configure with CRWs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Host } from '../../base/host.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import {
  CCW_CMD_NOOP,
  CCW_CMD_SENSE_ID,
  CCW_CMD_TIC,
  CCW_FLAG_CC,
  CCW_FLAG_DC,
  CCW_FLAG_IDA,
  CCW_FLAG_SLI,
  CRW_ERC_PERRN,
  CRW_RSC_CPATH,
  DEV_STAT_CHN_END,
  DEV_STAT_DEV_END,
  SCHN_STAT_INCORR_LEN,
  SCHN_STAT_PROG_CHECK,
  SCSW_FCTL_CLEAR_FUNC,
  SCSW_FCTL_HALT_FUNC,
  SCSW_FCTL_START_FUNC,
  cmdOrb,
  crwOfWord,
  encodeCcwChain,
} from '../../uapi/s390-cio.js';
import type { Irb } from '../../uapi/s390-cio.js';
import { FlatChannelMemory } from './channel-memory.js';
import { cssDriverRegister, cssDriverUnregister } from './css-bus.js';
import type { ChpEvent, CssDriver } from './css-bus.js';
import { cssMachineCreate } from './css-machine.js';
import type { CssMachine } from './css-machine.js';
import { FBA_CMD_LOCATE, FBA_CMD_READ, FBA_CMD_WRITE, FBA_LOCATE_READ, FBA_LOCATE_WRITE, FbaDisk } from './fba-disk.js';
import { CON_CMD_READ_INQ, CON_CMD_WRITE, UnitRecordConsole } from './unit-record.js';
import { cioEnableSubchannel } from './subchannel.js';
import type { Subchannel } from './subchannel.js';

const OK = DEV_STAT_CHN_END | DEV_STAT_DEV_END;

function locate(op: number, block: number, count: number): Uint8Array {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  dv.setUint8(0, op);
  dv.setUint16(2, count);
  dv.setUint32(4, block);
  return b;
}

interface Rig {
  host: Host;
  machine: CssMachine;
  disk: FbaDisk;
  con: UnitRecordConsole;
  mem: FlatChannelMemory;
  irbs: Map<string, Irb[]>;
  events: string[];
  next(name: string): Promise<Irb>;
  sch(name: string): Subchannel;
  done(): Promise<void>;
}

async function rig(): Promise<Rig> {
  const mark = sanitizer.mark();
  const host = new Host();
  const disk = new FbaDisk({ blocks: 64 });
  const con = new UnitRecordConsole();
  const machine = cssMachineCreate(host, [
    { schid: '0.0.0100', devno: '0.0.1234', chpids: [0x10, 0x11], device: disk },
    { schid: '0.0.0101', devno: '0.0.0009', chpids: [0x11], device: con },
  ]);
  const mem = new FlatChannelMemory(1 << 20);
  const irbs = new Map<string, Irb[]>();
  const waiters = new Map<string, (irb: Irb) => void>();
  const events: string[] = [];
  const drv: CssDriver = {
    name: 'test_css',
    probe: (sch) => {
      sch.hw.memory = mem;
      cioEnableSubchannel(sch, 0x1000);
    },
    irq: (sch, irb) => {
      const w = waiters.get(sch.name);
      waiters.delete(sch.name);
      if (w !== undefined) w(irb);
      else irbs.set(sch.name, [...(irbs.get(sch.name) ?? []), irb]);
    },
    chpEvent: (sch, chpid, mask, ev: ChpEvent) => {
      events.push(`${sch.name} ${chpid.toString(16)} ${mask.toString(16)} ${ev}`);
      return 0;
    },
  };
  for (const s of machine.subchannels) s.driverOverride = 'test_css';
  cssDriverRegister(host, drv);
  return {
    host,
    machine,
    disk,
    con,
    mem,
    irbs,
    events,
    next: (name) => new Promise<Irb>((r) => waiters.set(name, r)),
    sch: (name) => {
      const s = machine.subchannel(name);
      assert.ok(s);
      return s;
    },
    done: async () => {
      await cssDriverUnregister(host, drv);
      await machine.destroy();
      sanitizer.assertNoLeaks(mark);
    },
  };
}

test('css0, /sys/bus/css and the subchannel sysfs files; the driver binds by driver_override', async () => {
  const r = await rig();
  assert.deepEqual(r.host.sysfs.ls('/sys/bus/css/devices'), ['0.0.0100', '0.0.0101']);
  assert.equal(r.host.sysfs.read('/sys/devices/css0/0.0.0100/pimpampom'), 'c0 c0 ff\n');
  assert.equal(r.host.sysfs.read('/sys/devices/css0/0.0.0100/chpids'), '10 11 00 00 00 00 00 00\n');
  assert.equal(r.host.sysfs.read('/sys/devices/css0/0.0.0100/dev_busid'), '0.0.1234\n');
  assert.equal(r.host.sysfs.read('/sys/devices/css0/0.0.0100/modalias'), 'css:t0\n');
  assert.equal(r.host.sysfs.read('/sys/devices/css0/chp0.11/status'), 'online\n');
  assert.deepEqual(r.host.sysfs.ls('/sys/bus/css/drivers/test_css').filter((n) => n.startsWith('0.')), ['0.0.0100', '0.0.0101']);
  assert.equal(r.sch('0.0.0100').hw.stsch().pmcw.ena, true);
  await r.done();
});

test('an FBA disk: LOCATE + WRITE through an IDAL, then LOCATE + data-chained READ behind a TIC', async () => {
  const r = await rig();
  const sch = r.sch('0.0.0100');
  const pattern = Uint8Array.from({ length: 1024 }, (_v, i) => (i * 7) & 0xff);
  r.mem.bytes.set(locate(FBA_LOCATE_WRITE, 5, 2), 0x100);
  // The data straddles a 4K boundary: two format-2 IDAWs.
  r.mem.bytes.set(pattern, 0x3e00);
  const idal = new DataView(r.mem.bytes.buffer, 0x200, 16);
  idal.setBigUint64(0, 0x3e00n);
  idal.setBigUint64(8, 0x4000n);
  r.mem.bytes.set(encodeCcwChain([
    { cmd: FBA_CMD_LOCATE, flags: CCW_FLAG_CC, count: 8, cda: 0x100 },
    { cmd: FBA_CMD_WRITE, flags: CCW_FLAG_IDA, count: 1024, cda: 0x200 },
  ]), 0x1000);
  const wrote = r.next(sch.name);
  assert.equal(sch.hw.ssch(cmdOrb({ cpa: 0x1000, c64: true, intparm: 0xabc })), 0);
  assert.equal(sch.hw.ssch(cmdOrb({ cpa: 0x1000 })), 2, 'busy while the program runs');
  const w = await wrote;
  assert.equal(w.scsw.dstat, OK);
  assert.equal(w.scsw.cstat, 0);
  assert.equal(w.scsw.fctl, SCSW_FCTL_START_FUNC);
  assert.equal(w.scsw.cpa, 0x1010, 'the CCW after the last one executed');
  assert.equal(w.scsw.count, 0);
  assert.deepEqual(r.disk.readBlocks(5, 2), pattern);

  r.mem.bytes.set(locate(FBA_LOCATE_READ, 5, 2), 0x108);
  r.mem.bytes.set(encodeCcwChain([
    { cmd: CCW_CMD_TIC, flags: 0, count: 0, cda: 0x2000 },
  ]), 0x1800);
  r.mem.bytes.set(encodeCcwChain([
    { cmd: FBA_CMD_LOCATE, flags: CCW_FLAG_CC, count: 8, cda: 0x108 },
    { cmd: FBA_CMD_READ, flags: CCW_FLAG_DC, count: 600, cda: 0x8000 },
    { cmd: FBA_CMD_READ, flags: 0, count: 424, cda: 0x9000 },
  ]), 0x2000);
  const read = r.next(sch.name);
  assert.equal(sch.hw.ssch(cmdOrb({ cpa: 0x1800 })), 0);
  const rd = await read;
  assert.equal(rd.scsw.dstat, OK);
  assert.equal(rd.scsw.cpa, 0x2018);
  assert.deepEqual(r.mem.bytes.subarray(0x8000, 0x8000 + 600), pattern.subarray(0, 600));
  assert.deepEqual(r.mem.bytes.subarray(0x9000, 0x9000 + 424), pattern.subarray(600));
  await r.done();
});

test('SENSE ID, a short read without SLI (incorrect length), a program check on a bad CCW', async () => {
  const r = await rig();
  const sch = r.sch('0.0.0100');
  r.mem.bytes.set(encodeCcwChain([
    { cmd: CCW_CMD_NOOP, flags: CCW_FLAG_CC, count: 1, cda: 0 },
    { cmd: CCW_CMD_SENSE_ID, flags: CCW_FLAG_SLI, count: 20, cda: 0x500 },
  ]), 0x1000);
  const a = r.next(sch.name);
  assert.equal(sch.hw.ssch(cmdOrb({ cpa: 0x1000 })), 0);
  const ia = await a;
  assert.equal(ia.scsw.count, 12, '8 of 20 bytes stored: residual 12, no incorrect length under SLI');
  assert.equal(ia.scsw.cstat, 0);
  assert.deepEqual([...r.mem.bytes.subarray(0x500, 0x507)], [0xff, 0x63, 0x10, 0x80, 0x93, 0x36, 0x10]);
  r.mem.bytes.set(encodeCcwChain([{ cmd: CCW_CMD_SENSE_ID, flags: 0, count: 20, cda: 0x500 }]), 0x1000);
  const b = r.next(sch.name);
  sch.hw.ssch(cmdOrb({ cpa: 0x1000 }));
  assert.equal((await b).scsw.cstat, SCHN_STAT_INCORR_LEN);
  r.mem.bytes.set(encodeCcwChain([{ cmd: 0x00, flags: 0, count: 1, cda: 0x500 }]), 0x1000);
  const c = r.next(sch.name);
  sch.hw.ssch(cmdOrb({ cpa: 0x1000 }));
  const ic = await c;
  assert.equal(ic.scsw.cstat, SCHN_STAT_PROG_CHECK);
  assert.equal(ic.scsw.cpa, 0x1008);
  await r.done();
});

test('a console read waits for input; halt ends it; the next read gets the typed line; clear resets', async () => {
  const r = await rig();
  const sch = r.sch('0.0.0101');
  r.mem.bytes.set(encodeCcwChain([
    { cmd: CON_CMD_WRITE, flags: CCW_FLAG_CC, count: 5, cda: 0x600 },
    { cmd: CON_CMD_READ_INQ, flags: CCW_FLAG_SLI, count: 80, cda: 0x700 },
  ]), 0x1000);
  r.mem.bytes.set(new TextEncoder().encode('hello'), 0x600);
  assert.equal(sch.hw.ssch(cmdOrb({ cpa: 0x1000 })), 0);
  await new Promise((res) => setImmediate(res));
  assert.equal(new TextDecoder().decode(r.con.printed[0]), 'hello');
  assert.equal(sch.hw.functionPending, true, 'the read waits');
  const halted = r.next(sch.name);
  assert.equal(sch.hw.hsch(), 0);
  const h = await halted;
  assert.equal(h.scsw.fctl, SCSW_FCTL_START_FUNC | SCSW_FCTL_HALT_FUNC);
  r.mem.bytes.set(encodeCcwChain([{ cmd: CON_CMD_READ_INQ, flags: CCW_FLAG_SLI, count: 80, cda: 0x700 }]), 0x1000);
  const got = r.next(sch.name);
  assert.equal(sch.hw.ssch(cmdOrb({ cpa: 0x1000 })), 0);
  r.con.pushInput(new TextEncoder().encode('ipl'));
  const g = await got;
  assert.equal(g.scsw.count, 77);
  assert.equal(new TextDecoder().decode(r.mem.bytes.subarray(0x700, 0x703)), 'ipl');
  const cleared = r.next(sch.name);
  assert.equal(sch.hw.csch(), 0);
  assert.equal((await cleared).scsw.fctl, SCSW_FCTL_CLEAR_FUNC);
  await r.done();
});

test('channel paths: vary off/on reaches the driver; deconfiguring a path drops it from PAM and reports a CRW', async () => {
  const r = await rig();
  r.host.sysfs.write('/sys/devices/css0/chp0.11/status', 'offline');
  assert.deepEqual(r.events, ['0.0.0100 11 40 vary-off', '0.0.0101 11 80 vary-off']);
  assert.throws(() => r.host.sysfs.write('/sys/devices/css0/chp0.11/status', 'sideways'));
  r.host.sysfs.write('/sys/devices/css0/chp0.10/configure', '0');
  assert.equal(r.host.sysfs.read('/sys/devices/css0/0.0.0100/pimpampom'), 'c0 40 ff\n');
  assert.deepEqual(r.events.slice(2), ['0.0.0100 10 80 offline']);
  const [word] = r.machine.chp(0x10)?.crws ?? [];
  assert.ok(word !== undefined);
  const crw = crwOfWord(word);
  assert.deepEqual([crw.rsc, crw.erc, crw.rsid], [CRW_RSC_CPATH, CRW_ERC_PERRN, 0x10]);
  r.host.sysfs.write('/sys/devices/css0/chp0.11/status', 'online');
  assert.deepEqual(r.events.slice(3), ['0.0.0100 11 40 vary-on', '0.0.0101 11 80 vary-on']);
  await r.done();
});
