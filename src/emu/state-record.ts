// A device's saved state as bytes: a framed, versioned record `{magic, format, device, version}` + JSON payload, the
// shape mtty's migration stream takes (samples/vfio-mdev/mtty.c struct mtty_data: magic, major/minor version, ports).
import { VfioError, check } from '../uapi/errno.js';

/** 'VTSR' little-endian: the first four bytes of every record. */
export const STATE_RECORD_MAGIC = 0x52535456;
/** The framing format; bumped only if the header layout changes. */
export const STATE_RECORD_FORMAT = 1;
/** magic u32 @0, format u16 @4, flags u16 @6, version u32 @8, nameLen u16 @12, reserved u16 @14, payloadLen u32 @16, reserved u32 @20. */
export const STATE_RECORD_HEADER_SIZE = 24;
/** Record flag: an initial (PRE_COPY) snapshot that a later record supersedes. */
export const STATE_RECORD_FLAG_PRECOPY = 1;

export interface StateRecord {
  /** The device type, e.g. 'mtty-2': a stream for another device type is refused. */
  readonly device: string;
  /** The device's state version: the loader accepts exactly the versions it knows. */
  readonly version: number;
  readonly flags: number;
  /** The device's named state (JSON-able). */
  readonly state: unknown;
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

/** Serializes one record. */
export function encodeStateRecord(device: string, version: number, state: unknown, flags = 0): Uint8Array {
  const name = enc.encode(device);
  const payload = enc.encode(JSON.stringify(state));
  check(name.length <= 0xffff, 'EINVAL', 'device name too long');
  const out = new Uint8Array(STATE_RECORD_HEADER_SIZE + name.length + payload.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, STATE_RECORD_MAGIC, true);
  dv.setUint16(4, STATE_RECORD_FORMAT, true);
  dv.setUint16(6, flags, true);
  dv.setUint32(8, version >>> 0, true);
  dv.setUint16(12, name.length, true);
  dv.setUint32(16, payload.length, true);
  out.set(name, STATE_RECORD_HEADER_SIZE);
  out.set(payload, STATE_RECORD_HEADER_SIZE + name.length);
  return out;
}

/**
 * Parses the one record that starts at `at` of `bytes` (EINVAL when it is truncated or malformed: bad magic,
 * unknown format, payload not JSON); returns it and where the next record starts.
 */
export function decodeStateRecordAt(bytes: Uint8Array, at: number): { record: StateRecord; end: number } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  check(bytes.length - at >= STATE_RECORD_HEADER_SIZE, 'EINVAL', `truncated state record header at ${at}`);
  check(dv.getUint32(at, true) === STATE_RECORD_MAGIC, 'EINVAL', 'bad state record magic');
  check(dv.getUint16(at + 4, true) === STATE_RECORD_FORMAT, 'EINVAL', `unknown state record format ${dv.getUint16(at + 4, true)}`);
  const flags = dv.getUint16(at + 6, true);
  const version = dv.getUint32(at + 8, true);
  const nameLen = dv.getUint16(at + 12, true);
  const payloadLen = dv.getUint32(at + 16, true);
  const nameAt = at + STATE_RECORD_HEADER_SIZE;
  const end = nameAt + nameLen + payloadLen;
  check(end <= bytes.length, 'EINVAL', 'truncated state record');
  let device: string;
  let state: unknown;
  try {
    device = dec.decode(bytes.subarray(nameAt, nameAt + nameLen));
    state = JSON.parse(dec.decode(bytes.subarray(nameAt + nameLen, end)));
  } catch (err) {
    throw new VfioError('EINVAL', `malformed state record: ${String(err)}`);
  }
  return { record: { device, version, flags, state }, end };
}

/** Parses a stream of concatenated records; every record must be complete and well formed (EINVAL otherwise). */
export function decodeStateRecords(bytes: Uint8Array): StateRecord[] {
  const out: StateRecord[] = [];
  let at = 0;
  while (at < bytes.length) {
    const { record, end } = decodeStateRecordAt(bytes, at);
    out.push(record);
    at = end;
  }
  return out;
}

/** The state of the last record in `bytes`, checked to be for `device` at `version` (EINVAL on any mismatch). */
export function decodeStateRecord(bytes: Uint8Array, device: string, version: number): unknown {
  const records = decodeStateRecords(bytes);
  const last = records.at(-1);
  if (last === undefined) throw new VfioError('EINVAL', 'no device state in the stream');
  for (const r of records) {
    check(r.device === device, 'EINVAL', `state is for device '${r.device}', not '${device}'`);
    check(r.version === version, 'EINVAL', `state version ${r.version}, expected ${version}`);
  }
  return last.state;
}
