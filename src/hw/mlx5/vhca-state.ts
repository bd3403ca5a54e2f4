// The firmware's image of a VF's state (what SAVE_VHCA_STATE writes and LOAD_VHCA_STATE reads; opaque to the
// driver, as the real device's is): a versioned header, then sections: the global registers, one per work queue,
// and one per 4 KiB page of device memory. A full image has every section; an incremental one only those that
// changed since the previous tracked save. Loading checks the whole image before it changes anything.
import { VfioError } from '../../uapi/errno.js';

export const VHCA_IMAGE_MAGIC = 0x41434856; // "VHCA"
export const VHCA_IMAGE_VERSION = 1;
export const VHCA_IMAGE_HEADER_SIZE = 16;
export const VHCA_SECTION_HEADER_SIZE = 8;
export const VHCA_IMAGE_FLAG_INCREMENTAL = 1;

/** Section ids: the global registers, queue q at 1 + q, device memory page p at 0x1000 + p. */
export const VHCA_SECTION_GLOBAL = 0;
export const VHCA_SECTION_QUEUE = 1;
export const VHCA_SECTION_DEVMEM = 0x1000;
export const VHCA_DEVMEM_PAGE = 4096;

export interface VhcaSection {
  readonly id: number;
  readonly data: Uint8Array;
}

/** What an image is for: a VF of this shape. A VF of another shape refuses it. */
export interface VhcaShape {
  readonly numQueues: number;
  readonly devmemSize: number;
}

/** The bytes a section takes in an image. */
export function vhcaSectionBytes(s: VhcaSection): number {
  return VHCA_SECTION_HEADER_SIZE + s.data.length;
}

export function encodeVhcaImage(shape: VhcaShape, incremental: boolean, sections: readonly VhcaSection[]): Uint8Array {
  const size = sections.reduce((n, s) => n + vhcaSectionBytes(s), VHCA_IMAGE_HEADER_SIZE);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, VHCA_IMAGE_MAGIC, true);
  dv.setUint16(4, VHCA_IMAGE_VERSION, true);
  dv.setUint16(6, incremental ? VHCA_IMAGE_FLAG_INCREMENTAL : 0, true);
  dv.setUint16(8, shape.numQueues, true);
  dv.setUint32(12, shape.devmemSize, true);
  let at = VHCA_IMAGE_HEADER_SIZE;
  for (const s of sections) {
    dv.setUint32(at, s.id, true);
    dv.setUint32(at + 4, s.data.length, true);
    out.set(s.data, at + VHCA_SECTION_HEADER_SIZE);
    at += vhcaSectionBytes(s);
  }
  return out;
}

/**
 * Parses an image for a VF of `shape`; `sectionSize(id)` is the exact size a section must have (undefined: no such
 * section). EINVAL for anything malformed: the firmware's bad-parameter status.
 */
export function decodeVhcaImage(image: Uint8Array, shape: VhcaShape, sectionSize: (id: number) => number | undefined): VhcaSection[] {
  if (image.length < VHCA_IMAGE_HEADER_SIZE) throw new VfioError('EINVAL', 'VHCA image shorter than its header');
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (dv.getUint32(0, true) !== VHCA_IMAGE_MAGIC || dv.getUint16(4, true) !== VHCA_IMAGE_VERSION) {
    throw new VfioError('EINVAL', 'not a VHCA v1 image');
  }
  if (dv.getUint16(8, true) !== shape.numQueues || dv.getUint32(12, true) !== shape.devmemSize) {
    throw new VfioError('EINVAL', `image of a VF with ${dv.getUint16(8, true)} queues and ${dv.getUint32(12, true)} bytes of device memory`);
  }
  const out: VhcaSection[] = [];
  let at = VHCA_IMAGE_HEADER_SIZE;
  while (at < image.length) {
    if (at + VHCA_SECTION_HEADER_SIZE > image.length) throw new VfioError('EINVAL', 'truncated section header');
    const id = dv.getUint32(at, true);
    const len = dv.getUint32(at + 4, true);
    const want = sectionSize(id);
    if (want === undefined || want !== len) throw new VfioError('EINVAL', `section 0x${id.toString(16)} of ${len} bytes`);
    const start = at + VHCA_SECTION_HEADER_SIZE;
    if (start + len > image.length) throw new VfioError('EINVAL', 'truncated section');
    out.push({ id, data: image.subarray(start, start + len) });
    at = start + len;
  }
  return out;
}
