// The z/Architecture channel-subsystem formats a vfio-ccw user exchanges with the kernel (arch/s390/include/asm/
// orb.h, scsw.h, schib.h, cio.h, ccwdev.h, crw.h; Principles of Operation ch. 15-16): ORB, SCSW, IRB, SCHIB/PMCW,
// CCW format 0 and 1, CRW. They are big-endian as the architecture stores them (s390 bit 0 is the MSB).
import { VfioError } from './errno.js';
import { needBytes, outBuffer } from './codec.js';

/** A big-endian view over exactly `buf`. */
function be(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

// SCSW function control, activity control, status control (asm/scsw.h).
export const SCSW_FCTL_CLEAR_FUNC = 0x1;
export const SCSW_FCTL_HALT_FUNC = 0x2;
export const SCSW_FCTL_START_FUNC = 0x4;
export const SCSW_ACTL_SUSPENDED = 0x1;
export const SCSW_ACTL_DEVACT = 0x2;
export const SCSW_ACTL_SCHACT = 0x4;
export const SCSW_ACTL_CLEAR_PEND = 0x8;
export const SCSW_ACTL_HALT_PEND = 0x10;
export const SCSW_ACTL_START_PEND = 0x20;
export const SCSW_ACTL_RESUME_PEND = 0x40;
export const SCSW_STCTL_STATUS_PEND = 0x1;
export const SCSW_STCTL_SEC_STATUS = 0x2;
export const SCSW_STCTL_PRIM_STATUS = 0x4;
export const SCSW_STCTL_INTER_STATUS = 0x8;
export const SCSW_STCTL_ALERT_STATUS = 0x10;
// Device status (dstat) and subchannel status (cstat).
export const DEV_STAT_ATTENTION = 0x80;
export const DEV_STAT_STAT_MOD = 0x40;
export const DEV_STAT_CU_END = 0x20;
export const DEV_STAT_BUSY = 0x10;
export const DEV_STAT_CHN_END = 0x08;
export const DEV_STAT_DEV_END = 0x04;
export const DEV_STAT_UNIT_CHECK = 0x02;
export const DEV_STAT_UNIT_EXCEP = 0x01;
export const SCHN_STAT_PCI = 0x80;
export const SCHN_STAT_INCORR_LEN = 0x40;
export const SCHN_STAT_PROG_CHECK = 0x20;
export const SCHN_STAT_PROT_CHECK = 0x10;
export const SCHN_STAT_CHN_DATA_CHK = 0x08;
export const SCHN_STAT_CHN_CTRL_CHK = 0x04;
export const SCHN_STAT_INTF_CTRL_CHK = 0x02;
export const SCHN_STAT_CHAIN_CHECK = 0x01;

// CCW flags and the command codes the kernel's cp code names (asm/cio.h, vfio_ccw_cp.c).
export const CCW_FLAG_DC = 0x80;
export const CCW_FLAG_CC = 0x40;
export const CCW_FLAG_SLI = 0x20;
export const CCW_FLAG_SKIP = 0x10;
export const CCW_FLAG_PCI = 0x08;
export const CCW_FLAG_IDA = 0x04;
export const CCW_FLAG_SUSPEND = 0x02;
export const CCW_CMD_WRITE = 0x01;
export const CCW_CMD_READ = 0x02;
export const CCW_CMD_NOOP = 0x03;
export const CCW_CMD_BASIC_SENSE = 0x04;
export const CCW_CMD_TIC = 0x08;
export const CCW_CMD_SENSE_ID = 0xe4;

// CRW reporting-source codes and error-recovery codes (asm/crw.h).
export const CRW_RSC_SCH = 0x3;
export const CRW_RSC_CPATH = 0x4;
export const CRW_ERC_EVENT = 0x00;
export const CRW_ERC_AVAIL = 0x01;
export const CRW_ERC_INIT = 0x02;
export const CRW_ERC_PERRN = 0x06;

export const ORB_AREA_SIZE = 12;
export const SCSW_SIZE = 12;
export const IRB_SIZE = 96;
export const PMCW_SIZE = 28;
export const SCHIB_SIZE = 52;
export const CCW_SIZE = 8;

/** struct cmd_orb's first 12 bytes (what ccw_io_region carries): intparm, the control word, cpa. */
export interface CmdOrb {
  intparm: number;
  key: number;
  spnd: boolean;
  fmt: boolean;
  pfch: boolean;
  isic: boolean;
  alcc: boolean;
  ssic: boolean;
  /** Also the transport-mode ORB's `b` bit (tm_orb): a transport-mode request. */
  tm: boolean;
  c64: boolean;
  i2k: boolean;
  lpm: number;
  ils: boolean;
  cpa: number;
}

const bit = (w: number, b: number): boolean => ((w >>> b) & 1) === 1;
const flag = (v: boolean, b: number): number => (v ? 1 << b : 0);

export function decodeCmdOrb(buf: Uint8Array): CmdOrb {
  needBytes(buf, ORB_AREA_SIZE, 'orb');
  const dv = be(buf);
  const w = dv.getUint32(4);
  return {
    intparm: dv.getUint32(0),
    key: w >>> 28,
    spnd: bit(w, 27),
    fmt: bit(w, 23),
    pfch: bit(w, 22),
    isic: bit(w, 21),
    alcc: bit(w, 20),
    ssic: bit(w, 19),
    tm: bit(w, 18),
    c64: bit(w, 17),
    i2k: bit(w, 16),
    lpm: (w >>> 8) & 0xff,
    ils: bit(w, 7),
    cpa: dv.getUint32(8),
  };
}

export function encodeCmdOrb(x: CmdOrb, into?: Uint8Array): Uint8Array {
  const out = outBuffer(ORB_AREA_SIZE, into, 'orb');
  const dv = be(out);
  dv.setUint32(0, x.intparm >>> 0);
  const w =
    ((x.key & 0xf) << 28) |
    flag(x.spnd, 27) |
    flag(x.fmt, 23) |
    flag(x.pfch, 22) |
    flag(x.isic, 21) |
    flag(x.alcc, 20) |
    flag(x.ssic, 19) |
    flag(x.tm, 18) |
    flag(x.c64, 17) |
    flag(x.i2k, 16) |
    ((x.lpm & 0xff) << 8) |
    flag(x.ils, 7);
  dv.setUint32(4, w >>> 0);
  dv.setUint32(8, x.cpa >>> 0);
  return out;
}

/** A command-mode ORB with everything off but what is given. */
export function cmdOrb(fields: Partial<CmdOrb> & { cpa: number }): CmdOrb {
  return {
    intparm: 0, key: 0, spnd: false, fmt: true, pfch: true, isic: false, alcc: false, ssic: false,
    tm: false, c64: false, i2k: false, lpm: 0, ils: false, ...fields,
  };
}

/** struct cmd_scsw. */
export interface Scsw {
  key: number;
  sctl: boolean;
  eswf: boolean;
  cc: number;
  fmt: boolean;
  pfch: boolean;
  isic: boolean;
  alcc: boolean;
  ssi: boolean;
  zcc: boolean;
  ectl: boolean;
  pno: boolean;
  fctl: number;
  actl: number;
  stctl: number;
  cpa: number;
  dstat: number;
  cstat: number;
  count: number;
}

export function emptyScsw(): Scsw {
  return {
    key: 0, sctl: false, eswf: false, cc: 0, fmt: false, pfch: false, isic: false, alcc: false, ssi: false,
    zcc: false, ectl: false, pno: false, fctl: 0, actl: 0, stctl: 0, cpa: 0, dstat: 0, cstat: 0, count: 0,
  };
}

export function decodeScsw(buf: Uint8Array): Scsw {
  needBytes(buf, SCSW_SIZE, 'scsw');
  const dv = be(buf);
  const w = dv.getUint32(0);
  return {
    key: w >>> 28,
    sctl: bit(w, 27),
    eswf: bit(w, 26),
    cc: (w >>> 24) & 3,
    fmt: bit(w, 23),
    pfch: bit(w, 22),
    isic: bit(w, 21),
    alcc: bit(w, 20),
    ssi: bit(w, 19),
    zcc: bit(w, 18),
    ectl: bit(w, 17),
    pno: bit(w, 16),
    fctl: (w >>> 12) & 7,
    actl: (w >>> 5) & 0x7f,
    stctl: w & 0x1f,
    cpa: dv.getUint32(4),
    dstat: dv.getUint8(8),
    cstat: dv.getUint8(9),
    count: dv.getUint16(10),
  };
}

export function encodeScsw(x: Scsw, into?: Uint8Array): Uint8Array {
  const out = outBuffer(SCSW_SIZE, into, 'scsw');
  const dv = be(out);
  const w =
    ((x.key & 0xf) << 28) |
    flag(x.sctl, 27) |
    flag(x.eswf, 26) |
    ((x.cc & 3) << 24) |
    flag(x.fmt, 23) |
    flag(x.pfch, 22) |
    flag(x.isic, 21) |
    flag(x.alcc, 20) |
    flag(x.ssi, 19) |
    flag(x.zcc, 18) |
    flag(x.ectl, 17) |
    flag(x.pno, 16) |
    ((x.fctl & 7) << 12) |
    ((x.actl & 0x7f) << 5) |
    (x.stctl & 0x1f);
  dv.setUint32(0, w >>> 0);
  dv.setUint32(4, x.cpa >>> 0);
  dv.setUint8(8, x.dstat & 0xff);
  dv.setUint8(9, x.cstat & 0xff);
  dv.setUint16(10, x.count & 0xffff);
  return out;
}

/** struct irb: SCSW, format-0 ESW (sublog with lpum; erw with the sense count), ECW (sense data). */
export interface Irb {
  scsw: Scsw;
  /** ESW sublog's last-path-used mask. */
  lpum: number;
  /** ERW cons: the ECW holds concurrent sense, `scnt` bytes of it. */
  cons: boolean;
  scnt: number;
  /** The 32-byte extended-control word. */
  ecw: Uint8Array;
}

export function decodeIrb(buf: Uint8Array): Irb {
  needBytes(buf, IRB_SIZE, 'irb');
  const dv = be(buf);
  const erw = dv.getUint32(16);
  return {
    scsw: decodeScsw(buf.subarray(0, SCSW_SIZE)),
    lpum: dv.getUint8(13),
    cons: bit(erw, 24),
    scnt: (erw >>> 16) & 0x3f,
    ecw: buf.slice(32, 64),
  };
}

export function encodeIrb(x: Irb, into?: Uint8Array): Uint8Array {
  const out = outBuffer(IRB_SIZE, into, 'irb');
  out.fill(0, 0, IRB_SIZE);
  encodeScsw(x.scsw, out.subarray(0, SCSW_SIZE));
  const dv = be(out);
  dv.setUint8(13, x.lpum & 0xff);
  dv.setUint32(16, (flag(x.cons, 24) | ((x.scnt & 0x3f) << 16)) >>> 0);
  out.set(x.ecw.subarray(0, 32), 32);
  return out;
}

/** struct pmcw. */
export interface Pmcw {
  intparm: number;
  qf: boolean;
  isc: number;
  ena: boolean;
  dnv: boolean;
  dev: number;
  lpm: number;
  pnom: number;
  lpum: number;
  pim: number;
  pom: number;
  pam: number;
  chpid: number[];
  /** Subchannel type: 0 I/O. */
  st: number;
}

/** struct schib: PMCW, SCSW, measurement-block address and model-dependent area (52 bytes). */
export interface Schib {
  pmcw: Pmcw;
  scsw: Scsw;
}

export function decodeSchib(buf: Uint8Array): Schib {
  needBytes(buf, SCHIB_SIZE, 'schib');
  const dv = be(buf);
  const w = dv.getUint32(4);
  return {
    pmcw: {
      intparm: dv.getUint32(0),
      qf: bit(w, 31),
      isc: (w >>> 27) & 7,
      ena: bit(w, 23),
      dnv: bit(w, 16),
      dev: w & 0xffff,
      lpm: dv.getUint8(8),
      pnom: dv.getUint8(9),
      lpum: dv.getUint8(10),
      pim: dv.getUint8(11),
      pom: dv.getUint8(14),
      pam: dv.getUint8(15),
      chpid: Array.from(buf.subarray(16, 24)),
      st: (dv.getUint32(24) >>> 21) & 7,
    },
    scsw: decodeScsw(buf.subarray(PMCW_SIZE, PMCW_SIZE + SCSW_SIZE)),
  };
}

export function encodeSchib(x: Schib, into?: Uint8Array): Uint8Array {
  const out = outBuffer(SCHIB_SIZE, into, 'schib');
  out.fill(0, 0, SCHIB_SIZE);
  const dv = be(out);
  const p = x.pmcw;
  dv.setUint32(0, p.intparm >>> 0);
  dv.setUint32(4, (flag(p.qf, 31) | ((p.isc & 7) << 27) | flag(p.ena, 23) | flag(p.dnv, 16) | (p.dev & 0xffff)) >>> 0);
  dv.setUint8(8, p.lpm);
  dv.setUint8(9, p.pnom);
  dv.setUint8(10, p.lpum);
  dv.setUint8(11, p.pim);
  dv.setUint8(14, p.pom);
  dv.setUint8(15, p.pam);
  for (let i = 0; i < 8; i++) dv.setUint8(16 + i, p.chpid[i] ?? 0);
  dv.setUint32(24, ((p.st & 7) << 21) >>> 0);
  encodeScsw(x.scsw, out.subarray(PMCW_SIZE, PMCW_SIZE + SCSW_SIZE));
  return out;
}

/** struct ccw1: command, flags, count, 31-bit data address. */
export interface Ccw1 {
  cmd: number;
  flags: number;
  count: number;
  cda: number;
}

export function decodeCcw1(buf: Uint8Array, at = 0): Ccw1 {
  needBytes(buf, at + CCW_SIZE, 'ccw1');
  const dv = be(buf);
  return { cmd: dv.getUint8(at), flags: dv.getUint8(at + 1), count: dv.getUint16(at + 2), cda: dv.getUint32(at + 4) };
}

export function encodeCcw1(x: Ccw1, into?: Uint8Array, at = 0): Uint8Array {
  const out = into ?? new Uint8Array(CCW_SIZE);
  if (out.byteLength < at + CCW_SIZE) throw new RangeError('ccw1: output buffer too small');
  const dv = be(out);
  dv.setUint8(at, x.cmd & 0xff);
  dv.setUint8(at + 1, x.flags & 0xff);
  dv.setUint16(at + 2, x.count & 0xffff);
  dv.setUint32(at + 4, x.cda >>> 0);
  return out;
}

/** Format-0 CCW (command, 24-bit address, flags, count) as format 1, as convert_ccw0_to_ccw1() does. */
export function ccw0ToCcw1(buf: Uint8Array, at = 0): Ccw1 {
  needBytes(buf, at + CCW_SIZE, 'ccw0');
  const dv = be(buf);
  const cmd = dv.getUint8(at);
  const cda = dv.getUint32(at) & 0xffffff;
  if ((cmd & 0x0f) === CCW_CMD_TIC) return { cmd: CCW_CMD_TIC, flags: 0, count: 0, cda };
  return { cmd, flags: dv.getUint8(at + 4), count: dv.getUint16(at + 6), cda };
}

/** A CCW list as bytes (tests and guests build channel programs with it). */
export function encodeCcwChain(ccws: readonly Ccw1[]): Uint8Array {
  const out = new Uint8Array(ccws.length * CCW_SIZE);
  ccws.forEach((c, i) => encodeCcw1(c, out, i * CCW_SIZE));
  return out;
}

/** struct crw: slct, oflw, chn, rsc, anc, erc, rsid, as the architecture's 32-bit word. */
export interface Crw {
  slct: boolean;
  oflw: boolean;
  chn: boolean;
  rsc: number;
  anc: boolean;
  erc: number;
  rsid: number;
}

export function crwWord(x: Crw): number {
  return (flag(x.slct, 30) | flag(x.oflw, 29) | flag(x.chn, 28) | ((x.rsc & 0xf) << 24) | flag(x.anc, 23) | ((x.erc & 0x3f) << 16) | (x.rsid & 0xffff)) >>> 0;
}

export function crwOfWord(w: number): Crw {
  return { slct: bit(w, 30), oflw: bit(w, 29), chn: bit(w, 28), rsc: (w >>> 24) & 0xf, anc: bit(w, 23), erc: (w >>> 16) & 0x3f, rsid: w & 0xffff };
}

/** `0.0.0100`-style bus ids: css id, subchannel set, number (ssid 0-3, number 16 bits). */
export interface CcwBusId {
  cssid: number;
  ssid: number;
  num: number;
}

export function parseCcwBusId(text: string): CcwBusId {
  const m = /^([0-9a-fA-F]{1,2})\.([0-3])\.([0-9a-fA-F]{4})$/.exec(text.trim());
  if (m === null || m[1] === undefined || m[2] === undefined || m[3] === undefined) {
    throw new VfioError('EINVAL', `'${text}' is not a bus id like 0.0.0100`);
  }
  return { cssid: parseInt(m[1], 16), ssid: parseInt(m[2], 10), num: parseInt(m[3], 16) };
}

export function formatCcwBusId(id: CcwBusId): string {
  return `${id.cssid.toString(16)}.${id.ssid}.${id.num.toString(16).padStart(4, '0')}`;
}
