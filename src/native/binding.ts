// Loads build/vfio_native.node (src/native/*.cc) and declares its raw surface in TypeScript.

import { constants } from 'node:buffer';
import { createRequire } from 'node:module';
import type { FdWatcherConstructor } from './fd-watcher.js';
import { NativeError } from './native-error.js';

/** Must equal kAbiVersion in addon.cc; a mismatch means a stale build. */
const ABI_VERSION = 2;

/** The addon's exports exactly as C++ defines them (see index.ts for the documented API). */
export interface NativeBinding {
  readonly ABI_VERSION: number;
  readonly F_SEAL_SEAL: number;
  readonly F_SEAL_SHRINK: number;
  readonly F_SEAL_GROW: number;
  readonly F_SEAL_WRITE: number;
  init(config: { NativeError: typeof NativeError; maxBufferLength: number }): void;
  noop(): void;

  readonly POLLIN: number;
  readonly POLLPRI: number;
  readonly POLLOUT: number;
  readonly POLLERR: number;
  readonly POLLHUP: number;
  readonly POLLNVAL: number;
  readonly POLLRDHUP: number;
  readonly EFD_SEMAPHORE: number;
  readonly EFD_CLOEXEC: number;
  readonly EFD_NONBLOCK: number;

  socketpair(): [number, number];
  unixListen(path: string, backlog?: number): number;
  unixConnect(path: string): number;
  accept(listenFd: number): number;
  close(fd: number): void;
  dup(fd: number): number;
  setNonBlocking(fd: number, on: boolean): void;
  fdIsOpen(fd: number): boolean;

  eventfd(initval?: number, flags?: number): number;
  eventfdWrite(fd: number, value?: number | bigint): number;
  eventfdRead(fd: number): bigint | number;

  memfdCreate(name: string, size?: number, allowSealing?: boolean): number;
  getSeals(fd: number): number;
  addSeals(fd: number, seals: number): void;
  ftruncate(fd: number, size: number | bigint): void;
  fstatSize(fd: number): number;
  pread(fd: number, buf: Uint8Array, position: number | bigint): number;
  pwrite(fd: number, buf: Uint8Array, position: number | bigint): number;
  read(fd: number, buf: Uint8Array, offset?: number, length?: number): number;
  write(fd: number, buf: Uint8Array, offset?: number, length?: number): number;

  sendmsg(fd: number, buf: Uint8Array, fds?: readonly number[]): number;
  sendmsgv(fd: number, bufs: readonly Uint8Array[], fds?: readonly number[]): number;
  recvmsg(fd: number, buf: Uint8Array, offset: number, length: number, fdsOut: Int32Array, spinNs?: number): number;
  peekOffsets(fd: number): void;
  dropPeeked(fd: number, buf: Uint8Array, count: number, io: Int32Array): number;
  exchange(fd: number, tx: Uint8Array | undefined, buf: Uint8Array, io: Int32Array): number;
  pollWait(fd: number, events: number, timeoutNs: number): number;

  mmap(fd: number, offset: number, length: number, writable: boolean): ArrayBuffer;
  munmap(ab: ArrayBuffer): void;

  readonly FdWatcher: FdWatcherConstructor;
}

const addonPath = '../../build/vfio_native.node';

function load(): NativeBinding {
  const require = createRequire(import.meta.url);
  let raw: NativeBinding;
  try {
    raw = require(addonPath);
  } catch (err) {
    throw new Error(
      `vfio-ts: cannot load the native addon (${addonPath} from ${import.meta.url}); ` +
        'build it with `node scripts/build-native.mjs` (npm install runs it)',
      { cause: err },
    );
  }
  if (raw.ABI_VERSION !== ABI_VERSION) {
    throw new Error(
      `vfio-ts: native addon ABI ${String(raw.ABI_VERSION)} != ${ABI_VERSION}; rebuild with \`node scripts/build-native.mjs\``,
    );
  }
  raw.init({ NativeError, maxBufferLength: constants.MAX_LENGTH });
  return raw;
}

/** The loaded addon, initialized once per thread (each worker loads its own instance). */
export const binding: NativeBinding = load();
