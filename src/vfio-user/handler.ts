// The shape of a vfio-user command handler: one table entry per command, as libvfio-user's handle_request
// switch; the per-family files (handlers-*.ts) fill the table and dispatch.ts runs it.
import type { VfioUserMessage } from './protocol/index.js';
import type { Connection } from './connection.js';

export interface CommandHandler {
  /** Whether the command may carry fds (DMA_MAP, SET_IRQS); others carrying fds get EINVAL. */
  readonly takesFds: boolean;
  /** Handles one command: replies through conn.reply / throws VfioError for an error reply. */
  handle(conn: Connection, msg: VfioUserMessage): void;
}
