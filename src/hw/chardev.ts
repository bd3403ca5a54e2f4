// The host end of a simulated serial line (QEMU's chardev): loopback (the mtty sample's only behaviour), a
// listening UNIX socket or TCP port on 127.0.0.1 (one client at a time), or this process's stdio. mtty's ports and
// the PCI serial card's UART take one each.
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { z } from 'zod';
import { intRange, socketPath } from '../base/config-schema.js';
import type { Logger } from '../base/log.js';
import { VfioError } from '../uapi/errno.js';
import type { UartBackend } from './uart16550.js';

/** Where one port's line goes (the serve config's `"loopback"`, `"stdio"`, `{"unix": PATH}`, `{"tcp": PORT}`). */
export type ChardevSpec =
  | { readonly kind: 'loopback' }
  | { readonly kind: 'stdio' }
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'tcp'; readonly port: number };

/** A port's host side: it owns its sockets and closes them in close(). */
export interface Chardev {
  /** What the UART transmits into; undefined means loopback (TX bytes come back as RX). */
  readonly uart: UartBackend | undefined;
  /** Resolves once the backend listens (at once for loopback and stdio); rejects if it cannot. */
  readonly ready: Promise<void>;
  /** The TCP port or socket path clients connect to, once ready; null for loopback/stdio. */
  address(): string | number | null;
  /** Starts handing bytes from the host to `receive` (the UART's RX side). */
  attach(receive: (bytes: Uint8Array) => void): void;
  /** Closes every socket at once: no receive callback runs afterwards. Idempotent. */
  close(): void;
}

const loopback: Chardev = Object.freeze({
  uart: undefined,
  ready: Promise.resolve(),
  address: () => null,
  attach: () => {},
  close: () => {},
});

/** Collects TX bytes and writes them out once per tick (a byte-per-write socket would crawl). */
class TxBatcher implements UartBackend {
  private pending: number[] = [];

  constructor(private readonly sink: (bytes: Uint8Array) => void) {}

  write(byte: number): void {
    if (this.pending.length === 0) queueMicrotask(() => this.flush());
    this.pending.push(byte & 0xff);
  }

  private flush(): void {
    const bytes = Uint8Array.from(this.pending);
    this.pending = [];
    this.sink(bytes);
  }
}

/** A listening server with at most one connected client: its bytes go to the guest, the guest's TX to it. */
class ServerBackend implements Chardev {
  readonly uart: UartBackend;
  readonly ready: Promise<void>;
  private readonly server: Server;
  private client: Socket | null = null;
  private receive: ((bytes: Uint8Array) => void) | null = null;
  private closed = false;

  constructor(
    listen: { port: number; host: string } | { path: string },
    private readonly log: Logger,
  ) {
    this.uart = new TxBatcher((bytes) => {
      // With no client connected the line is idle: bytes are dropped, as on an unplugged cable.
      if (this.client !== null && !this.closed) this.client.write(bytes);
    });
    this.server = createServer((sock) => this.accept(sock));
    this.ready = new Promise<void>((resolve, reject) => {
      this.server.once('listening', () => resolve());
      this.server.once('error', (err) => reject(new VfioError('EADDRINUSE', `mtty backend: ${err.message}`)));
    });
    // A failed listen is reported through `ready`; keep it from being an unhandled rejection.
    this.ready.catch(() => {});
    this.server.listen(listen);
  }

  private accept(sock: Socket): void {
    if (this.client !== null || this.closed) {
      // One client at a time: the line is taken.
      sock.destroy();
      return;
    }
    this.client = sock;
    // Users (and tests) learn from this line that the host side of the port is attached.
    this.log.info({ port: this.address() }, 'mtty port: host client connected');
    sock.on('data', (data: Buffer) => {
      if (!this.closed) this.receive?.(data);
    });
    sock.on('error', (err) => this.log.debug({ err: err.message }, 'mtty backend client error'));
    sock.on('close', () => {
      if (this.client !== sock) return;
      this.client = null;
      if (!this.closed) this.log.info({ port: this.address() }, 'mtty port: host client disconnected');
    });
  }

  address(): string | number | null {
    const a = this.server.address();
    if (a === null) return null;
    return typeof a === 'string' ? a : (a satisfies AddressInfo).port;
  }

  attach(receive: (bytes: Uint8Array) => void): void {
    this.receive = receive;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.receive = null;
    this.client?.destroy();
    this.client = null;
    this.server.close();
  }
}

class StdioBackend implements Chardev {
  readonly uart = new TxBatcher((bytes) => process.stdout.write(bytes));
  readonly ready = Promise.resolve();
  private listener: ((data: Buffer) => void) | null = null;

  address(): null {
    return null;
  }

  attach(receive: (bytes: Uint8Array) => void): void {
    this.listener = (data: Buffer) => receive(data);
    process.stdin.on('data', this.listener);
  }

  close(): void {
    if (this.listener !== null) process.stdin.off('data', this.listener);
    this.listener = null;
  }
}

/** Creates the backend `spec` names. Servers start listening at once (see `ready`). */
export function createChardev(spec: ChardevSpec, log: Logger): Chardev {
  switch (spec.kind) {
    case 'loopback':
      return loopback;
    case 'stdio':
      return new StdioBackend();
    case 'unix':
      return new ServerBackend({ path: spec.path }, log);
    case 'tcp':
      if (!Number.isInteger(spec.port) || spec.port < 0 || spec.port > 0xffff) throw new VfioError('EINVAL', `TCP port ${spec.port}`);
      return new ServerBackend({ port: spec.port, host: '127.0.0.1' }, log);
  }
}

/** The forms a config may write a chardev in. */
export const PORT_FORMS = '"loopback", "stdio", {"unix": PATH} or {"tcp": PORT}';

/** A serial line's host end, as the config writes it. */
export function chardevConfigSchema(baseDir: string): z.ZodType<ChardevSpec> {
  return z.union(
    [
      z.enum(['loopback', 'stdio']).transform((kind): ChardevSpec => ({ kind })),
      z.strictObject({ unix: socketPath(baseDir) }).transform((o): ChardevSpec => ({ kind: 'unix', path: o.unix })),
      z.strictObject({ tcp: intRange(1, 65535) }).transform((o): ChardevSpec => ({ kind: 'tcp', port: o.tcp })),
    ],
    {
      error: (iss) => {
        const v = iss.input;
        if (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length !== 1) {
          return `a port backend has exactly one key (unix or tcp), got ${Object.keys(v).join(', ') || 'none'}`;
        }
        return `unknown port backend ${typeof v === 'string' ? `${JSON.stringify(v)} ` : ''}(use ${PORT_FORMS})`;
      },
    },
  );
}
