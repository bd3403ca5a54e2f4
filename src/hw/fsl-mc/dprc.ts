// The DPRC and generic object commands software sends (drivers/bus/fsl-mc/dprc.c, obj-api.c, fsl-mc-bus.c
// mc_get_version): each builds the command, sends it through an MC I/O object and decodes the response.
import { VfioError } from '../../uapi/errno.js';
import {
  DPMNG_CMDID_GET_VERSION,
  DPRC_CMDID_CLOSE,
  DPRC_CMDID_GET_API_VERSION,
  DPRC_CMDID_GET_ATTR,
  DPRC_CMDID_GET_CONT_ID,
  DPRC_CMDID_GET_OBJ,
  DPRC_CMDID_GET_OBJ_COUNT,
  DPRC_CMDID_GET_OBJ_REG,
  DPRC_CMDID_GET_OBJ_REG_V2,
  DPRC_CMDID_OPEN,
  DPRC_CMDID_RESET_CONT,
  DPRC_CMDID_RESET_CONT_V2,
  DPRC_CMDID_SET_IRQ,
  DPRC_CMDID_SET_OBJ_IRQ,
  OBJ_CMDID_CLOSE,
  OBJ_CMDID_RESET,
  OBJ_OPEN_CMDID,
  mcEncodeCmd,
  mcParams,
  mcReadHeader,
  mcReadStr16,
  mcWriteStr16,
} from './mc-cmd.js';
import { mcSendCommand } from './mc-sys.js';
import type { FslMcIo } from './mc-sys.js';

/** struct fsl_mc_obj_desc. */
export interface FslMcObjDesc {
  type: string;
  id: number;
  vendor: number;
  verMajor: number;
  verMinor: number;
  irqCount: number;
  regionCount: number;
  state: number;
  label: string;
  flags: number;
}

/** struct dprc_attributes. */
export interface DprcAttributes {
  readonly containerId: number;
  readonly icid: number;
  readonly portalId: number;
  readonly options: number;
}

/** struct dprc_region_desc. */
export interface DprcRegionDesc {
  readonly baseOffset: number;
  readonly size: number;
  readonly flags: number;
  readonly baseAddress: bigint;
}

/** struct dprc_irq_cfg. */
export interface DprcIrqCfg {
  readonly paddr: bigint;
  readonly val: number;
  readonly irqNum: number;
}

/** The DPRC API version, cached after the first ask as dprc.c does (per MC here, not per kernel). */
const apiVersions = new WeakMap<object, { major: number; minor: number }>();

function send(mcIo: FslMcIo, cmdId: number, token: number, fill?: (p: DataView) => void): { cmd: Uint8Array; p: DataView } {
  const cmd = mcEncodeCmd(cmdId, token);
  const p = mcParams(cmd);
  fill?.(p);
  mcSendCommand(mcIo, cmd);
  return { cmd, p };
}

export function mcGetVersion(mcIo: FslMcIo): { major: number; minor: number; revision: number } {
  const { p } = send(mcIo, DPMNG_CMDID_GET_VERSION, 0);
  return { revision: p.getUint32(0, true), major: p.getUint32(4, true), minor: p.getUint32(8, true) };
}

export function dprcGetApiVersion(mcIo: FslMcIo): { major: number; minor: number } {
  const cached = apiVersions.get(mcIo.portal);
  if (cached !== undefined) return cached;
  const { p } = send(mcIo, DPRC_CMDID_GET_API_VERSION, 0);
  const v = { major: p.getUint16(0, true), minor: p.getUint16(2, true) };
  apiVersions.set(mcIo.portal, v);
  return v;
}

const atLeast = (v: { major: number; minor: number }, major: number, minor: number): boolean => v.major > major || (v.major === major && v.minor >= minor);

export function dprcGetContainerId(mcIo: FslMcIo): number {
  return send(mcIo, DPRC_CMDID_GET_CONT_ID, 0).p.getUint32(0, true);
}

/** dprc_open(): the token of a new session on container `containerId`. */
export function dprcOpen(mcIo: FslMcIo, containerId: number): number {
  const { cmd } = send(mcIo, DPRC_CMDID_OPEN, 0, (p) => p.setUint32(0, containerId, true));
  return mcReadHeader(cmd).token;
}

export function dprcClose(mcIo: FslMcIo, token: number): void {
  send(mcIo, DPRC_CMDID_CLOSE, token);
}

export function dprcGetAttributes(mcIo: FslMcIo, token: number): DprcAttributes {
  const { p } = send(mcIo, DPRC_CMDID_GET_ATTR, token);
  return { containerId: p.getUint32(0, true), icid: p.getUint16(4, true), options: p.getUint32(8, true), portalId: p.getUint32(12, true) };
}

/** dprc_reset_container(): the v2 command (with options) from DPRC API 6.5 on. */
export function dprcResetContainer(mcIo: FslMcIo, token: number, childContainerId: number, options: number): void {
  const v2 = atLeast(dprcGetApiVersion(mcIo), 6, 5);
  send(mcIo, v2 ? DPRC_CMDID_RESET_CONT_V2 : DPRC_CMDID_RESET_CONT, token, (p) => {
    p.setUint32(0, childContainerId, true);
    p.setUint32(4, options, true);
  });
}

export function dprcGetObjCount(mcIo: FslMcIo, token: number): number {
  return send(mcIo, DPRC_CMDID_GET_OBJ_COUNT, token).p.getUint32(4, true);
}

export function dprcGetObj(mcIo: FslMcIo, token: number, index: number): FslMcObjDesc {
  const { p } = send(mcIo, DPRC_CMDID_GET_OBJ, token, (q) => q.setUint32(0, index, true));
  return {
    id: p.getUint32(4, true),
    vendor: p.getUint16(8, true),
    irqCount: p.getUint8(10),
    regionCount: p.getUint8(11),
    state: p.getUint32(12, true),
    verMajor: p.getUint16(16, true),
    verMinor: p.getUint16(18, true),
    flags: p.getUint16(20, true),
    type: mcReadStr16(p, 24),
    label: mcReadStr16(p, 40),
  };
}

/** dprc_get_obj_region(): v2 (with the base address) from DPRC API 6.3 on. */
export function dprcGetObjRegion(mcIo: FslMcIo, token: number, type: string, id: number, index: number): DprcRegionDesc {
  const v2 = atLeast(dprcGetApiVersion(mcIo), 6, 3);
  const { p } = send(mcIo, v2 ? DPRC_CMDID_GET_OBJ_REG_V2 : DPRC_CMDID_GET_OBJ_REG, token, (q) => {
    q.setUint32(0, id, true);
    q.setUint8(6, index);
    mcWriteStr16(q, 24, type);
  });
  return {
    baseOffset: Number(p.getBigUint64(8, true)),
    size: p.getUint32(16, true),
    flags: p.getUint32(24, true),
    baseAddress: v2 ? p.getBigUint64(32, true) : 0n,
  };
}

/** dprc_set_obj_irq(): programs the MSI of irq `index` of `type.id`, a child of the open container. */
export function dprcSetObjIrq(mcIo: FslMcIo, token: number, type: string, id: number, index: number, cfg: DprcIrqCfg): void {
  send(mcIo, DPRC_CMDID_SET_OBJ_IRQ, token, (p) => {
    p.setUint32(0, cfg.val, true);
    p.setUint8(4, index);
    p.setBigUint64(8, cfg.paddr, true);
    p.setUint32(16, cfg.irqNum, true);
    p.setUint32(20, id, true);
    mcWriteStr16(p, 24, type);
  });
}

/** dprc_set_irq(): programs the MSI of the open container's own irq `index`. */
export function dprcSetIrq(mcIo: FslMcIo, token: number, index: number, cfg: DprcIrqCfg): void {
  send(mcIo, DPRC_CMDID_SET_IRQ, token, (p) => {
    p.setUint32(0, cfg.val, true);
    p.setUint8(4, index);
    p.setBigUint64(8, cfg.paddr, true);
    p.setUint32(16, cfg.irqNum, true);
  });
}

/** fsl_mc_obj_open(): ENODEV for a type without an open command. */
export function fslMcObjOpen(mcIo: FslMcIo, id: number, type: string): number {
  const cmdId = Object.hasOwn(OBJ_OPEN_CMDID, type) ? OBJ_OPEN_CMDID[type] : undefined;
  if (cmdId === undefined) throw new VfioError('ENODEV', `no open command for '${type}'`);
  const { cmd } = send(mcIo, cmdId, 0, (p) => p.setUint32(0, id, true));
  return mcReadHeader(cmd).token;
}

export function fslMcObjClose(mcIo: FslMcIo, token: number): void {
  send(mcIo, OBJ_CMDID_CLOSE, token);
}

export function fslMcObjReset(mcIo: FslMcIo, token: number): void {
  send(mcIo, OBJ_CMDID_RESET, token);
}
