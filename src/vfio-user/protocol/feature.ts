// DEVICE_FEATURE framing (vfio-user.rst "VFIO_USER_DEVICE_FEATURE"): the payload is a
// struct vfio_device_feature {argsz u32, flags u32, data[]} handed to the device file as is.
import { check } from '../../uapi/errno.js';

export const VFIO_DEVICE_FEATURE_SIZE = 8;
export const VFIO_DEVICE_FEATURE_MASK = 0xffff;
export const VFIO_DEVICE_FEATURE_GET = 1 << 16;
export const VFIO_DEVICE_FEATURE_SET = 1 << 17;
export const VFIO_DEVICE_FEATURE_PROBE = 1 << 18;

/* The feature indexes vfio-user carries (the spec's "Device Features" table). */
export const VFIO_DEVICE_FEATURE_MIGRATION = 1;
export const VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE = 2;
export const VFIO_DEVICE_FEATURE_DMA_LOGGING_START = 6;
export const VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP = 7;
export const VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT = 8;

export interface DeviceFeatureRequest {
  /** The largest reply payload the client takes. */
  argsz: number;
  flags: number;
  /** flags & VFIO_DEVICE_FEATURE_MASK. */
  feature: number;
  /** A view of the data after the 8-byte head (input for SET and for some GETs). */
  data: Buffer;
  /** The whole payload as received: the vfio_device_feature for the ioctl. */
  raw: Buffer;
}

/**
 * Frames DEVICE_FEATURE: EINVAL for a payload or argsz under 8. GET/SET/PROBE semantics and the
 * per-feature data are the device file's (kernel vfio_ioctl_device_feature) to check.
 */
export function decodeDeviceFeature(payload: Buffer): DeviceFeatureRequest {
  check(payload.length >= VFIO_DEVICE_FEATURE_SIZE, 'EINVAL', `DEVICE_FEATURE payload of ${payload.length} bytes`);
  const argsz = payload.readUInt32LE(0);
  const flags = payload.readUInt32LE(4);
  check(argsz >= VFIO_DEVICE_FEATURE_SIZE, 'EINVAL', `DEVICE_FEATURE argsz ${argsz}`);
  return { argsz, flags, feature: flags & VFIO_DEVICE_FEATURE_MASK, data: payload.subarray(VFIO_DEVICE_FEATURE_SIZE), raw: payload };
}

/** A DEVICE_FEATURE payload (client side). argsz defaults to the payload's own size. */
export function encodeDeviceFeature(flags: number, data?: Uint8Array, argsz?: number): Buffer {
  const n = data === undefined ? 0 : data.length;
  const buf = Buffer.alloc(VFIO_DEVICE_FEATURE_SIZE + n);
  buf.writeUInt32LE(argsz ?? buf.length, 0);
  buf.writeUInt32LE(flags, 4);
  if (data !== undefined) buf.set(data, VFIO_DEVICE_FEATURE_SIZE);
  return buf;
}

/**
 * The reply: the request's head with argsz = 8 + data length, then the data (for GET the feature's
 * data; for SET and PROBE the spec says the reply is the request payload itself, i.e. pass
 * request.data). EINVAL when the reply would exceed the client's argsz.
 */
export function encodeDeviceFeatureReply(request: DeviceFeatureRequest, data: Uint8Array): Buffer {
  const size = VFIO_DEVICE_FEATURE_SIZE + data.length;
  check(size <= request.argsz, 'EINVAL', `DEVICE_FEATURE reply of ${size} bytes above argsz ${request.argsz}`);
  return encodeDeviceFeature(request.flags, data);
}
