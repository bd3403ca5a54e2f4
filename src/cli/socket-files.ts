// UNIX socket files on disk for the CLI: replacing a stale socket left by a dead server (bind(2) fails with
// EADDRINUSE on any existing file), refusing to steal a live one, removing ours at exit; and line framing.
import { connect } from 'node:net';
import { lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../base/log.js';
import { VfioError } from '../uapi/errno.js';

/** Whether something accepts connections on `path`. */
export function socketIsLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Makes `path` ready for bind(2): its directory exists, and a socket file nobody listens on is removed (and
 * logged: a server that died left it). EADDRINUSE if a server listens there; EEXIST if the path is some other
 * kind of file (never deleted).
 */
export async function prepareSocketPath(path: string, log?: Logger): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return;
  }
  if (!isSocket) throw new VfioError('EEXIST', `${path} exists and is not a socket`);
  if (await socketIsLive(path)) throw new VfioError('EADDRINUSE', `${path}: another server is listening there`);
  unlinkSync(path);
  log?.warn({ socket: path }, 'replaced a stale socket (nothing listened on it: its server is gone)');
}

/** Removes a socket file we created; already gone is fine. */
export function removeSocketFile(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // Absent: nothing to do.
  }
}

/** Splits a text stream into lines, refusing a line longer than `maxBytes` (a peer that never sends '\n'). */
export class LineReader {
  #partial = '';

  constructor(readonly maxBytes: number) {}

  push(chunk: string): string[] {
    // Only the new chunk is searched: a long line arriving in many chunks costs linear time.
    let nl = chunk.indexOf('\n');
    if (nl < 0) {
      this.#partial += chunk;
      if (this.#partial.length > this.maxBytes) {
        this.#partial = '';
        throw new Error(`line longer than ${this.maxBytes} bytes`);
      }
      return [];
    }
    const lines = [this.#partial + chunk.slice(0, nl)];
    let start = nl + 1;
    while ((nl = chunk.indexOf('\n', start)) >= 0) {
      lines.push(chunk.slice(start, nl));
      start = nl + 1;
    }
    this.#partial = chunk.slice(start);
    return lines;
  }
}
