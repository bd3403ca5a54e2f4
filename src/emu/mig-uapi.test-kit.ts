// Test support for migrating emulated devices through the uAPI of a VfioProcess: VFIO_DEVICE_FEATURE
// MIG_DEVICE_STATE (with the data fd it returns), reading a saving stream to its (temporary) end, writing a
// resuming stream in chunks, and VFIO_MIG_GET_PRECOPY_INFO on the data fd.
import { VfioError } from '../uapi/errno.js';
import { VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, VFIO_DEVICE_FEATURE_SET } from '../uapi/feature.js';
import { VFIO_DEVICE_FEATURE, VFIO_MIG_GET_PRECOPY_INFO } from '../uapi/ioctl.js';
import type { VfioProcess } from '../vfio/vfio-process.js';

/** MIG_DEVICE_STATE SET to `state` (the core takes the arcs); returns the data fd, or -1 when the arcs gave none. */
export function migSet(proc: VfioProcess, device: number, state: number): number {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, 16, true);
  dv.setUint32(4, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, true);
  dv.setUint32(8, state, true);
  proc.ioctl(device, VFIO_DEVICE_FEATURE, b);
  return dv.getInt32(12, true);
}

/** read(2) of the data fd until 0 (STOP_COPY's end) or ENOMSG (PRE_COPY with nothing new). */
export function migReadAll(proc: VfioProcess, fd: number, chunk = 64 * 1024): Buffer {
  const parts: Buffer[] = [];
  const buf = new Uint8Array(chunk);
  for (;;) {
    let n: number;
    try {
      n = proc.read(fd, buf);
    } catch (err) {
      if (VfioError.is(err, 'ENOMSG')) break;
      throw err;
    }
    if (n === 0) break;
    parts.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(parts);
}

/** write(2) of `stream` to the data fd in chunks of `chunk` bytes. */
export function migWriteAll(proc: VfioProcess, fd: number, stream: Uint8Array, chunk = 100_000): void {
  for (let i = 0; i < stream.length; i += chunk) proc.write(fd, stream.subarray(i, i + chunk));
}

/** VFIO_MIG_GET_PRECOPY_INFO. */
export function migPrecopyInfo(proc: VfioProcess, fd: number): { initialBytes: bigint; dirtyBytes: bigint } {
  const b = new Uint8Array(24);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, 24, true);
  proc.ioctl(fd, VFIO_MIG_GET_PRECOPY_INFO, b);
  return { initialBytes: dv.getBigUint64(8, true), dirtyBytes: dv.getBigUint64(16, true) };
}
