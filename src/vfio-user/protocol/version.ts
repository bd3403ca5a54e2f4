// VFIO_USER_VERSION: payload codec, capability parsing and the server's negotiation (vfio-user.rst
// "VFIO_USER_VERSION"; libvfio-user lib/tran.c; QEMU hw/vfio-user/proxy.c caps_json/caps_check).
import { check, VfioError } from '../../uapi/errno.js';

/** The protocol version we speak: libvfio-user's 0.1 (QEMU sends 0.0; we reply min(minor)). */
export const VFIO_USER_MAJOR = 0;
export const VFIO_USER_MINOR = 1;

/* Defaults the spec gives for keys the peer leaves out. */
export const VFIO_USER_DEFAULT_MAX_MSG_FDS = 1;
export const VFIO_USER_DEFAULT_MAX_DATA_XFER_SIZE = 1024 * 1024;
export const VFIO_USER_DEFAULT_MAX_DMA_MAPS = 65535;
export const VFIO_USER_DEFAULT_PGSIZES = 4096;
/* QEMU's defaults for the migration object's members (hw/vfio-user/protocol.h). */
export const VFIO_USER_DEFAULT_MIGR_PGSIZE = 4096;
export const VFIO_USER_DEFAULT_MAX_BITMAP_SIZE = 256 * 1024 * 1024;
/** libvfio-user refuses a client max_msg_fds above this (VFIO_USER_CLIENT_MAX_MSG_FDS_LIMIT). */
export const VFIO_USER_CLIENT_MAX_MSG_FDS_LIMIT = 1024;

const U32_MAX = 0xffff_ffff;

export interface VfioUserMigrationCaps {
  /** Dirty-page granularity. */
  pgsize: number;
  maxBitmapSize: number;
}

/** One side's capabilities, defaults applied for every key it left out. */
export interface VfioUserCapabilities {
  /** Most fds the sender of these caps can receive in one message. */
  maxMsgFds: number;
  /** Largest `count` the sender of these caps accepts in a data transfer message. */
  maxDataXferSize: number;
  maxDmaMaps: number;
  /** Page sizes supported by DMA_MAP, OR'ed together. */
  pgsizes: number;
  migration: VfioUserMigrationCaps | undefined;
  writeMultiple: boolean;
  /** twin_socket.supported as offered. vfio-ts never enables twin-socket mode. */
  twinSocket: boolean;
}

/** The decoded VERSION payload. `json` is the text before the terminating NUL, if any. */
export interface VersionMessage {
  major: number;
  minor: number;
  json: string | undefined;
}

/** Decodes a VERSION payload: major u16, minor u16, optional NUL-terminated UTF-8 JSON. */
export function decodeVersion(payload: Buffer): VersionMessage {
  check(payload.length >= 4, 'EINVAL', `VERSION payload of ${payload.length} bytes`);
  const major = payload.readUInt16LE(0);
  const minor = payload.readUInt16LE(2);
  if (payload.length === 4) return { major, minor, json: undefined };
  // libvfio-user reads the JSON as a C string; an inner NUL would silently cut it, so refuse it.
  const nul = payload.indexOf(0, 4);
  check(nul === payload.length - 1, 'EINVAL', 'VERSION JSON is not NUL-terminated');
  return { major, minor, json: payload.toString('utf8', 4, nul) };
}

/** Encodes a VERSION payload (request or reply). */
export function encodeVersion(major: number, minor: number, json?: string): Buffer {
  const text = json === undefined ? undefined : Buffer.from(json, 'utf8');
  const buf = Buffer.alloc(4 + (text === undefined ? 0 : text.length + 1));
  buf.writeUInt16LE(major, 0);
  buf.writeUInt16LE(minor, 2);
  if (text !== undefined) buf.set(text, 4);
  return buf;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function uint(v: unknown, key: string, min: number, max: number): number {
  check(
    typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max,
    'EINVAL',
    `capability ${key} must be an integer in ${min}..${max}`,
  );
  return v;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && Number.isSafeInteger(n) && (BigInt(n) & (BigInt(n) - 1n)) === 0n;
}

/**
 * Parses a peer's capabilities JSON with strict types and ranges, applying the spec's defaults.
 * Every fault is EINVAL, as in libvfio-user. Unknown keys are ignored (libvfio-user ignores them;
 * QEMU warns "spurious capabilities").
 */
export function parseCapabilities(json: string | undefined): VfioUserCapabilities {
  const caps: VfioUserCapabilities = {
    maxMsgFds: VFIO_USER_DEFAULT_MAX_MSG_FDS,
    maxDataXferSize: VFIO_USER_DEFAULT_MAX_DATA_XFER_SIZE,
    maxDmaMaps: VFIO_USER_DEFAULT_MAX_DMA_MAPS,
    pgsizes: VFIO_USER_DEFAULT_PGSIZES,
    migration: undefined,
    writeMultiple: false,
    twinSocket: false,
  };
  if (json === undefined) return caps;
  let top: unknown;
  try {
    top = JSON.parse(json);
  } catch {
    throw new VfioError('EINVAL', 'VERSION JSON does not parse');
  }
  // libvfio-user accepts any top-level JSON without "capabilities"; a non-object is refused here.
  check(isObject(top), 'EINVAL', 'VERSION JSON is not an object');
  const c = top['capabilities'];
  if (c === undefined) return caps;
  check(isObject(c), 'EINVAL', 'capabilities is not an object');

  if (c['max_msg_fds'] !== undefined) {
    caps.maxMsgFds = uint(c['max_msg_fds'], 'max_msg_fds', 0, VFIO_USER_CLIENT_MAX_MSG_FDS_LIMIT);
  }
  if (c['max_data_xfer_size'] !== undefined) {
    caps.maxDataXferSize = uint(c['max_data_xfer_size'], 'max_data_xfer_size', 1, U32_MAX);
  }
  if (c['max_dma_maps'] !== undefined) {
    caps.maxDmaMaps = uint(c['max_dma_maps'], 'max_dma_maps', 0, U32_MAX);
  }
  if (c['pgsizes'] !== undefined) {
    // A bitmask; above 2^53 a JSON number cannot carry it exactly, so such masks are refused.
    caps.pgsizes = uint(c['pgsizes'], 'pgsizes', 1, Number.MAX_SAFE_INTEGER);
  }
  const m = c['migration'];
  if (m !== undefined) {
    check(isObject(m), 'EINVAL', 'capability migration is not an object');
    const pgsize =
      m['pgsize'] === undefined ? VFIO_USER_DEFAULT_MIGR_PGSIZE : uint(m['pgsize'], 'migration.pgsize', 1, Number.MAX_SAFE_INTEGER);
    check(isPowerOfTwo(pgsize), 'EINVAL', 'migration.pgsize is not a power of two');
    const maxBitmapSize =
      m['max_bitmap_size'] === undefined
        ? VFIO_USER_DEFAULT_MAX_BITMAP_SIZE
        : uint(m['max_bitmap_size'], 'migration.max_bitmap_size', 0, Number.MAX_SAFE_INTEGER);
    caps.migration = { pgsize, maxBitmapSize };
  }
  const w = c['write_multiple'];
  if (w !== undefined) {
    check(typeof w === 'boolean', 'EINVAL', 'capability write_multiple is not a boolean');
    caps.writeMultiple = w;
  }
  const t = c['twin_socket'];
  if (t !== undefined) {
    check(isObject(t), 'EINVAL', 'capability twin_socket is not an object');
    const s = t['supported'];
    if (s !== undefined) {
      check(typeof s === 'boolean', 'EINVAL', 'twin_socket.supported is not a boolean');
      caps.twinSocket = s;
    }
    if (t['fd_index'] !== undefined) uint(t['fd_index'], 'twin_socket.fd_index', 0, U32_MAX);
  }
  return caps;
}

/**
 * Formats capabilities as the JSON a VERSION message carries. Only keys QEMU knows are written
 * (it warns on others); migration and write_multiple only when enabled; twin_socket never.
 */
export function formatCapabilities(caps: VfioUserCapabilities): string {
  const c: Record<string, unknown> = {
    max_msg_fds: caps.maxMsgFds,
    max_data_xfer_size: caps.maxDataXferSize,
    max_dma_maps: caps.maxDmaMaps,
    pgsizes: caps.pgsizes,
  };
  if (caps.migration !== undefined) {
    c['migration'] = { pgsize: caps.migration.pgsize, max_bitmap_size: caps.migration.maxBitmapSize };
  }
  if (caps.writeMultiple) c['write_multiple'] = true;
  return JSON.stringify({ capabilities: c });
}

/** What the server can do; the negotiated reply is never more than this nor than the client's offer. */
export interface ServerCapabilityLimits {
  maxMsgFds: number;
  maxDataXferSize: number;
  maxDmaMaps: number;
  /** DMA page sizes the server accepts, OR'ed. */
  pgsizes: number;
  /** Dirty-tracking page sizes (OR'ed) and bitmap limit, or undefined if the server has none. */
  migration: { pgsizes: number; maxBitmapSize: number } | undefined;
  writeMultiple: boolean;
}

/**
 * vfio-ts's server limits. max_msg_fds 16 and 1 MiB transfers match what QEMU offers (QEMU
 * refuses a reply above 16 fds or 64 MiB); the native addon must receive 16 fds per recvmsg.
 */
export const DEFAULT_SERVER_LIMITS: Readonly<ServerCapabilityLimits> = Object.freeze({
  maxMsgFds: 16,
  maxDataXferSize: VFIO_USER_DEFAULT_MAX_DATA_XFER_SIZE,
  maxDmaMaps: VFIO_USER_DEFAULT_MAX_DMA_MAPS,
  pgsizes: 4096,
  migration: Object.freeze({ pgsizes: 4096, maxBitmapSize: VFIO_USER_DEFAULT_MAX_BITMAP_SIZE }),
  writeMultiple: true,
});

/** The outcome of a successful negotiation. */
export interface NegotiatedVersion {
  major: number;
  minor: number;
  /** The client's capabilities (defaults applied): limits on what the server sends it. */
  client: VfioUserCapabilities;
  /** The capabilities the server replied: limits on what the client sends the server. */
  server: VfioUserCapabilities;
  /** The VERSION reply payload to send. */
  reply: Buffer;
}

function andMask(a: number, b: number): number {
  return Number(BigInt(a) & BigInt(b));
}

/**
 * The server's side of VERSION: validates the client's payload (EINVAL for every fault, as
 * libvfio-user: fds attached, short payload, wrong major, bad JSON, bad types or ranges, no common
 * page size) and computes a reply whose capabilities are a subset of the client's offer.
 * On a VfioError the caller sends an error reply and closes the connection.
 */
export function negotiateVersion(
  payload: Buffer,
  fdCount: number,
  limits: Readonly<ServerCapabilityLimits> = DEFAULT_SERVER_LIMITS,
): NegotiatedVersion {
  check(fdCount === 0, 'EINVAL', `VERSION sent with ${fdCount} fds`);
  const v = decodeVersion(payload);
  check(v.major === VFIO_USER_MAJOR, 'EINVAL', `unsupported client major ${v.major}`);
  const client = parseCapabilities(v.json);

  const pgsizes = andMask(client.pgsizes, limits.pgsizes);
  check(pgsizes !== 0, 'EINVAL', 'no DMA page size in common');
  let migration: VfioUserMigrationCaps | undefined;
  if (client.migration !== undefined && limits.migration !== undefined) {
    check(
      andMask(client.migration.pgsize, limits.migration.pgsizes) !== 0,
      'EINVAL',
      `refusing client migration page size ${client.migration.pgsize}`,
    );
    migration = {
      pgsize: client.migration.pgsize,
      maxBitmapSize: Math.min(client.migration.maxBitmapSize, limits.migration.maxBitmapSize),
    };
  }
  const server: VfioUserCapabilities = {
    maxMsgFds: Math.min(client.maxMsgFds, limits.maxMsgFds),
    maxDataXferSize: Math.min(client.maxDataXferSize, limits.maxDataXferSize),
    maxDmaMaps: Math.min(client.maxDmaMaps, limits.maxDmaMaps),
    pgsizes,
    migration,
    writeMultiple: client.writeMultiple && limits.writeMultiple,
    twinSocket: false,
  };
  const minor = Math.min(v.minor, VFIO_USER_MINOR);
  return { major: VFIO_USER_MAJOR, minor, client, server, reply: encodeVersion(VFIO_USER_MAJOR, minor, formatCapabilities(server)) };
}

/**
 * The client's check of a VERSION reply, as QEMU does it: same major, minor not above the one
 * offered, NUL-terminated JSON, valid capabilities. Returns the server's capabilities.
 */
export function checkVersionReply(payload: Buffer, offeredMinor: number): VfioUserCapabilities & { minor: number } {
  const v = decodeVersion(payload);
  check(v.major === VFIO_USER_MAJOR && v.minor <= offeredMinor, 'EINVAL', `incompatible server version ${v.major}.${v.minor}`);
  return { ...parseCapabilities(v.json), minor: v.minor };
}
