// The shape of a vfio-user command handler (one table entry per command, as libvfio-user's handle_request
// switch) and small helpers the per-family handler files share.
import { Errno, VfioError, type ErrnoName } from '../uapi/errno.js';
import type { VfioUserMessage } from './protocol/index.js';
import type { Connection } from './connection.js';

export interface CommandHandler {
  /** Whether the command may carry fds (DMA_MAP, SET_IRQS); others carrying fds get EINVAL. */
  readonly takesFds: boolean;
  /** Handles one command: replies through conn.reply / throws VfioError for an error reply. */
  handle(conn: Connection, msg: VfioUserMessage): void;
}

function isErrnoName(s: string): s is ErrnoName {
  return Object.hasOwn(Errno, s);
}

/** A VfioError for an errno number received on the wire (EIO when vfio-ts has no name for it). */
export function errnoError(errno: number, message: string): VfioError {
  for (const name of Object.keys(Errno)) {
    if (isErrnoName(name) && Errno[name] === errno) return new VfioError(name, message);
  }
  return new VfioError('EIO', `${message} (errno ${errno})`);
}
