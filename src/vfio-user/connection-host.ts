// What a server-side vfio-user connection needs from its server: the hot path's tuning, the command table, the
// negotiation limits, the open of its device user, and the busy-poll fairness between connections.
import type { Logger } from '../base/log.js';
import type { Connection } from './connection.js';
import type { DeviceUser } from './device-user.js';
import type { CommandTable } from './handler.js';
import type { DmaRwLayout, ServerCapabilityLimits } from './protocol/index.js';

/** Tuning of the hot path (see DESIGN.md section 9). */
export interface HotPathOptions {
  /** Most messages handled per wake-up before the event loop gets a turn. */
  readonly budgetMessages: number;
  /** Most microseconds spent per wake-up. */
  readonly budgetMicros: number;
  /** Busy-poll window bounds in nanoseconds (adaptive between them; 0 max disables busy polling). */
  readonly pollMinNs: number;
  readonly pollMaxNs: number;
}

export const DEFAULT_HOT_PATH: HotPathOptions = Object.freeze({ budgetMessages: 256, budgetMicros: 1000, pollMinNs: 16_000, pollMaxNs: 250_000 });

/** What a connection needs from its server. */
export interface ConnectionHost {
  readonly logger: Logger;
  readonly hotPath: HotPathOptions;
  readonly dmaLayout: DmaRwLayout;
  /** What VERSION offers at most. */
  readonly limits: Readonly<ServerCapabilityLimits>;
  /** The command table: command number -> handler. */
  readonly handlers: CommandTable;
  /** Opens the device as a new user (a process of its own); throws VfioError (EBUSY when in use). Close it with DeviceUser.close. */
  openUser(conn: Connection): DeviceUser;
  /** Bytes arrived on `conn` (for busy-poll fairness). */
  noteActivity(conn: Connection): void;
  /** Whether this connection may busy-poll now (no other connection is active); `now` is performance.now(). */
  mayBusyPoll(conn: Connection, now: number): boolean;
  /** Called once the connection is closed and torn down. */
  connectionClosed(conn: Connection): void;
}
