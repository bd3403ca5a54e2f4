// vfio-ccw's region layouts (include/uapi/linux/vfio_ccw.h: ccw_io_region, ccw_cmd_region, ccw_schib_region,
// ccw_crw_region) and the region offsets vfio-ccw uses (drivers/s390/cio/vfio_ccw_private.h, not uAPI). The
// architected areas inside them (ORB, SCSW, IRB, SCHIB, CRW) are big-endian (s390-cio.ts); the regions' own
// __u32 fields (ret_code, command) are host-endian, little-endian here like the rest of our uAPI.
import { needBytes, outBuffer, viewOf } from './codec.js';
import { Errno, errnoError } from './errno.js';
import type { VfioError } from './errno.js';
import type { ErrnoName } from './errno.js';
import { IRB_SIZE, ORB_AREA_SIZE, SCHIB_SIZE, SCSW_SIZE } from './s390-cio.js';

export const VFIO_CCW_ASYNC_CMD_HSCH = 1 << 0;
export const VFIO_CCW_ASYNC_CMD_CSCH = 1 << 1;

/** Region positions on the device fd: index << 10 (VFIO_CCW_OFFSET_SHIFT). */
export const VFIO_CCW_OFFSET_SHIFT = 10;
export const VFIO_CCW_OFFSET_MASK = (1 << VFIO_CCW_OFFSET_SHIFT) - 1;
export function vfioCcwIndexToOffset(index: number): number {
  return index << VFIO_CCW_OFFSET_SHIFT;
}
export function vfioCcwOffsetToIndex(pos: number): number {
  return Math.floor(pos / (1 << VFIO_CCW_OFFSET_SHIFT));
}

/** struct ccw_io_region: orb_area @0 (12), scsw_area @12 (12), irb_area @24 (96), ret_code @120. */
export const CCW_IO_REGION_SIZE = ORB_AREA_SIZE + SCSW_SIZE + IRB_SIZE + 4;
export const CCW_IO_REGION_ORB = 0;
export const CCW_IO_REGION_SCSW = ORB_AREA_SIZE;
export const CCW_IO_REGION_IRB = ORB_AREA_SIZE + SCSW_SIZE;
export const CCW_IO_REGION_RET_CODE = ORB_AREA_SIZE + SCSW_SIZE + IRB_SIZE;

export interface CcwIoRegion {
  orb: Uint8Array;
  scsw: Uint8Array;
  irb: Uint8Array;
  /** 0, or a negative errno (the kernel stores -EIO, -EBUSY, ...). */
  retCode: number;
}

export function decodeCcwIoRegion(buf: Uint8Array): CcwIoRegion {
  needBytes(buf, CCW_IO_REGION_SIZE, 'ccw_io_region');
  return {
    orb: buf.slice(CCW_IO_REGION_ORB, CCW_IO_REGION_ORB + ORB_AREA_SIZE),
    scsw: buf.slice(CCW_IO_REGION_SCSW, CCW_IO_REGION_SCSW + SCSW_SIZE),
    irb: buf.slice(CCW_IO_REGION_IRB, CCW_IO_REGION_IRB + IRB_SIZE),
    retCode: viewOf(buf).getInt32(CCW_IO_REGION_RET_CODE, true),
  };
}

export function encodeCcwIoRegion(x: CcwIoRegion, into?: Uint8Array): Uint8Array {
  const out = outBuffer(CCW_IO_REGION_SIZE, into, 'ccw_io_region');
  out.set(x.orb.subarray(0, ORB_AREA_SIZE), CCW_IO_REGION_ORB);
  out.set(x.scsw.subarray(0, SCSW_SIZE), CCW_IO_REGION_SCSW);
  out.set(x.irb.subarray(0, IRB_SIZE), CCW_IO_REGION_IRB);
  viewOf(out).setInt32(CCW_IO_REGION_RET_CODE, x.retCode, true);
  return out;
}

/** struct ccw_cmd_region: command @0, ret_code @4. */
export const CCW_CMD_REGION_SIZE = 8;
export interface CcwCmdRegion {
  command: number;
  retCode: number;
}

export function decodeCcwCmdRegion(buf: Uint8Array): CcwCmdRegion {
  needBytes(buf, CCW_CMD_REGION_SIZE, 'ccw_cmd_region');
  const dv = viewOf(buf);
  return { command: dv.getUint32(0, true), retCode: dv.getInt32(4, true) };
}

export function encodeCcwCmdRegion(x: CcwCmdRegion, into?: Uint8Array): Uint8Array {
  const out = outBuffer(CCW_CMD_REGION_SIZE, into, 'ccw_cmd_region');
  const dv = viewOf(out);
  dv.setUint32(0, x.command >>> 0, true);
  dv.setInt32(4, x.retCode, true);
  return out;
}

/** struct ccw_schib_region: the 52-byte SCHIB as the last store-subchannel saw it. */
export const CCW_SCHIB_REGION_SIZE = SCHIB_SIZE;

/** struct ccw_crw_region: crw @0 (0: none queued), pad @4. */
export const CCW_CRW_REGION_SIZE = 8;
export function decodeCcwCrwRegion(buf: Uint8Array): { crw: number } {
  needBytes(buf, CCW_CRW_REGION_SIZE, 'ccw_crw_region');
  return { crw: viewOf(buf).getUint32(0, true) };
}

export function encodeCcwCrwRegion(x: { crw: number }, into?: Uint8Array): Uint8Array {
  const out = outBuffer(CCW_CRW_REGION_SIZE, into, 'ccw_crw_region');
  const dv = viewOf(out);
  dv.setUint32(0, x.crw >>> 0, true);
  dv.setUint32(4, 0, true);
  return out;
}

/** A ret_code value for an errno name (-errno), as the kernel stores it. */
export function ccwRetCode(code: ErrnoName): number {
  return -Errno[code];
}

/** The errno a non-zero ret_code names, as a VfioError (what a write of the region returns). */
export function ccwRetCodeError(retCode: number, what: string): VfioError {
  return errnoError(-retCode, `${what}: ret_code ${retCode}`);
}
