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

/** The command table: the handler of each command number, undefined for unknown ones. */
export type CommandTable = readonly (CommandHandler | undefined)[];

/**
 * The table of the per-family handler maps, indexed by command number: dispatch is one indexed load per
 * message. A command number given twice is a bug.
 */
export function commandTable(families: readonly ReadonlyMap<number, CommandHandler>[]): CommandTable {
  const table: (CommandHandler | undefined)[] = [];
  for (const family of families) {
    for (const [cmd, handler] of family) {
      if (table[cmd] !== undefined) throw new Error(`command ${cmd} has two handlers`);
      while (table.length < cmd) table.push(undefined);
      table[cmd] = handler;
    }
  }
  return Object.freeze(table);
}
