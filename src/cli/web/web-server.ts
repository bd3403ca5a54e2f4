// `vfio-ts serve --http [HOST:]PORT`: the web view's HTTP server (node:http, no framework). It serves the page
// (page.ts), a JSON snapshot of the host (snapshot.ts), the life-cycle events as Server-Sent Events (the same
// diagnostics_channel events `vfio-ts trace` streams, with a backlog so a page opened late sees the run), and the
// control socket's commands (dispatched through the same table, validated by the same decoder). The rules are the
// control socket's: local only unless a host is given, every input validated, every fault answered, never a crash.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../base/log.js';
import { subscribeLifecycle } from '../../vfio/events.js';
import type { LifecycleEvent } from '../../vfio/events.js';
import { BadRequestError, decodeRequest } from '../control-protocol.js';
import type { JsonValue } from '../control-protocol.js';
import { describeError, dispatchControl } from '../control-server.js';
import type { ControlHandlers } from '../control-server.js';
import type { Runtime } from '../runtime.js';
import { PAGE_HTML, PAGE_CSS, PAGE_JS } from './page.js';
import { webSnapshot } from './snapshot.js';
import type { DisplayProbe } from './snapshot.js';

/** The largest request body accepted (a control command is a few hundred bytes). */
export const MAX_BODY_BYTES = 64 * 1024;
/** Events kept for pages that connect later (the oldest go first). */
export const EVENT_BACKLOG = 4096;

/** A life-cycle event as the page and `trace --svg` see it. */
export interface TimedEvent extends LifecycleEvent {
  readonly seq: number;
  /** Milliseconds since the epoch. */
  readonly time: number;
}

export interface WebServerOptions {
  readonly host: string;
  readonly port: number;
  readonly runtime: Runtime;
  readonly handlers: ControlHandlers;
  readonly hasDisplay: DisplayProbe;
  readonly logger: Logger;
}

/** An errno as an HTTP status. */
function httpStatus(code: string): number {
  switch (code) {
    case 'EINVAL':
      return 400;
    case 'ENODEV':
    case 'ENOENT':
      return 404;
    case 'EBUSY':
    case 'EEXIST':
      return 409;
    case 'EIO':
      return 500;
    default:
      return 422;
  }
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class WebServer {
  readonly #server: Server;
  readonly #opts: WebServerOptions;
  readonly #events: TimedEvent[] = [];
  readonly #streams = new Set<ServerResponse>();
  readonly #inflight = new Set<AbortController>();
  readonly #unsubscribe: () => void;
  #seq = 0;
  #closed: Promise<void> | null = null;
  /** Host headers this server answers to (DNS-rebinding defence): set once listening. */
  #allowedHosts = new Set<string>();

  private constructor(opts: WebServerOptions) {
    this.#opts = opts;
    this.#server = createServer((req, res) => this.#onRequest(req, res));
    // A malformed request line or header is answered by node with a 400; it never reaches a handler or throws.
    this.#server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    this.#unsubscribe = subscribeLifecycle((e) => this.#record(e));
  }

  /** Listens on `host:port` (port 0: any free port). */
  static async listen(opts: WebServerOptions): Promise<WebServer> {
    const ws = new WebServer(opts);
    try {
      await new Promise<void>((resolve, reject) => {
        ws.#server.once('error', reject);
        ws.#server.listen(opts.port, opts.host, () => {
          ws.#server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      ws.#unsubscribe();
      throw err;
    }
    ws.#server.on('error', (err) => opts.logger.error({ err: String(err) }, 'web server error'));
    const port = ws.port;
    const hostPart = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
    ws.#allowedHosts = new Set([`${hostPart}:${port}`]);
    if (opts.host === '127.0.0.1' || opts.host === '::1') ws.#allowedHosts.add(`localhost:${port}`);
    return ws;
  }

  get port(): number {
    const a: AddressInfo | string | null = this.#server.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  }

  /** The page's address. */
  get url(): string {
    const h = this.#opts.host.includes(':') ? `[${this.#opts.host}]` : this.#opts.host;
    return `http://${h}:${this.port}/`;
  }

  /** The events recorded so far (oldest first). */
  events(): readonly TimedEvent[] {
    return this.#events;
  }

  /** Stops listening, ends every event stream and aborts waiting requests. Safe to repeat. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      this.#unsubscribe();
      for (const ac of this.#inflight) ac.abort();
      for (const s of this.#streams) s.end();
      this.#streams.clear();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    return this.#closed;
  }

  #record(e: LifecycleEvent): void {
    const te: TimedEvent = { ...e, seq: ++this.#seq, time: Date.now() };
    this.#events.push(te);
    if (this.#events.length > EVENT_BACKLOG) this.#events.shift();
    const line = sseLine(te);
    for (const s of this.#streams) s.write(line);
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.#route(req, res).catch((err: unknown) => {
      const e = err instanceof HttpError ? err : null;
      const { code, message } = e ?? describeError(err);
      const status = e?.status ?? httpStatus(code);
      if (status >= 500) this.#opts.logger.error({ err: message, url: JSON.stringify(req.url ?? '') }, 'web request failed');
      sendJson(res, status, { error: { code, message } });
    });
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const host = req.headers.host ?? '';
    if (!this.#allowedHosts.has(host)) throw new HttpError(421, 'EACCES', `this server does not answer to host '${host.slice(0, 100)}'`);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = `${req.method ?? ''} ${url.pathname}`;
    switch (route) {
      case 'GET /':
      case 'GET /index.html':
        return sendText(res, 200, 'text/html; charset=utf-8', PAGE_HTML);
      case 'GET /app.css':
        return sendText(res, 200, 'text/css; charset=utf-8', PAGE_CSS);
      case 'GET /app.js':
        return sendText(res, 200, 'text/javascript; charset=utf-8', PAGE_JS);
      case 'GET /api/state':
        return sendJson(res, 200, { ...webSnapshot(this.#opts.runtime, this.#opts.hasDisplay) });
      case 'GET /api/mdev-types':
        return sendJson(res, 200, this.#opts.runtime.mdevTypes().map((t) => ({ ...t })));
      case 'GET /api/lspci':
        return sendJson(res, 200, this.#opts.runtime.lspci().map((f) => ({ ...f })));
      case 'GET /api/events':
        return this.#stream(req, res);
      case 'GET /api/screenshot':
        return this.#screenshot(res, url.searchParams.get('device'));
      case 'POST /api/control':
        return this.#control(req, res);
      default:
        if (['/', '/index.html', '/app.css', '/app.js', '/api/state', '/api/mdev-types', '/api/lspci', '/api/events', '/api/screenshot', '/api/control'].includes(url.pathname)) {
          res.setHeader('Allow', url.pathname === '/api/control' ? 'POST' : 'GET');
          throw new HttpError(405, 'EINVAL', `${req.method ?? ''} is not allowed on ${url.pathname}`);
        }
        throw new HttpError(404, 'ENOENT', `no such page: ${url.pathname.slice(0, 200)}`);
    }
  }

  #stream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    // The backlog first, so the timeline shows the run so far; then live events as they happen.
    res.write(': vfio-ts life-cycle events\n\n');
    for (const e of this.#events) res.write(sseLine(e));
    this.#streams.add(res);
    req.on('close', () => this.#streams.delete(res));
  }

  #screenshot(res: ServerResponse, device: string | null): Promise<void> {
    if (device === null || device === '' || device.length > 200) throw new HttpError(400, 'EINVAL', "screenshot: 'device' must be a non-empty string");
    const png = this.#opts.runtime.screenshot(device);
    res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': png.length, 'Cache-Control': 'no-store' });
    res.end(png);
    return Promise.resolve();
  }

  async #control(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // A page of another origin cannot send JSON here without a CORS preflight, which this server never grants;
    // a form post (text/plain) is refused, and so is an Origin that is not this server.
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim();
    if (type !== 'application/json') throw new HttpError(415, 'EINVAL', 'the body must be application/json');
    const origin = req.headers.origin;
    if (origin !== undefined && !this.#allowedHosts.has(origin.replace(/^http:\/\//, ''))) throw new HttpError(403, 'EACCES', 'cross-origin requests are refused');
    const body = await readBody(req);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw new HttpError(400, 'EINVAL', 'the body is not JSON');
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new HttpError(400, 'EINVAL', 'the body must be a JSON object');
    const { request } = decodeRequest(JSON.stringify({ ...json, id: 0 }));
    if (request.cmd === 'trace') throw new BadRequestError('trace streams: read /api/events instead');
    const ac = new AbortController();
    this.#inflight.add(ac);
    req.on('close', () => {
      if (!res.writableEnded) ac.abort();
    });
    try {
      const result = await dispatchControl(this.#opts.handlers, request, { progress: () => {}, event: () => {}, signal: ac.signal });
      sendJson(res, 200, { result });
    } finally {
      this.#inflight.delete(ac);
    }
  }
}

function sseLine(e: TimedEvent): string {
  return `id: ${e.seq}\ndata: ${JSON.stringify(e)}\n\n`;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, 'E2BIG', `the body is larger than ${MAX_BODY_BYTES} bytes`));
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: JsonValue | Record<string, unknown>): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  sendText(res, status, 'application/json; charset=utf-8', JSON.stringify(body));
}

function sendText(res: ServerResponse, status: number, type: string, text: string): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    // The page loads nothing from elsewhere (no CDN) and may not be framed.
    'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
  });
  res.end(text);
}
