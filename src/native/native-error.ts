// NativeError: a failed system call in the native addon's setup calls (errno(3) semantics).

import { getSystemErrorMap } from 'node:util';

/**
 * Thrown by the addon's setup calls (socket, bind, mmap, ...) when the system call fails.
 * Hot-path calls never throw it: they return `-errno` instead.
 */
export class NativeError extends Error {
  /** The errno name, e.g. `'ENOENT'`. */
  readonly code: string;
  /** The errno number, positive as in `VfioError` (Linux numbering). */
  readonly errno: number;
  /** The system call that failed, e.g. `'bind'`. */
  readonly syscall: string;
  /** The path involved, when there is one. */
  readonly path?: string;

  constructor(errno: number, syscall: string, path?: string) {
    const [code, description] = getSystemErrorMap().get(-errno) ?? [`E${errno}`, 'unknown error'];
    super(`${code}: ${description}, ${syscall}${path === undefined ? '' : ` '${path}'`}`);
    this.name = 'NativeError';
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    if (path !== undefined) this.path = path;
  }

  static is(err: unknown, code?: string): err is NativeError {
    return err instanceof NativeError && (code === undefined || err.code === code);
  }
}
