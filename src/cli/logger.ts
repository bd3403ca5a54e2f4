// The CLI's structured logger: pino writing JSON lines to stderr (stdout is for what the user asked to see),
// adapted to the library's injected Logger interface (src/base/log.ts).
import { pino } from 'pino';
import type { Logger } from '../base/log.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(s: string): s is LogLevel {
  return LOG_LEVELS.some((l) => l === s);
}

export interface CliLogger extends Logger {
  /** Writes out anything buffered (before exit). */
  flush(): void;
}

/** A pino logger on fd 2, written synchronously so nothing is lost when the process exits. */
export function createLogger(level: LogLevel): CliLogger {
  const p = pino({ level, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }));
  return {
    debug: (obj, msg) => p.debug(obj, msg),
    info: (obj, msg) => p.info(obj, msg),
    warn: (obj, msg) => p.warn(obj, msg),
    error: (obj, msg) => p.error(obj, msg),
    flush: () => p.flush(),
  };
}
