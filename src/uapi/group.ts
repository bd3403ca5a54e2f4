// struct vfio_group_status (VFIO_GROUP_GET_STATUS) and its flags (include/uapi/linux/vfio.h).
import { needArgsz, needBytes, outBuffer, viewOf } from './codec.js';

export const VFIO_GROUP_FLAGS_VIABLE = 1 << 0;
export const VFIO_GROUP_FLAGS_CONTAINER_SET = 1 << 1;

/** struct vfio_group_status: argsz @0, flags @4. */
export interface VfioGroupStatus {
  argsz: number;
  flags: number;
}
export const VFIO_GROUP_STATUS_SIZEOF = 8;
/** offsetofend(struct vfio_group_status, flags). */
export const VFIO_GROUP_STATUS_MINSZ = 8;

export function decodeVfioGroupStatus(buf: Uint8Array): VfioGroupStatus {
  needBytes(buf, VFIO_GROUP_STATUS_MINSZ, 'vfio_group_status');
  const dv = viewOf(buf);
  const argsz = dv.getUint32(0, true);
  needArgsz(argsz, VFIO_GROUP_STATUS_MINSZ, 'vfio_group_status');
  return { argsz, flags: dv.getUint32(4, true) };
}

export function encodeVfioGroupStatus(x: VfioGroupStatus, into?: Uint8Array): Uint8Array {
  const out = outBuffer(VFIO_GROUP_STATUS_SIZEOF, into, 'vfio_group_status');
  const dv = viewOf(out);
  dv.setUint32(0, x.argsz, true);
  dv.setUint32(4, x.flags, true);
  return out;
}
