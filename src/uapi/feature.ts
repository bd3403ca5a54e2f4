// struct vfio_device_feature framing (VFIO_DEVICE_FEATURE), feature ids and vfio_check_feature() (include/uapi/linux/vfio.h, include/linux/vfio.h, drivers/vfio/vfio_main.c).
import { VfioError } from './errno.js';
import { needArgsz, needBytes, needKnownFlags, outBuffer, viewOf } from './codec.js';

export const VFIO_DEVICE_FEATURE_MASK = 0xffff;
export const VFIO_DEVICE_FEATURE_GET = 1 << 16;
export const VFIO_DEVICE_FEATURE_SET = 1 << 17;
export const VFIO_DEVICE_FEATURE_PROBE = 1 << 18;

// Feature ids (the low 16 bits of flags).
export const VFIO_DEVICE_FEATURE_PCI_VF_TOKEN = 0;
export const VFIO_DEVICE_FEATURE_MIGRATION = 1;
export const VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE = 2;
export const VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY = 3;
export const VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP = 4;
export const VFIO_DEVICE_FEATURE_LOW_POWER_EXIT = 5;
export const VFIO_DEVICE_FEATURE_DMA_LOGGING_START = 6;
export const VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP = 7;
export const VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT = 8;
export const VFIO_DEVICE_FEATURE_MIG_DATA_SIZE = 9;
export const VFIO_DEVICE_FEATURE_BUS_MASTER = 10;
export const VFIO_DEVICE_FEATURE_DMA_BUF = 11;

const FEATURE_NAMES: Readonly<Record<number, string>> = {
  0: 'PCI_VF_TOKEN',
  1: 'MIGRATION',
  2: 'MIG_DEVICE_STATE',
  3: 'LOW_POWER_ENTRY',
  4: 'LOW_POWER_ENTRY_WITH_WAKEUP',
  5: 'LOW_POWER_EXIT',
  6: 'DMA_LOGGING_START',
  7: 'DMA_LOGGING_STOP',
  8: 'DMA_LOGGING_REPORT',
  9: 'MIG_DATA_SIZE',
  10: 'BUS_MASTER',
  11: 'DMA_BUF',
};

/** `VFIO_DEVICE_FEATURE_<NAME>` for a feature id, for logs; `FEATURE(<n>)` if unknown. */
export function vfioDeviceFeatureName(id: number): string {
  const n = FEATURE_NAMES[id];
  return n === undefined ? `FEATURE(${id})` : `VFIO_DEVICE_FEATURE_${n}`;
}

/** struct vfio_device_feature: argsz @0, flags @4, data[] @8. */
export interface VfioDeviceFeature {
  argsz: number;
  flags: number;
  /** Feature payload after the 8-byte header (within argsz); its layout depends on the feature. */
  data: Uint8Array;
}
export const VFIO_DEVICE_FEATURE_SIZEOF = 8;
/** offsetofend(struct vfio_device_feature, flags). */
export const VFIO_DEVICE_FEATURE_MINSZ = 8;

/** The feature id (flags & VFIO_DEVICE_FEATURE_MASK). */
export function vfioDeviceFeatureId(flags: number): number {
  return flags & VFIO_DEVICE_FEATURE_MASK;
}

/**
 * vfio_ioctl_device_feature()'s checks, all EINVAL: argsz < 8, unknown flags, and GET with SET
 * without PROBE. `data` is what follows the header, capped at argsz; the handler's payload size is
 * `argsz - 8` (pass it to vfioCheckFeature).
 */
export function decodeVfioDeviceFeature(buf: Uint8Array): VfioDeviceFeature {
  needBytes(buf, VFIO_DEVICE_FEATURE_MINSZ, 'vfio_device_feature');
  const dv = viewOf(buf);
  const argsz = dv.getUint32(0, true);
  needArgsz(argsz, VFIO_DEVICE_FEATURE_MINSZ, 'vfio_device_feature');
  const flags = dv.getUint32(4, true);
  needKnownFlags(
    flags,
    VFIO_DEVICE_FEATURE_MASK | VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_PROBE,
    'vfio_device_feature',
  );
  if (!(flags & VFIO_DEVICE_FEATURE_PROBE) && flags & VFIO_DEVICE_FEATURE_SET && flags & VFIO_DEVICE_FEATURE_GET) {
    throw new VfioError('EINVAL', 'vfio_device_feature: GET and SET are exclusive without PROBE');
  }
  return { argsz, flags, data: buf.subarray(VFIO_DEVICE_FEATURE_MINSZ, Math.min(buf.byteLength, argsz)) };
}

export function encodeVfioDeviceFeature(x: VfioDeviceFeature, into?: Uint8Array): Uint8Array {
  const out = outBuffer(VFIO_DEVICE_FEATURE_SIZEOF + x.data.byteLength, into, 'vfio_device_feature');
  const dv = viewOf(out);
  dv.setUint32(0, x.argsz, true);
  dv.setUint32(4, x.flags, true);
  out.set(x.data, VFIO_DEVICE_FEATURE_SIZEOF);
  return out;
}

/** A feature request for `id` with `op` (GET/SET/PROBE bits) and `data`, argsz covering all of it. */
export function vfioDeviceFeatureOf(id: number, op: number, data: Uint8Array = new Uint8Array(0)): VfioDeviceFeature {
  return { argsz: VFIO_DEVICE_FEATURE_SIZEOF + data.byteLength, flags: (op | (id & VFIO_DEVICE_FEATURE_MASK)) >>> 0, data };
}

/**
 * vfio_check_feature() for a driver's device_feature op: GET/SET bits outside `supportedOps` are
 * EINVAL; a PROBE returns 0 (answer success without acting); without PROBE one of GET or SET is
 * required and `argsz` (the payload size) must be at least `minsz`, else EINVAL; returns 1 when the
 * driver should do the get or set.
 */
export function vfioCheckFeature(flags: number, argsz: number, supportedOps: number, minsz: number): 0 | 1 {
  if ((flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET) & ~supportedOps) !== 0) {
    throw new VfioError('EINVAL', 'feature: operation not supported');
  }
  if (flags & VFIO_DEVICE_FEATURE_PROBE) return 0;
  if (!(flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET))) {
    throw new VfioError('EINVAL', 'feature: neither GET nor SET');
  }
  if (argsz < minsz) throw new VfioError('EINVAL', `feature: payload ${argsz} bytes < ${minsz}`);
  return 1;
}
