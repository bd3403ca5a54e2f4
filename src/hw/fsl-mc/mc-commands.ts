// The MC firmware's command handlers: one table per kind of session (none, a DPRC, any other object), each
// handler reading its cmd_params layout (drivers/bus/fsl-mc/fsl-mc-private.h, dprc.c, obj-api.c) and writing
// the response in place. A command the MC does not know answers MC_CMD_STATUS_UNSUPPORTED_OP.
import {
  DPMNG_CMDID_GET_VERSION,
  DPRC_CMDID_GET_API_VERSION,
  DPRC_CMDID_GET_ATTR,
  DPRC_CMDID_GET_CONT_ID,
  DPRC_CMDID_GET_OBJ,
  DPRC_CMDID_GET_OBJ_COUNT,
  DPRC_CMDID_GET_OBJ_REG,
  DPRC_CMDID_GET_OBJ_REG_V2,
  DPRC_CMDID_RESET_CONT,
  DPRC_CMDID_RESET_CONT_V2,
  DPRC_CMDID_SET_IRQ,
  DPRC_CMDID_SET_OBJ_IRQ,
  MC_CMD_SIZE,
  MC_CMD_STATUS_AUTH_ERR,
  MC_CMD_STATUS_BUSY,
  MC_CMD_STATUS_CONFIG_ERR,
  MC_CMD_STATUS_NO_PRIVILEGE,
  MC_CMD_STATUS_OK,
  MC_CMD_STATUS_UNSUPPORTED_OP,
  OBJ_CMDID_CLEAR_IRQ_STATUS,
  OBJ_CMDID_CLOSE,
  OBJ_CMDID_DISABLE,
  OBJ_CMDID_ENABLE,
  OBJ_CMDID_GET_ATTR,
  OBJ_CMDID_GET_IRQ_ENABLE,
  OBJ_CMDID_GET_IRQ_MASK,
  OBJ_CMDID_GET_IRQ_STATUS,
  OBJ_CMDID_IS_ENABLED,
  OBJ_CMDID_RESET,
  OBJ_CMDID_SET_IRQ_ENABLE,
  OBJ_CMDID_SET_IRQ_MASK,
  OBJ_OPEN_CMDID,
  mcReadStr16,
  mcWriteStr16,
} from './mc-cmd.js';
import { DpbpHw, McContainer } from './mc-objects.js';
import type { McIrqState, McObject } from './mc-objects.js';
import type { ManagementComplex, McPortal } from './mc-firmware.js';

/** The MC firmware version mc_get_version() reports, and the DPRC API version (>= 6.5: the v2 commands). */
export const MC_FW_VERSION = Object.freeze({ major: 10, minor: 28, revision: 0 });
export const DPRC_API_VERSION = Object.freeze({ major: 6, minor: 6 });

interface Ctx {
  readonly mc: ManagementComplex;
  readonly portal: McPortal;
  /** The params (command in, response out). */
  readonly p: DataView;
  readonly token: number;
  /** Set by the handler that opens a session: the token the response header carries. */
  newToken: number;
}

type Handler<O> = (ctx: Ctx, obj: O) => number;

/** Whether `obj` is reachable through `portal`: inside its scope container (or that container itself). */
function inScope(portal: McPortal, obj: McObject): boolean {
  for (let c: McContainer | null = obj instanceof McContainer ? obj : obj.container; c !== null; c = c.container) {
    if (c === portal.scope) return true;
  }
  return false;
}

function openObject(ctx: Ctx, type: string): number {
  const obj = ctx.mc.find(type, ctx.p.getUint32(0, true));
  if (obj === undefined) return MC_CMD_STATUS_CONFIG_ERR;
  if (!inScope(ctx.portal, obj)) return MC_CMD_STATUS_NO_PRIVILEGE;
  // There cannot be more than one active open of an object through one portal (fsl_mc_device_add's note).
  if (ctx.portal.isOpen(obj)) return MC_CMD_STATUS_BUSY;
  ctx.newToken = ctx.portal.openSession(obj);
  return MC_CMD_STATUS_OK;
}

/** Commands without a session. */
const sessionless = new Map<number, (ctx: Ctx) => number>([
  [DPMNG_CMDID_GET_VERSION, (ctx) => {
    ctx.p.setUint32(0, MC_FW_VERSION.revision, true);
    ctx.p.setUint32(4, MC_FW_VERSION.major, true);
    ctx.p.setUint32(8, MC_FW_VERSION.minor, true);
    return MC_CMD_STATUS_OK;
  }],
  [DPRC_CMDID_GET_API_VERSION, (ctx) => {
    ctx.p.setUint16(0, DPRC_API_VERSION.major, true);
    ctx.p.setUint16(2, DPRC_API_VERSION.minor, true);
    return MC_CMD_STATUS_OK;
  }],
  [DPRC_CMDID_GET_CONT_ID, (ctx) => {
    ctx.p.setUint32(0, ctx.portal.scope.id, true);
    return MC_CMD_STATUS_OK;
  }],
  ...Object.entries(OBJ_OPEN_CMDID).map(([type, id]): [number, (ctx: Ctx) => number] => [id, (ctx) => openObject(ctx, type)]),
]);

function irqOf(ctx: Ctx, obj: McObject): McIrqState | undefined {
  return obj.irqs[ctx.p.getUint8(4)];
}

/** Commands every object's session takes (the DPRC's too, unless its own table has the id). */
const objectCommands = new Map<number, Handler<McObject>>([
  [OBJ_CMDID_CLOSE, (ctx) => {
    ctx.portal.closeSession(ctx.token);
    return MC_CMD_STATUS_OK;
  }],
  [OBJ_CMDID_RESET, (_ctx, obj) => {
    obj.reset();
    return MC_CMD_STATUS_OK;
  }],
  [OBJ_CMDID_ENABLE, (_ctx, obj) => {
    obj.enabled = true;
    return MC_CMD_STATUS_OK;
  }],
  [OBJ_CMDID_DISABLE, (_ctx, obj) => {
    obj.enabled = false;
    return MC_CMD_STATUS_OK;
  }],
  [OBJ_CMDID_IS_ENABLED, (ctx, obj) => {
    ctx.p.setUint8(0, obj.enabled ? 1 : 0);
    return MC_CMD_STATUS_OK;
  }],
  [OBJ_CMDID_GET_ATTR, (ctx, obj) => {
    // dpbp_rsp_get_attributes: pad, bpid, id, version; the other objects answer with their id first.
    if (obj instanceof DpbpHw) {
      ctx.p.setUint16(2, obj.bpid, true);
      ctx.p.setUint32(4, obj.id, true);
      ctx.p.setUint16(8, obj.verMajor, true);
      ctx.p.setUint16(10, obj.verMinor, true);
    } else {
      ctx.p.setUint32(0, obj.id, true);
    }
    return MC_CMD_STATUS_OK;
  }],
  [OBJ_CMDID_SET_IRQ_ENABLE, (ctx, obj) => {
    const irq = irqOf(ctx, obj);
    if (irq === undefined) return MC_CMD_STATUS_CONFIG_ERR;
    irq.enable = (ctx.p.getUint8(0) & 1) !== 0;
    obj.updateIrq(ctx.p.getUint8(4));
    return MC_CMD_STATUS_OK;
  }],
  [OBJ_CMDID_GET_IRQ_ENABLE, (ctx, obj) => {
    const irq = irqOf(ctx, obj);
    if (irq === undefined) return MC_CMD_STATUS_CONFIG_ERR;
    ctx.p.setUint8(0, irq.enable ? 1 : 0);
    return MC_CMD_STATUS_OK;
  }],
  [OBJ_CMDID_SET_IRQ_MASK, (ctx, obj) => {
    const irq = irqOf(ctx, obj);
    if (irq === undefined) return MC_CMD_STATUS_CONFIG_ERR;
    irq.mask = ctx.p.getUint32(0, true);
    obj.updateIrq(ctx.p.getUint8(4));
    return MC_CMD_STATUS_OK;
  }],
  [OBJ_CMDID_GET_IRQ_MASK, (ctx, obj) => {
    const irq = irqOf(ctx, obj);
    if (irq === undefined) return MC_CMD_STATUS_CONFIG_ERR;
    ctx.p.setUint32(0, irq.mask, true);
    return MC_CMD_STATUS_OK;
  }],
  [OBJ_CMDID_GET_IRQ_STATUS, (ctx, obj) => {
    const irq = irqOf(ctx, obj);
    if (irq === undefined) return MC_CMD_STATUS_CONFIG_ERR;
    ctx.p.setUint32(0, irq.status, true);
    return MC_CMD_STATUS_OK;
  }],
  [OBJ_CMDID_CLEAR_IRQ_STATUS, (ctx, obj) => {
    const irq = irqOf(ctx, obj);
    if (irq === undefined) return MC_CMD_STATUS_CONFIG_ERR;
    irq.status = (irq.status & ~ctx.p.getUint32(0, true)) >>> 0;
    obj.updateIrq(ctx.p.getUint8(4));
    return MC_CMD_STATUS_OK;
  }],
]);

/** The child of `c` named by a 16-byte type at `typeOff` and a u32 id at `idOff` of the params. */
function childOf(ctx: Ctx, c: McContainer, typeOff: number, idOff: number): McObject | undefined {
  const type = mcReadStr16(ctx.p, typeOff);
  const id = ctx.p.getUint32(idOff, true);
  return c.children.find((o) => o.type === type && o.id === id);
}

function resetContainer(ctx: Ctx, c: McContainer, options: number): number {
  const id = ctx.p.getUint32(0, true);
  // vfio_fsl_mc resets a DPRC through its own session (child_container_id = its own id); a parent may reset a child.
  const target = [...c.containers()].find((x) => x.id === id);
  if (target === undefined) return MC_CMD_STATUS_CONFIG_ERR;
  ctx.mc.resetContainer(target, options);
  return MC_CMD_STATUS_OK;
}

function setIrqConfig(ctx: Ctx, irq: McIrqState | undefined): number {
  if (irq === undefined) return MC_CMD_STATUS_CONFIG_ERR;
  irq.msiData = ctx.p.getUint32(0, true);
  irq.msiAddr = ctx.p.getBigUint64(8, true);
  irq.irqNum = ctx.p.getUint32(16, true);
  irq.sent = false;
  return MC_CMD_STATUS_OK;
}

/** A DPRC session's own commands. */
const containerCommands = new Map<number, Handler<McContainer>>([
  [DPRC_CMDID_GET_ATTR, (ctx, c) => {
    ctx.p.setUint32(0, c.id, true);
    ctx.p.setUint16(4, c.icid, true);
    ctx.p.setUint32(8, 0, true);
    ctx.p.setUint32(12, (c.regions[0] as McPortal | undefined)?.index ?? ctx.portal.index, true);
    return MC_CMD_STATUS_OK;
  }],
  [DPRC_CMDID_RESET_CONT, (ctx, c) => resetContainer(ctx, c, 0)],
  [DPRC_CMDID_RESET_CONT_V2, (ctx, c) => resetContainer(ctx, c, ctx.p.getUint32(4, true))],
  [DPRC_CMDID_GET_OBJ_COUNT, (ctx, c) => {
    ctx.p.setUint32(4, c.children.length, true);
    return MC_CMD_STATUS_OK;
  }],
  [DPRC_CMDID_GET_OBJ, (ctx, c) => {
    const obj = c.children[ctx.p.getUint32(0, true)];
    if (obj === undefined) return MC_CMD_STATUS_CONFIG_ERR;
    new Uint8Array(ctx.p.buffer, ctx.p.byteOffset, ctx.p.byteLength).fill(0);
    ctx.p.setUint32(4, obj.id, true);
    ctx.p.setUint16(8, obj.vendor, true);
    ctx.p.setUint8(10, obj.irqs.length);
    ctx.p.setUint8(11, obj.regions.length);
    ctx.p.setUint32(12, ctx.mc.stateOf(obj), true);
    ctx.p.setUint16(16, obj.verMajor, true);
    ctx.p.setUint16(18, obj.verMinor, true);
    mcWriteStr16(ctx.p, 24, obj.type);
    mcWriteStr16(ctx.p, 40, obj.label);
    return MC_CMD_STATUS_OK;
  }],
  [DPRC_CMDID_GET_OBJ_REG, (ctx, c) => objRegion(ctx, c)],
  [DPRC_CMDID_GET_OBJ_REG_V2, (ctx, c) => objRegion(ctx, c)],
  [DPRC_CMDID_SET_OBJ_IRQ, (ctx, c) => {
    const obj = childOf(ctx, c, 24, 20);
    if (obj === undefined) return MC_CMD_STATUS_CONFIG_ERR;
    return setIrqConfig(ctx, obj.irqs[ctx.p.getUint8(4)]);
  }],
  [DPRC_CMDID_SET_IRQ, (ctx, c) => setIrqConfig(ctx, c.irqs[ctx.p.getUint8(4)])],
]);

/** dprc_rsp_get_obj_region: base_offset @8, size @16, flags @24, base_addr @32. */
function objRegion(ctx: Ctx, c: McContainer): number {
  const obj = childOf(ctx, c, 24, 0);
  const r = obj?.regions[ctx.p.getUint8(6)];
  if (r === undefined) return MC_CMD_STATUS_CONFIG_ERR;
  new Uint8Array(ctx.p.buffer, ctx.p.byteOffset, ctx.p.byteLength).fill(0);
  ctx.p.setBigUint64(8, BigInt(r.baseOffset), true);
  ctx.p.setUint32(16, r.size, true);
  ctx.p.setUint32(24, r.flags, true);
  ctx.p.setBigUint64(32, r.baseAddress, true);
  return MC_CMD_STATUS_OK;
}

/** Runs the command in `portal`'s window and writes the answer back: status in the header, response params. */
export function mcExecute(mc: ManagementComplex, portal: McPortal): void {
  const regs = portal.regs;
  const dv = new DataView(regs.buffer, regs.byteOffset, MC_CMD_SIZE);
  const cmdId = dv.getUint16(6, true);
  const token = dv.getUint16(4, true);
  const ctx: Ctx = { mc, portal, p: new DataView(regs.buffer, regs.byteOffset + 8, MC_CMD_SIZE - 8), token, newToken: 0 };
  let status: number;
  const free = sessionless.get(cmdId);
  if (free !== undefined) {
    status = free(ctx);
  } else {
    const obj = portal.sessions.get(token);
    if (obj === undefined) status = MC_CMD_STATUS_AUTH_ERR;
    else {
      const own = obj instanceof McContainer ? containerCommands.get(cmdId) : undefined;
      if (own !== undefined && obj instanceof McContainer) status = own(ctx, obj);
      else status = objectCommands.get(cmdId)?.(ctx, obj) ?? MC_CMD_STATUS_UNSUPPORTED_OP;
    }
  }
  if (ctx.newToken !== 0) dv.setUint16(4, ctx.newToken, true);
  dv.setUint8(2, status);
}
