// The MC command portal's layout (include/linux/fsl/mc.h struct mc_cmd_header, struct fsl_mc_command) and the
// command ids of drivers/bus/fsl-mc/fsl-mc-private.h: a command is 8 little-endian 64-bit words, the header first.
import { VfioError } from '../../uapi/errno.js';
import type { ErrnoName } from '../../uapi/errno.js';

/** MC_CMD_NUM_OF_PARAMS: words after the header. */
export const MC_CMD_NUM_OF_PARAMS = 7;
/** sizeof(struct fsl_mc_command): header + 7 params, the size of an MC portal's command area. */
export const MC_CMD_SIZE = 64;

/** enum mc_cmd_status. */
export const MC_CMD_STATUS_OK = 0x0;
export const MC_CMD_STATUS_READY = 0x1;
export const MC_CMD_STATUS_AUTH_ERR = 0x3;
export const MC_CMD_STATUS_NO_PRIVILEGE = 0x4;
export const MC_CMD_STATUS_DMA_ERR = 0x5;
export const MC_CMD_STATUS_CONFIG_ERR = 0x6;
export const MC_CMD_STATUS_TIMEOUT = 0x7;
export const MC_CMD_STATUS_NO_RESOURCE = 0x8;
export const MC_CMD_STATUS_NO_MEMORY = 0x9;
export const MC_CMD_STATUS_BUSY = 0xa;
export const MC_CMD_STATUS_UNSUPPORTED_OP = 0xb;
export const MC_CMD_STATUS_INVALID_STATE = 0xc;

/** mc-sys.c mc_status_to_error(); ENAVAIL and ENOTSUPP have no errno name here: ENOSPC and EOPNOTSUPP stand in. */
const STATUS_TO_ERRNO: Readonly<Record<number, ErrnoName>> = Object.freeze({
  [MC_CMD_STATUS_AUTH_ERR]: 'EACCES',
  [MC_CMD_STATUS_NO_PRIVILEGE]: 'EPERM',
  [MC_CMD_STATUS_DMA_ERR]: 'EIO',
  [MC_CMD_STATUS_CONFIG_ERR]: 'ENXIO',
  [MC_CMD_STATUS_TIMEOUT]: 'ETIMEDOUT',
  [MC_CMD_STATUS_NO_RESOURCE]: 'ENOSPC',
  [MC_CMD_STATUS_NO_MEMORY]: 'ENOMEM',
  [MC_CMD_STATUS_BUSY]: 'EBUSY',
  [MC_CMD_STATUS_UNSUPPORTED_OP]: 'EOPNOTSUPP',
  [MC_CMD_STATUS_INVALID_STATE]: 'ENODEV',
});

/** mc_status_to_error() as a thrown VfioError (EINVAL for a status the table does not know). */
export function mcStatusError(status: number, what: string): VfioError {
  return new VfioError(STATUS_TO_ERRNO[status] ?? 'EINVAL', `${what}: MC status 0x${status.toString(16)}`);
}

/** MC_CMD_FLAG_PRI / MC_CMD_FLAG_INTR_DIS. */
export const MC_CMD_FLAG_PRI = 0x80;
export const MC_CMD_FLAG_INTR_DIS = 0x01;

/** struct mc_cmd_header as fields: src_id @0, flags_hw @1, status @2, flags_sw @3, token @4 (le16), cmd_id @6 (le16). */
export interface McCmdHeader {
  readonly cmdId: number;
  readonly token: number;
  readonly status: number;
}

export function mcReadHeader(cmd: Uint8Array): McCmdHeader {
  const dv = new DataView(cmd.buffer, cmd.byteOffset, cmd.byteLength);
  return { status: dv.getUint8(2), token: dv.getUint16(4, true), cmdId: dv.getUint16(6, true) };
}

/** mc_encode_cmd_header() into a fresh 64-byte command (params zero). */
export function mcEncodeCmd(cmdId: number, token = 0, flags = 0): Uint8Array {
  const cmd = new Uint8Array(MC_CMD_SIZE);
  const dv = new DataView(cmd.buffer);
  if (flags & MC_CMD_FLAG_PRI) dv.setUint8(1, MC_CMD_FLAG_PRI);
  dv.setUint8(2, MC_CMD_STATUS_READY);
  if (flags & MC_CMD_FLAG_INTR_DIS) dv.setUint8(3, MC_CMD_FLAG_INTR_DIS);
  dv.setUint16(4, token, true);
  dv.setUint16(6, cmdId, true);
  return cmd;
}

/** A view of the params (bytes 8..63) of a command, as the cmd_params structs overlay them. */
export function mcParams(cmd: Uint8Array): DataView {
  return new DataView(cmd.buffer, cmd.byteOffset + 8, MC_CMD_SIZE - 8);
}

/** A NUL-padded 16-byte type/label field at `off` of the params. */
export function mcReadStr16(p: DataView, off: number): string {
  let s = '';
  for (let i = 0; i < 16; i++) {
    const c = p.getUint8(off + i);
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

export function mcWriteStr16(p: DataView, off: number, s: string): void {
  for (let i = 0; i < 16; i++) p.setUint8(off + i, i < Math.min(s.length, 15) ? s.charCodeAt(i) & 0x7f : 0);
}

/** DPRC_CMD(id) and friends: the id in bits 4-15, the command's version in bits 0-3. */
const cmd = (id: number, version = 1): number => ((id << 4) | version) & 0xffff;

export const DPMNG_CMDID_GET_VERSION = cmd(0x831);

export const DPRC_CMDID_CLOSE = cmd(0x800);
export const DPRC_CMDID_OPEN = cmd(0x805);
export const DPRC_CMDID_GET_API_VERSION = cmd(0xa05);
export const DPRC_CMDID_GET_ATTR = cmd(0x004);
export const DPRC_CMDID_RESET_CONT = cmd(0x005);
export const DPRC_CMDID_RESET_CONT_V2 = cmd(0x005, 2);
export const DPRC_CMDID_SET_IRQ = cmd(0x010);
export const DPRC_CMDID_SET_IRQ_ENABLE = cmd(0x012);
export const DPRC_CMDID_SET_IRQ_MASK = cmd(0x014);
export const DPRC_CMDID_GET_IRQ_STATUS = cmd(0x016);
export const DPRC_CMDID_CLEAR_IRQ_STATUS = cmd(0x017);
export const DPRC_CMDID_GET_CONT_ID = cmd(0x830);
export const DPRC_CMDID_GET_OBJ_COUNT = cmd(0x159);
export const DPRC_CMDID_GET_OBJ = cmd(0x15a);
export const DPRC_CMDID_GET_OBJ_REG = cmd(0x15e);
export const DPRC_CMDID_GET_OBJ_REG_V2 = cmd(0x15e, 2);
export const DPRC_CMDID_SET_OBJ_IRQ = cmd(0x15f);

/** The open command of each object type (fsl-mc-private.h *_CMDID_OPEN, obj-api.c fsl_mc_get_open_cmd_id). */
export const OBJ_OPEN_CMDID: Readonly<Record<string, number>> = Object.freeze({
  dprtc: cmd(0x810),
  dpni: cmd(0x801),
  dpsw: cmd(0x802),
  dpio: cmd(0x803),
  dpbp: cmd(0x804),
  dprc: cmd(0x805),
  dpdmux: cmd(0x806),
  dpci: cmd(0x807),
  dpcon: cmd(0x808),
  dpseci: cmd(0x809),
  dpaiop: cmd(0x80a),
  dpmcp: cmd(0x80b),
  dpmac: cmd(0x80c),
  dpdcei: cmd(0x80d),
  dpdmai: cmd(0x80e),
  dpdbg: cmd(0x80f),
});

/** Generic object commands (OBJ_CMDID_CLOSE, OBJ_CMDID_RESET) and the ones every DP object shares (dpbp.h, dpcon.h). */
export const OBJ_CMDID_CLOSE = cmd(0x800);
export const OBJ_CMDID_RESET = cmd(0x005);
export const OBJ_CMDID_ENABLE = cmd(0x002);
export const OBJ_CMDID_DISABLE = cmd(0x003);
export const OBJ_CMDID_GET_ATTR = cmd(0x004);
export const OBJ_CMDID_IS_ENABLED = cmd(0x006);
export const OBJ_CMDID_SET_IRQ_ENABLE = cmd(0x012);
export const OBJ_CMDID_GET_IRQ_ENABLE = cmd(0x013);
export const OBJ_CMDID_SET_IRQ_MASK = cmd(0x014);
export const OBJ_CMDID_GET_IRQ_MASK = cmd(0x015);
export const OBJ_CMDID_GET_IRQ_STATUS = cmd(0x016);
export const OBJ_CMDID_CLEAR_IRQ_STATUS = cmd(0x017);

/** DPRC_RESET_OPTION_NON_RECURSIVE: child containers are not entered. */
export const DPRC_RESET_OPTION_NON_RECURSIVE = 0x1;

/** FSL_MC_OBJ_STATE_*. */
export const FSL_MC_OBJ_STATE_OPEN = 0x1;
export const FSL_MC_OBJ_STATE_PLUGGED = 0x2;

/** FSL_MC_REGION_* (region flags). */
export const FSL_MC_REGION_CACHEABLE = 0x1;
export const FSL_MC_REGION_SHAREABLE = 0x2;

/** enum dprc_region_type. */
export const DPRC_REGION_TYPE_MC_PORTAL = 0;
export const DPRC_REGION_TYPE_QBMAN_PORTAL = 1;

/** FSL_MC_VENDOR_FREESCALE. */
export const FSL_MC_VENDOR_FREESCALE = 0x1957;

/** DPNI_IRQ_EVENT_LINK_CHANGED (dpni.h): the cause a dpni raises when its link goes up or down. */
export const DPNI_IRQ_EVENT_LINK_CHANGED = 0x1;
/** DPRC_IRQ_EVENT_OBJ_ADDED / _OBJ_REMOVED. */
export const DPRC_IRQ_EVENT_OBJ_ADDED = 0x1;
export const DPRC_IRQ_EVENT_OBJ_REMOVED = 0x2;
