// The control socket's server: a UNIX stream socket (mode 0600, only its owner may drive the server)
// speaking JSON lines (control-protocol.ts), dispatching each request through a command table.
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { chmodSync } from 'node:fs';
import type { Logger } from '../base/log.js';
import { VfioError } from '../uapi/errno.js';
import { BadRequestError, MAX_LINE_BYTES, decodeRequest, encodeLine } from './control-protocol.js';
import type { ControlCommand, ControlRequest, JsonValue } from './control-protocol.js';
import { LineReader, prepareSocketPath, removeSocketFile } from './socket-files.js';

/** What a handler gets besides its request. */
export interface ControlContext {
  /** Sends a progress line (e.g. unregister's request counts). */
  progress(data: JsonValue): void;
  /** Sends an event line (trace). */
  event(data: JsonValue): void;
  /** Aborted when the client hangs up or the server closes: streaming handlers stop then. */
  readonly signal: AbortSignal;
}

export type ControlHandler<C extends ControlCommand> = (
  req: Extract<ControlRequest, { cmd: C }>,
  ctx: ControlContext,
) => Promise<JsonValue> | JsonValue;

/** One handler per command: dispatch is a table. */
export type ControlHandlers = { readonly [C in ControlCommand]: ControlHandler<C> };

export class ControlServer {
  readonly #server: Server;
  readonly #handlers: ControlHandlers;
  readonly #logger: Logger;
  readonly #sockets = new Map<Socket, AbortController>();
  #closed: Promise<void> | null = null;

  private constructor(
    readonly path: string,
    handlers: ControlHandlers,
    logger: Logger,
  ) {
    this.#handlers = handlers;
    this.#logger = logger;
    this.#server = createServer((s) => this.#onConnection(s));
  }

  /** Listens on `path` (a stale socket file left by a dead server is replaced; a live one is EADDRINUSE). */
  static async listen(path: string, handlers: ControlHandlers, logger: Logger): Promise<ControlServer> {
    await prepareSocketPath(path, logger);
    const cs = new ControlServer(path, handlers, logger);
    // The socket is created with mode 0600 from the start: no window in which others may connect.
    const oldMask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        cs.#server.once('error', reject);
        cs.#server.listen(path, () => {
          cs.#server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(oldMask);
    }
    chmodSync(path, 0o600);
    cs.#server.on('error', (err) => logger.error({ err: String(err) }, 'control socket error'));
    return cs;
  }

  /** Stops listening, hangs up on every client (aborting their streams) and removes the socket file. Safe to repeat. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      for (const [s, ac] of this.#sockets) {
        ac.abort();
        s.destroy();
      }
      this.#sockets.clear();
      this.#server.close(() => {
        removeSocketFile(this.path);
        resolve();
      });
    });
    return this.#closed;
  }

  #onConnection(socket: Socket): void {
    const ac = new AbortController();
    this.#sockets.set(socket, ac);
    socket.setEncoding('utf8');
    const reader = new LineReader(MAX_LINE_BYTES);
    const send = (v: object): void => {
      if (!socket.destroyed && socket.writable) socket.write(encodeLine(v));
    };
    socket.on('data', (chunk: string) => {
      let lines: string[];
      try {
        lines = reader.push(chunk);
      } catch (err) {
        send({ id: 0, type: 'error', code: 'EMSGSIZE', message: String(err instanceof Error ? err.message : err) });
        socket.end();
        return;
      }
      for (const line of lines) if (line.trim() !== '') void this.#dispatch(line, send, ac.signal);
    });
    const gone = (): void => {
      ac.abort();
      this.#sockets.delete(socket);
    };
    socket.on('close', gone);
    socket.on('error', (err) => this.#logger.debug({ err: String(err) }, 'control client error'));
  }

  async #dispatch(line: string, send: (v: object) => void, signal: AbortSignal): Promise<void> {
    let id = 0;
    try {
      const decoded = decodeRequest(line);
      id = decoded.id;
      const request = decoded.request;
      this.#logger.debug({ cmd: request.cmd, id }, 'control request');
      const ctx: ControlContext = {
        progress: (data) => send({ id, type: 'progress', data }),
        event: (data) => send({ id, type: 'event', data }),
        signal,
      };
      const data = await this.#run(request, ctx);
      send({ id, type: 'result', data });
    } catch (err) {
      if (err instanceof BadRequestError) id = err.id;
      const { code, message } = describeError(err);
      if (code === 'EIO') this.#logger.error({ err: message }, 'control command failed');
      send({ id, type: 'error', code, message });
    }
  }

  #run(request: ControlRequest, ctx: ControlContext): Promise<JsonValue> | JsonValue {
    return dispatchControl(this.#handlers, request, ctx);
  }
}

/** Runs `request` through the command table (the web view dispatches through it too). */
export function dispatchControl(h: ControlHandlers, request: ControlRequest, ctx: ControlContext): Promise<JsonValue> | JsonValue {
  // Each case narrows the request to its command, so the table's handler types line up without casts.
  switch (request.cmd) {
    case 'status':
      return h.status(request, ctx);
    case 'ls':
      return h.ls(request, ctx);
    case 'mdev-types':
      return h['mdev-types'](request, ctx);
    case 'mdev-create':
      return h['mdev-create'](request, ctx);
    case 'mdev-remove':
      return h['mdev-remove'](request, ctx);
    case 'unregister':
      return h.unregister(request, ctx);
    case 'trace':
      return h.trace(request, ctx);
    case 'screenshot':
      return h.screenshot(request, ctx);
    case 'lspci':
      return h.lspci(request, ctx);
    case 'bind':
      return h.bind(request, ctx);
    case 'unbind':
      return h.unbind(request, ctx);
  }
}

/** VfioErrors keep their errno name; bad requests are EINVAL; anything else is a server bug (EIO). */
export function describeError(err: unknown): { code: string; message: string } {
  if (err instanceof VfioError) return { code: err.code, message: err.message };
  if (err instanceof BadRequestError) return { code: 'EINVAL', message: err.message };
  return { code: 'EIO', message: err instanceof Error ? err.message : String(err) };
}
