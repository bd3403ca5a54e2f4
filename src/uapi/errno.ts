// Linux errno numbers (asm-generic/errno-base.h, errno.h) and the one error class the API throws.

/** The errno values vfio-ts uses, with Linux's numbers. */
export const Errno = Object.freeze({
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  ENOTDIR: 20,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EPIPE: 32,
  ERANGE: 34,
  EDEADLK: 35,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  ENOMSG: 42,
  ENODATA: 61,
  EPROTO: 71,
  EBADMSG: 74,
  EBADFD: 77,
  EOVERFLOW: 75,
  EUSERS: 87,
  EMSGSIZE: 90,
  EPROTONOSUPPORT: 93,
  EOPNOTSUPP: 95,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ECONNRESET: 104,
  ENOBUFS: 105,
  ETIMEDOUT: 110,
  ECANCELED: 125,
} as const);

export type ErrnoName = keyof typeof Errno;

const names = new Map<number, ErrnoName>(
  (Object.keys(Errno) as ErrnoName[]).map((k) => [Errno[k], k]),
);

/** The name of an errno number, or `E<number>` when vfio-ts has no name for it. */
export function errnoName(errno: number): string {
  return names.get(errno) ?? `E${errno}`;
}

/** A VfioError for an errno number that came from outside (a peer's error_no on the wire); EIO when vfio-ts has no name for it. */
export function errnoError(errno: number, message: string): VfioError {
  const name = names.get(errno);
  return name === undefined ? new VfioError('EIO', `${message} (errno ${errno})`) : new VfioError(name, message);
}

/**
 * A client, guest or API-use fault, mirroring a negative errno return in the kernel.
 * Thrown by the API; turned into `error_no` on the vfio-user wire.
 */
export class VfioError extends Error {
  readonly code: ErrnoName;
  readonly errno: number;

  constructor(code: ErrnoName, message?: string) {
    super(message === undefined ? code : `${code}: ${message}`);
    this.name = 'VfioError';
    this.code = code;
    this.errno = Errno[code];
  }

  static is(err: unknown, code?: ErrnoName): err is VfioError {
    return err instanceof VfioError && (code === undefined || err.code === code);
  }
}

/** Throws `VfioError(code)` unless `cond` holds: validation at the edges reads as one line. */
export function check(cond: unknown, code: ErrnoName, message?: string): asserts cond {
  if (!cond) throw new VfioError(code, message);
}
