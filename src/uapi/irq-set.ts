// struct vfio_irq_set (VFIO_DEVICE_SET_IRQS), its flags, and vfio_set_irqs_validate_and_prepare() (include/uapi/linux/vfio.h, drivers/vfio/vfio_main.c).
import { VfioError } from './errno.js';
import { needArgsz, needBytes, needKnownFlags, outBuffer, viewOf } from './codec.js';

export const VFIO_IRQ_SET_DATA_NONE = 1 << 0;
export const VFIO_IRQ_SET_DATA_BOOL = 1 << 1;
export const VFIO_IRQ_SET_DATA_EVENTFD = 1 << 2;
export const VFIO_IRQ_SET_ACTION_MASK = 1 << 3;
export const VFIO_IRQ_SET_ACTION_UNMASK = 1 << 4;
export const VFIO_IRQ_SET_ACTION_TRIGGER = 1 << 5;
export const VFIO_IRQ_SET_DATA_TYPE_MASK = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_DATA_EVENTFD;
export const VFIO_IRQ_SET_ACTION_TYPE_MASK =
  VFIO_IRQ_SET_ACTION_MASK | VFIO_IRQ_SET_ACTION_UNMASK | VFIO_IRQ_SET_ACTION_TRIGGER;

/** struct vfio_irq_set: argsz @0, flags @4, index @8, start @12, count @16, data[] @20. */
export interface VfioIrqSet {
  argsz: number;
  flags: number;
  index: number;
  start: number;
  count: number;
  /** The bytes after the header (within argsz): count u8 bools, count s32 eventfds, or nothing. */
  data: Uint8Array;
}

/** sizeof(struct vfio_irq_set) without data, and offsetofend(struct vfio_irq_set, count). */
export const VFIO_IRQ_SET_SIZEOF = 20;
export const VFIO_IRQ_SET_MINSZ = 20;

/**
 * Decodes the header and takes the data bytes present (up to argsz). Structural checks, as in
 * vfio_set_irqs_validate_and_prepare: argsz < 20, unknown flags, and a DATA type that is not exactly
 * one of NONE/BOOL/EVENTFD are EINVAL. Index/range/data-length checks need the device's IRQ counts:
 * see vfioSetIrqsValidateAndPrepare.
 */
export function decodeVfioIrqSet(buf: Uint8Array): VfioIrqSet {
  needBytes(buf, VFIO_IRQ_SET_MINSZ, 'vfio_irq_set');
  const dv = viewOf(buf);
  const argsz = dv.getUint32(0, true);
  needArgsz(argsz, VFIO_IRQ_SET_MINSZ, 'vfio_irq_set');
  const flags = dv.getUint32(4, true);
  needKnownFlags(flags, VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK, 'vfio_irq_set');
  vfioIrqSetDataSize(flags);
  const end = Math.min(buf.byteLength, argsz);
  return {
    argsz,
    flags,
    index: dv.getUint32(8, true),
    start: dv.getUint32(12, true),
    count: dv.getUint32(16, true),
    data: buf.subarray(VFIO_IRQ_SET_MINSZ, end),
  };
}

export function encodeVfioIrqSet(x: VfioIrqSet, into?: Uint8Array): Uint8Array {
  const out = outBuffer(VFIO_IRQ_SET_SIZEOF + x.data.byteLength, into, 'vfio_irq_set');
  const dv = viewOf(out);
  dv.setUint32(0, x.argsz, true);
  dv.setUint32(4, x.flags, true);
  dv.setUint32(8, x.index, true);
  dv.setUint32(12, x.start, true);
  dv.setUint32(16, x.count, true);
  out.set(x.data, VFIO_IRQ_SET_SIZEOF);
  return out;
}

/** Bytes per element for the DATA type in `flags` (0, 1 or 4); EINVAL unless exactly one type is set. */
export function vfioIrqSetDataSize(flags: number): number {
  switch (flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
    case VFIO_IRQ_SET_DATA_NONE:
      return 0;
    case VFIO_IRQ_SET_DATA_BOOL:
      return 1;
    case VFIO_IRQ_SET_DATA_EVENTFD:
      return 4;
    default:
      throw new VfioError('EINVAL', 'vfio_irq_set: DATA type must be exactly one of NONE, BOOL, EVENTFD');
  }
}

/**
 * vfio_set_irqs_validate_and_prepare(): the core's SET_IRQS checks given the device's IRQ count for
 * `hdr.index` (`numIrqs`) and its number of IRQ indexes (`maxIrqType`). Returns the data size in bytes
 * (count * element size; 0 for DATA_NONE); throws EINVAL like the kernel.
 */
export function vfioSetIrqsValidateAndPrepare(hdr: VfioIrqSet, numIrqs: number, maxIrqType: number): number {
  if (
    hdr.argsz < VFIO_IRQ_SET_MINSZ ||
    hdr.index >= maxIrqType ||
    hdr.count >= 0xffffffff - hdr.start ||
    (hdr.flags & ~(VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK)) >>> 0 !== 0
  ) {
    throw new VfioError('EINVAL', 'vfio_irq_set: bad argsz, index, count or flags');
  }
  if (hdr.start >= numIrqs || hdr.start + hdr.count > numIrqs) {
    throw new VfioError('EINVAL', `vfio_irq_set: [${hdr.start}, +${hdr.count}) outside ${numIrqs} irqs`);
  }
  const size = vfioIrqSetDataSize(hdr.flags);
  if (size === 0) return 0;
  if (hdr.argsz - VFIO_IRQ_SET_MINSZ < hdr.count * size) {
    throw new VfioError('EINVAL', `vfio_irq_set: argsz ${hdr.argsz} too small for ${hdr.count} elements`);
  }
  return hdr.count * size;
}

/** The `count` eventfds of a DATA_EVENTFD set (-1 means de-assign); EINVAL if the data is short. */
/** Which of DATA_NONE, DATA_BOOL, DATA_EVENTFD a SET_IRQS carries. */
export function vfioIrqSetDataType(x: VfioIrqSet): number {
  return x.flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
}

export function vfioIrqSetEventfds(x: VfioIrqSet): number[] {
  if (x.data.byteLength < x.count * 4) {
    throw new VfioError('EINVAL', `vfio_irq_set: ${x.count} eventfds need ${x.count * 4} bytes, have ${x.data.byteLength}`);
  }
  const dv = viewOf(x.data);
  const fds: number[] = [];
  for (let i = 0; i < x.count; i++) fds.push(dv.getInt32(i * 4, true));
  return fds;
}

/** The `count` bools of a DATA_BOOL set; EINVAL if the data is short. */
export function vfioIrqSetBools(x: VfioIrqSet): boolean[] {
  if (x.data.byteLength < x.count) {
    throw new VfioError('EINVAL', `vfio_irq_set: ${x.count} bools, have ${x.data.byteLength} bytes`);
  }
  return Array.from(x.data.subarray(0, x.count), (b) => b !== 0);
}

/** A DATA_EVENTFD set for vectors [start, start + fds.length) of `index`. */
export function vfioIrqSetOfEventfds(
  index: number,
  start: number,
  fds: readonly number[],
  action: number = VFIO_IRQ_SET_ACTION_TRIGGER,
): VfioIrqSet {
  const data = new Uint8Array(fds.length * 4);
  const dv = viewOf(data);
  fds.forEach((fd, i) => dv.setInt32(i * 4, fd, true));
  return { argsz: VFIO_IRQ_SET_SIZEOF + data.byteLength, flags: VFIO_IRQ_SET_DATA_EVENTFD | action, index, start, count: fds.length, data };
}

/** A DATA_BOOL set for vectors [start, start + values.length) of `index`. */
export function vfioIrqSetOfBools(index: number, start: number, values: readonly boolean[], action: number): VfioIrqSet {
  const data = Uint8Array.from(values, (v) => (v ? 1 : 0));
  return { argsz: VFIO_IRQ_SET_SIZEOF + data.byteLength, flags: VFIO_IRQ_SET_DATA_BOOL | action, index, start, count: values.length, data };
}

/** A DATA_NONE set (count 0 with ACTION_TRIGGER disables the whole index). */
export function vfioIrqSetOfNone(index: number, start: number, count: number, action: number): VfioIrqSet {
  return { argsz: VFIO_IRQ_SET_SIZEOF, flags: VFIO_IRQ_SET_DATA_NONE | action, index, start, count, data: new Uint8Array(0) };
}
