// Migration v2 uAPI: enum vfio_device_mig_state, VFIO_MIGRATION_* support flags and struct vfio_precopy_info (include/uapi/linux/vfio.h).
import { needArgsz, needBytes, outBuffer, viewOf } from './codec.js';

/** enum vfio_device_mig_state, with the kernel's numbers. */
export const VfioDeviceMigState = Object.freeze({
  ERROR: 0,
  STOP: 1,
  RUNNING: 2,
  STOP_COPY: 3,
  RESUMING: 4,
  RUNNING_P2P: 5,
  PRE_COPY: 6,
  PRE_COPY_P2P: 7,
} as const);
export type VfioDeviceMigState = (typeof VfioDeviceMigState)[keyof typeof VfioDeviceMigState];

export const VFIO_DEVICE_STATE_ERROR = VfioDeviceMigState.ERROR;
export const VFIO_DEVICE_STATE_STOP = VfioDeviceMigState.STOP;
export const VFIO_DEVICE_STATE_RUNNING = VfioDeviceMigState.RUNNING;
export const VFIO_DEVICE_STATE_STOP_COPY = VfioDeviceMigState.STOP_COPY;
export const VFIO_DEVICE_STATE_RESUMING = VfioDeviceMigState.RESUMING;
export const VFIO_DEVICE_STATE_RUNNING_P2P = VfioDeviceMigState.RUNNING_P2P;
export const VFIO_DEVICE_STATE_PRE_COPY = VfioDeviceMigState.PRE_COPY;
export const VFIO_DEVICE_STATE_PRE_COPY_P2P = VfioDeviceMigState.PRE_COPY_P2P;
/** VFIO_DEVICE_STATE_NR: one past the last state. */
export const VFIO_DEVICE_STATE_NR = 8;

const STATE_NAMES = ['ERROR', 'STOP', 'RUNNING', 'STOP_COPY', 'RESUMING', 'RUNNING_P2P', 'PRE_COPY', 'PRE_COPY_P2P'] as const;

/** Whether `n` is one of the eight states (a narrowing guard for values read off the wire). */
export function isVfioDeviceMigState(n: number): n is VfioDeviceMigState {
  return Number.isInteger(n) && n >= 0 && n < VFIO_DEVICE_STATE_NR;
}

/** The state's kernel name without the prefix, e.g. `STOP_COPY`; `STATE(<n>)` if out of range. */
export function vfioDeviceMigStateName(s: number): string {
  return isVfioDeviceMigState(s) ? STATE_NAMES[s] : `STATE(${s})`;
}

// struct vfio_device_feature_migration.flags: which optional states a device supports.
export const VFIO_MIGRATION_STOP_COPY = 1 << 0;
export const VFIO_MIGRATION_P2P = 1 << 1;
export const VFIO_MIGRATION_PRE_COPY = 1 << 2;

/** struct vfio_precopy_info (VFIO_MIG_GET_PRECOPY_INFO): argsz @0, flags @4, initial_bytes u64 @8, dirty_bytes u64 @16. */
export interface VfioPrecopyInfo {
  argsz: number;
  flags: number;
  initialBytes: bigint;
  dirtyBytes: bigint;
}
export const VFIO_PRECOPY_INFO_SIZEOF = 24;
/** offsetofend(struct vfio_precopy_info, dirty_bytes), as the mlx5/hisi drivers check. */
export const VFIO_PRECOPY_INFO_MINSZ = 24;

export function decodeVfioPrecopyInfo(buf: Uint8Array): VfioPrecopyInfo {
  needBytes(buf, VFIO_PRECOPY_INFO_MINSZ, 'vfio_precopy_info');
  const dv = viewOf(buf);
  const argsz = dv.getUint32(0, true);
  needArgsz(argsz, VFIO_PRECOPY_INFO_MINSZ, 'vfio_precopy_info');
  return { argsz, flags: dv.getUint32(4, true), initialBytes: dv.getBigUint64(8, true), dirtyBytes: dv.getBigUint64(16, true) };
}

export function encodeVfioPrecopyInfo(x: VfioPrecopyInfo, into?: Uint8Array): Uint8Array {
  const out = outBuffer(VFIO_PRECOPY_INFO_SIZEOF, into, 'vfio_precopy_info');
  const dv = viewOf(out);
  dv.setUint32(0, x.argsz, true);
  dv.setUint32(4, x.flags, true);
  dv.setBigUint64(8, x.initialBytes, true);
  dv.setBigUint64(16, x.dirtyBytes, true);
  return out;
}
