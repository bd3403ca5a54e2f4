// The native addon's public API: fds, UNIX sockets with SCM_RIGHTS, eventfd, memfd, mmap, FdWatcher.
// Wraps build/vfio_native.node (src/native/*.cc); system call semantics as in the Linux man pages.
//
// Conventions: setup calls throw NativeError; hot-path calls (sendmsg, sendmsgv, recvmsg, read,
// write, accept, pollWait, eventfdRead/Write, pread/pwrite) return -errno (compare with -EAGAIN etc. below)
// and allocate nothing. Every fd the addon creates is O_CLOEXEC; sockets are O_NONBLOCK.
// Wrong argument types throw TypeError/RangeError (bugs, not system errors).

import { constants as osConstants } from 'node:os';
import { binding, type NativeBinding } from './binding.js';
import type { FdWatcher as FdWatcherInstance, FdWatcherConstructor } from './fd-watcher.js';

export { NativeError } from './native-error.js';
export type { FdWatcherCallback, FdWatcherConstructor } from './fd-watcher.js';
export type { NativeBinding } from './binding.js';

// poll(2) bits for pollWait and FdWatcher.
export const POLLIN: number = binding.POLLIN;
export const POLLPRI: number = binding.POLLPRI;
export const POLLOUT: number = binding.POLLOUT;
export const POLLERR: number = binding.POLLERR;
export const POLLHUP: number = binding.POLLHUP;
export const POLLNVAL: number = binding.POLLNVAL;
export const POLLRDHUP: number = binding.POLLRDHUP;
// eventfd(2) flags.
export const EFD_SEMAPHORE: number = binding.EFD_SEMAPHORE;
export const EFD_CLOEXEC: number = binding.EFD_CLOEXEC;
export const EFD_NONBLOCK: number = binding.EFD_NONBLOCK;
// errno numbers the hot-path calls return negated, as this system defines them.
/** Nothing there now (a nonblocking call that would block). */
export const EAGAIN: number = osConstants.errno.EAGAIN;
/** Interrupted by a signal before anything moved: call again. */
export const EINTR: number = osConstants.errno.EINTR;
/** recvmsg: more fds arrived than there was room for (see recvmsg). */
export const EMSGSIZE: number = osConstants.errno.EMSGSIZE;
/** Most fds one sendmsg may carry (SCM_MAX_FD). */
export const SCM_MAX_FD = 253;

/** A connected AF_UNIX SOCK_STREAM pair, both ends O_NONBLOCK|O_CLOEXEC. */
export const socketpair: () => [number, number] = binding.socketpair;
/**
 * socket+bind+listen on a UNIX path (a leading '\0' selects the abstract namespace); nonblocking,
 * CLOEXEC. backlog defaults to SOMAXCONN. An existing file fails with EADDRINUSE: stale-file
 * handling is the caller's job.
 */
export const unixListen: (path: string, backlog?: number) => number = binding.unixListen;
/**
 * A connected, nonblocking, CLOEXEC socket. Throws NativeError ECONNREFUSED/ENOENT, or EAGAIN when
 * the listener's backlog is full (nothing was queued; retry later, the event loop never blocks).
 */
export const unixConnect: (path: string) => number = binding.unixConnect;
/** accept4(NONBLOCK|CLOEXEC): the new fd, or -errno (-EAGAIN when no connection is pending). */
export const accept: (listenFd: number) => number = binding.accept;
/** Closes fd. EINTR is ignored (Linux has released the fd); EBADF throws, catching double closes. */
export const close: (fd: number) => void = binding.close;
/** fcntl(F_DUPFD_CLOEXEC): a new fd for the same file. */
export const dup: (fd: number) => number = binding.dup;
/** Sets or clears O_NONBLOCK. */
export const setNonBlocking: (fd: number, on: boolean) => void = binding.setNonBlocking;
/** Whether fd is an open descriptor (fcntl F_GETFD does not fail with EBADF). */
export const fdIsOpen: (fd: number) => boolean = binding.fdIsOpen;

/**
 * One sendmsg(MSG_NOSIGNAL) of buf with `fds` as SCM_RIGHTS (at most SCM_MAX_FD, else -EINVAL;
 * fds need at least one byte of data to travel). Returns bytes sent (possibly short) or -errno.
 * The fds stay open here: the receiver gets its own copies.
 */
export const sendmsg: (fd: number, buf: Uint8Array, fds?: readonly number[]) => number = binding.sendmsg;
/** sendmsg with an iovec: e.g. a header and a payload in one system call, without copying. */
export const sendmsgv: (fd: number, bufs: readonly Uint8Array[], fds?: readonly number[]) => number =
  binding.sendmsgv;
/**
 * One recvmsg(MSG_CMSG_CLOEXEC) into buf[offset, offset+length). Returns bytes (0 = EOF) or
 * -errno. Writes the number of received fds to fdsOut[0] and the fds to fdsOut[1..]: the caller
 * owns them and must take or close each. If more fds arrived than fdsOut has room for, or the
 * kernel truncated the control data, every fd that arrived is closed, fdsOut[0] is 0 and the
 * result is -EMSGSIZE (90); the bytes of that call are lost too, so treat the stream as broken.
 *
 * With spinNs > 0 it busy-polls for up to spinNs nanoseconds: on EAGAIN it yields the CPU
 * (sched_yield) and tries again, returning -EAGAIN only when the window passed with nothing. A peer
 * on another CPU then finds this thread awake (no wake-up latency); a peer on the same CPU runs
 * during the yields. Blocks the calling thread for at most the window.
 */
export const recvmsg: (
  fd: number,
  buf: Uint8Array,
  offset: number,
  length: number,
  fdsOut: Int32Array,
  spinNs?: number,
) => number = binding.recvmsg;
/**
 * Sets SO_PEEK_OFF to 0 on a socket (socket(7)): each MSG_PEEK then continues where the last one ended, and a
 * real read moves the offset back by what it took. exchange with `peek` needs it. Throws NativeError.
 */
export const peekOffsets: (fd: number) => void = binding.peekOffsets;
/**
 * Drops `count` bytes that a peek (exchange) saw and left at the head of the queue, reading them into buf (its
 * contents are not kept; io as exchange's). 0, or -EPROTO (71) when they were not there as peeked: treat the
 * stream as broken (any fds that came are closed).
 */
export const dropPeeked: (fd: number, buf: Uint8Array, count: number, io: Int32Array) => number = binding.dropPeeked;
/**
 * A server's round trip in one call (each call into the addon costs about a microsecond right after a context
 * switch, as much as a system call). The scalar inputs are in `io`, so that the call has four arguments to parse
 * rather than ten: io[0] = txLength, io[1] = owed (how many bytes at the head of the queue were peeked and
 * handled), io[2] = spinNs (an int32: up to about 2.1 s), io[3] = 1 to peek, 0 not to. Then:
 * 1. txLength > 0: sends tx[0, txLength) (MSG_NOSIGNAL|MSG_DONTWAIT); io[0] = bytes sent or -errno. When not all
 *    of it went, step 3 does not spin.
 * 2. Drops the owed bytes. Dropping is what frees the kernel's buffers and wakes a peer blocked in recv on its
 *    end: after step 1 woke that peer it is awake already and nobody is woken. But when the peer preempted step
 *    1 (it took over 3 µs), it has read the reply, sent its next request and gone back to sleep: then the bytes
 *    stay owed (io[2]) and are dropped after a later send, when over 1 KiB is owed, or when nothing new comes.
 * 3. Receives new bytes into buf (all of it), busy-polling for spinNs (sched_yield between tries). With peek
 *    (the socket needs peekOffsets) the new bytes stay queued too (io[1] = 0; owed once handled) unless they
 *    carry fds, which only a real read takes; otherwise (and then) it is a real recvmsg (io[1] = 1) with the fd
 *    count in io[3] and the fds, now the caller's, in io[4..] (the rules of recvmsg's fdsOut).
 * Returns the count of new bytes, 0 at EOF or -errno (-EAGAIN: nothing new within the window, nothing owed);
 * -EPROTO (71) when owed bytes were not there as peeked (treat the stream as broken).
 */
export const exchange: NativeBinding['exchange'] = binding.exchange;
/**
 * ppoll on one fd, blocking the calling thread for up to timeoutNs nanoseconds (negative:
 * forever). Returns revents (0 on timeout; POLLNVAL for a closed fd, as poll(2) does) or -errno.
 * For busy-polling after a reply on a hot path.
 */
export const pollWait: (fd: number, events: number, timeoutNs: number) => number = binding.pollWait;
/** One read(2) into buf[offset, offset+length) (defaults: all of buf): bytes, 0 at EOF, or -errno. */
export const read: (fd: number, buf: Uint8Array, offset?: number, length?: number) => number = binding.read;
/** One write(2) from buf[offset, offset+length) (defaults: all of buf): bytes or -errno. */
export const write: (fd: number, buf: Uint8Array, offset?: number, length?: number) => number = binding.write;

/** eventfd(2); flags default to EFD_CLOEXEC|EFD_NONBLOCK (add EFD_SEMAPHORE for counting reads). */
export const eventfd: (initval?: number, flags?: number) => number = binding.eventfd;
/** Adds value (default 1) to the counter: 0 or -errno (-EAGAIN if it would overflow). */
export const eventfdWrite: (fd: number, value?: number | bigint) => number = binding.eventfdWrite;
/** Reads and resets the counter (or takes 1 with EFD_SEMAPHORE): the value as a bigint, or -errno as a number. */
export const eventfdRead: (fd: number) => bigint | number = binding.eventfdRead;

/** memfd_create(name, MFD_CLOEXEC) sized to `size` bytes (default 0). */
export const memfdCreate: (name: string, size?: number, allowSealing?: boolean) => number = binding.memfdCreate;
/** fcntl(F_GET_SEALS): the seals of a memfd; 0 for a file that cannot be sealed. */
export const getSeals: (fd: number) => number = binding.getSeals;
/** fcntl(F_ADD_SEALS) (the memfd must have been created with allowSealing). */
export const addSeals: (fd: number, seals: number) => void = binding.addSeals;
export const F_SEAL_SEAL: number = binding.F_SEAL_SEAL;
export const F_SEAL_SHRINK: number = binding.F_SEAL_SHRINK;
export const F_SEAL_GROW: number = binding.F_SEAL_GROW;
export const F_SEAL_WRITE: number = binding.F_SEAL_WRITE;
/** ftruncate(2). */
export const ftruncate: (fd: number, size: number | bigint) => void = binding.ftruncate;
/** fstat(2)'s st_size. */
export const fstatSize: (fd: number) => number = binding.fstatSize;
/** pread(2) filling buf, looping on short reads: bytes read (short only at EOF) or -errno. */
export const pread: (fd: number, buf: Uint8Array, position: number | bigint) => number = binding.pread;
/** pwrite(2) of all of buf, looping on short writes: bytes written or -errno. */
export const pwrite: (fd: number, buf: Uint8Array, position: number | bigint) => number = binding.pwrite;

/**
 * mmap(MAP_SHARED) of [offset, offset+length) of fd as an external ArrayBuffer (read-only unless
 * writable; offset page-aligned; at most Node's buffer limit, 4 GiB). The mapping keeps the file
 * alive, so fd may be closed afterwards. Unmapped by munmap() or, failing that, when collected.
 */
export const mmap: (fd: number, offset: number, length: number, writable: boolean) => ArrayBuffer = binding.mmap;
/**
 * Detaches the buffer (byteLength becomes 0, views become empty) and unmaps it. A second call is a
 * no-op; a buffer not from mmap() throws TypeError.
 */
export const munmap: (ab: ArrayBuffer) => void = binding.munmap;

/** An empty native call: the floor under every figure above (for benchmarks). */
export const noop: () => void = binding.noop;

/** Readiness of one fd on Node's event loop: see the interface in fd-watcher.ts. */
export type FdWatcher = FdWatcherInstance;
/** `new FdWatcher(fd, (events, error) => ...)`. */
export const FdWatcher: FdWatcherConstructor = binding.FdWatcher;
