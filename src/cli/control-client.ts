// The control socket's client side: connects to a running `vfio-ts serve`, sends one request and hands
// progress and event lines to the caller until the result (or error) line arrives.
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { MAX_LINE_BYTES, decodeReply, encodeLine } from './control-protocol.js';
import type { ControlRequest, JsonValue } from './control-protocol.js';
import { LineReader } from './socket-files.js';

/** No server, or the server failed the request: the CLI prints `message` and exits 1. */
export class ControlError extends Error {
  constructor(
    /** The errno name from the server, or ECONNREFUSED/ENOENT when no server runs. */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ControlError';
  }
}

export interface RequestOptions {
  /** Progress lines (unregister's request counts, ...). */
  readonly onProgress?: (data: JsonValue) => void;
  /** Event lines (trace). */
  readonly onEvent?: (data: JsonValue) => void;
  /** Hang up: the promise resolves with null. */
  readonly signal?: AbortSignal;
}

function connectTo(ctlPath: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(ctlPath);
    s.once('connect', () => {
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? 'EIO';
      const why =
        code === 'ENOENT' || code === 'ECONNREFUSED'
          ? `no vfio-ts server is running (nothing listens on ${ctlPath}); start one with 'vfio-ts serve' or pass --ctl PATH`
          : code === 'EACCES'
            ? `cannot connect to ${ctlPath}: permission denied (the control socket belongs to another user)`
            : `cannot connect to ${ctlPath}: ${err.message}`;
      reject(new ControlError(code, why));
    });
  });
}

let nextId = 1;

/** Sends `request` to the server on `ctlPath`; resolves with the result data (null if aborted first). */
export async function controlRequest(ctlPath: string, request: ControlRequest, opts: RequestOptions = {}): Promise<JsonValue> {
  const socket = await connectTo(ctlPath);
  const id = nextId++;
  return new Promise<JsonValue>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      fn();
    };
    const onAbort = (): void => finish(() => resolve(null));
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort);
    const reader = new LineReader(MAX_LINE_BYTES);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      try {
        for (const line of reader.push(chunk)) {
          if (line.trim() === '') continue;
          const reply = decodeReply(line);
          if (reply.id !== id && reply.id !== 0) continue;
          if (reply.type === 'progress') opts.onProgress?.(reply.data);
          else if (reply.type === 'event') opts.onEvent?.(reply.data);
          else if (reply.type === 'result') return finish(() => resolve(reply.data));
          else return finish(() => reject(new ControlError(reply.code, reply.message)));
        }
      } catch (err) {
        finish(() => reject(new ControlError('EPROTO', `bad reply from the server: ${err instanceof Error ? err.message : String(err)}`)));
      }
    });
    socket.on('error', (err) => finish(() => reject(new ControlError('EIO', `control connection failed: ${err.message}`))));
    socket.on('close', () => finish(() => reject(new ControlError('ECONNRESET', 'the server closed the connection (did it exit?)'))));
    socket.write(encodeLine({ id, ...request }));
  });
}
