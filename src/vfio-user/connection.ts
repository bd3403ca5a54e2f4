// One vfio-user client connection on the server side: the hot receive/dispatch/reply loop with NAPI-style
// busy polling, the command table, server-to-client requests (DMA_READ/WRITE) and teardown.
// Follows libvfio-user lib/libvfio-user.c process_request/handle_request and QEMU docs/interop/vfio-user.rst.
import type { Logger } from '../base/log.js';
import { EAGAIN } from '../native/index.js';
import { Errno, VfioError, errnoError, errnoName } from '../uapi/errno.js';
import type { VfioDevice } from '../vfio/vfio-device.js';
import type { DeviceUser } from './device-user.js';
import {
  FramingError,
  VFIO_USER_F_NO_REPLY,
  VFIO_USER_F_TYPE_COMMAND,
  VFIO_USER_F_ERROR,
  VFIO_USER_HDR_SIZE,
  VFIO_USER_VERSION,
  maxMessageSizeFor,
  vfioUserCommandName,
  writeErrorReply,
  writeHeader,
  writeReplyHeader,
  type DmaRwLayout,
  type NegotiatedVersion,
  type ServerCapabilityLimits,
  type VfioUserMessage,
  type VfioUserHeader,
} from './protocol/index.js';
import { Transport } from './transport.js';
import type { CommandHandler } from './handler.js';

const SCRATCH = 64 * 1024 + 64;
/** Most iovecs in one reply batch before it is sent (IOV_MAX is 1024). */
const MAX_IOVECS = 64;

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
  readonly handlers: ReadonlyMap<number, CommandHandler>;
  /** Opens the device as a new user (a process of its own); throws VfioError (EBUSY when in use). Close it with DeviceUser.close. */
  openUser(conn: Connection): DeviceUser;
  /** Bytes arrived on `conn` (for busy-poll fairness). */
  noteActivity(conn: Connection): void;
  /** Whether this connection may busy-poll now (no other connection is active). */
  mayBusyPoll(conn: Connection): boolean;
  /** Called once the connection is closed and torn down. */
  connectionClosed(conn: Connection): void;
}

interface ServerRequest {
  readonly cmd: number;
  readonly resolve: (payload: Buffer) => void;
  readonly reject: (err: Error) => void;
}

let connectionIds = 0;

export class Connection {
  readonly id = ++connectionIds;
  readonly device: VfioDevice;
  readonly transport: Transport;
  readonly #host: ConnectionHost;
  /** Set by VERSION. */
  negotiated: NegotiatedVersion | undefined;
  /** The device as this connection's process uses it; set once VERSION succeeded. */
  user: DeviceUser | undefined;
  /** Last time (performance.now()) a message was handled: the server's notion of an active connection. */
  lastActive = 0;
  readonly #pending = new Map<number, ServerRequest>();
  #nextServerMsgId = 0;
  /*
   * The reply batch: small replies are carved from one scratch buffer one after the other, so they form one
   * run [#runStart, #runEnd) of it; other buffers, and runs that ended, are iovecs in #out. The scratch is
   * reused only once a batch is handed to the transport (#batchDone), never while a handler may hold a reply.
   */
  readonly #out: Uint8Array[] = [];
  readonly #scratch = Buffer.allocUnsafe(SCRATCH);
  #scratchPos = 0;
  #runStart = 0;
  #runEnd = 0;
  #pollNs: number;
  #closed = false;
  #inLoop = false;

  constructor(host: ConnectionHost, device: VfioDevice, fd: number, maxFds: number) {
    this.#host = host;
    this.device = device;
    this.#pollNs = host.hotPath.pollMaxNs;
    this.transport = new Transport(
      fd,
      { readable: () => this.#onReadable(), closed: (err) => this.#onClosed(err) },
      { maxFds, maxMessageSize: maxMessageSizeFor(1024 * 1024), peek: true },
    );
  }

  get logger(): Logger {
    return this.#host.logger;
  }

  get limits(): Readonly<ServerCapabilityLimits> {
    return this.#host.limits;
  }

  get dmaLayout(): DmaRwLayout {
    return this.#host.dmaLayout;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Graceful close: flush replies, then close (the client sees EOF). Safe to repeat. */
  close(): void {
    this.flush();
    this.transport.close();
  }

  /** Abortive close. Safe to repeat. */
  destroy(err?: Error): void {
    this.transport.destroy(err);
  }

  /** Opens the device for this connection (after VERSION); the disconnect closes it. */
  openUser(): void {
    this.user = this.#host.openUser(this);
  }

  /** The device user; EINVAL before VERSION (never reached: the dispatcher checks). */
  get du(): DeviceUser {
    const u = this.user;
    if (u === undefined) throw new VfioError('EINVAL', 'device not open');
    return u;
  }

  // ---- replies ----

  /** A reply buffer of `size` bytes, from the scratch area when it fits; queue() it once written. */
  allocReply(size: number): Buffer {
    if (this.#scratchPos + size <= SCRATCH) {
      const b = this.#scratch.subarray(this.#scratchPos, this.#scratchPos + size);
      this.#scratchPos += size;
      return b;
    }
    return Buffer.allocUnsafe(size);
  }

  /** Queues a whole reply (or request) built by the caller into the batch. */
  queue(buf: Uint8Array): void {
    if (buf.buffer === this.#scratch.buffer) {
      const at = buf.byteOffset - this.#scratch.byteOffset;
      if (at === this.#runEnd && this.#runEnd > this.#runStart) {
        this.#runEnd += buf.length;
        return;
      }
      this.#endRun();
      this.#runStart = at;
      this.#runEnd = at + buf.length;
      return;
    }
    this.#endRun();
    this.#out.push(buf);
    if (this.#out.length >= MAX_IOVECS) this.flush();
  }

  /** Moves the scratch run into the iovecs. */
  #endRun(): void {
    if (this.#runEnd > this.#runStart) this.#out.push(this.#scratch.subarray(this.#runStart, this.#runEnd));
    this.#runStart = this.#runEnd;
  }

  /** Replies to `msg` with `payload` (unless it asked for no reply). fds go alone, with their first byte. */
  reply(msg: VfioUserMessage, payload?: Uint8Array, fds?: readonly number[]): void {
    const h = msg.header;
    if (h.flags & VFIO_USER_F_NO_REPLY) return;
    const len = payload === undefined ? 0 : payload.length;
    if (fds !== undefined && fds.length > 0) {
      this.flush();
      const head = Buffer.allocUnsafe(VFIO_USER_HDR_SIZE);
      writeReplyHeader(head, 0, h.msgId, h.cmd, len);
      this.transport.send(payload === undefined ? [head] : [head, payload], fds);
      return;
    }
    if (len <= 4096) {
      const b = this.allocReply(VFIO_USER_HDR_SIZE + len);
      writeReplyHeader(b, 0, h.msgId, h.cmd, len);
      if (payload !== undefined) b.set(payload, VFIO_USER_HDR_SIZE);
      this.queue(b);
    } else {
      const head = this.allocReply(VFIO_USER_HDR_SIZE);
      writeReplyHeader(head, 0, h.msgId, h.cmd, len);
      this.queue(head);
      if (payload !== undefined) this.queue(payload);
    }
  }

  /** An error reply (the bare header with the error flag), unless the command asked for none. */
  replyError(h: VfioUserHeader, errno: number): void {
    if (h.flags & VFIO_USER_F_NO_REPLY) return;
    const b = this.allocReply(VFIO_USER_HDR_SIZE);
    writeErrorReply(b, 0, h.msgId, h.cmd, errno);
    this.queue(b);
  }

  /** Sends the batch so far with one sendmsgv (the transport copies what the socket does not take). */
  flush(): void {
    this.#endRun();
    if (this.#out.length > 0) {
      this.transport.send(this.#out);
      this.#out.length = 0;
    }
  }

  /** The batch went to the transport: the scratch area is free again. */
  #batchDone(): void {
    this.#scratchPos = 0;
    this.#runStart = 0;
    this.#runEnd = 0;
  }

  // ---- server-to-client requests ----

  /** Sends a command to the client (DMA_READ/DMA_WRITE) and resolves with its reply payload (a copy). */
  request(cmd: number, payload: Uint8Array): Promise<Buffer> {
    if (this.#closed) return Promise.reject(new VfioError('ECONNRESET', 'client is gone'));
    let id = this.#nextServerMsgId;
    for (let i = 0; i < 0x10000 && this.#pending.has(id); i++) id = (id + 1) & 0xffff;
    if (this.#pending.has(id)) return Promise.reject(new VfioError('EAGAIN', 'too many requests in flight'));
    this.#nextServerMsgId = (id + 1) & 0xffff;
    const head = Buffer.allocUnsafe(VFIO_USER_HDR_SIZE);
    writeHeader(head, 0, id, cmd, VFIO_USER_HDR_SIZE + payload.length, VFIO_USER_F_TYPE_COMMAND);
    return new Promise<Buffer>((resolve, reject) => {
      this.#pending.set(id, { cmd, resolve, reject });
      this.flush();
      this.transport.send([head, payload]);
    });
  }

  // ---- the hot path ----

  #onReadable(): void {
    if (this.#inLoop || this.#closed) return;
    this.#inLoop = true;
    try {
      this.#loop();
    } finally {
      this.#inLoop = false;
    }
  }

  /**
   * Receive everything there, handle every whole message synchronously, reply with one send, then busy-poll
   * briefly for the next request (the client usually sends it right after reading our reply) instead of going
   * back to the event loop, within a budget of messages and time per wake-up.
   *
   * Each turn after the first is one native call (Transport.exchange): it sends the replies, consumes the
   * requests (they were only peeked, so the client is woken once, by the reply) and waits for the next
   * request, yielding the CPU between tries. A client on another CPU finds us awake, so its request costs no
   * wake-up (an IPI, slow in a VM); a client on our CPU runs while we yield. One call, because right after a
   * context switch each call into the addon costs about as much as a system call.
   */
  #loop(): void {
    const hp = this.#host.hotPath;
    const deadline = performance.now() + hp.budgetMicros / 1000;
    let handled = 0;
    let n = this.transport.receive();
    while (n > 0) {
      this.#host.noteActivity(this);
      handled += this.#drain();
      if (this.#closed || this.transport.destroyed) return;
      if (handled >= hp.budgetMessages || this.transport.queuedBytes > 0 || performance.now() >= deadline) {
        this.#stop();
        return;
      }
      const spinNs = hp.pollMaxNs > 0 && this.#host.mayBusyPoll(this) ? this.#pollNs : 0;
      n = this.#sendAndReceive(spinNs);
      if (spinNs > 0) {
        // A miss means the client is thinking: shrink the window so idle clients cost little, and go back to
        // the event loop (the fd watcher wakes us when the client speaks again). A hit widens it again.
        this.#pollNs = n === -EAGAIN ? Math.max(hp.pollMinNs, this.#pollNs >> 1) : Math.min(hp.pollMaxNs, this.#pollNs * 2);
      }
    }
  }

  /** Sends the batch, consumes the requests and receives (Transport.exchange), then frees the scratch area. */
  #sendAndReceive(spinNs: number): number {
    let tx: Buffer | undefined;
    let txLength = 0;
    if (this.#out.length === 0) {
      // The usual batch: one run of small replies in the scratch area.
      tx = this.#runStart === 0 ? this.#scratch : this.#scratch.subarray(this.#runStart);
      txLength = this.#runEnd - this.#runStart;
      this.#runStart = this.#runEnd;
    } else {
      this.flush();
    }
    const n = this.transport.exchange(tx, txLength, spinNs);
    this.#batchDone();
    return n;
  }

  /** Leaves the loop: sends the batch and consumes the requests. */
  #stop(): void {
    this.flush();
    this.transport.consume();
    this.#batchDone();
  }

  /** Handles every message the framer holds; returns how many. */
  #drain(): number {
    const framer = this.transport.framer;
    let count = 0;
    for (let item = framer.next(); item !== undefined; item = framer.next()) {
      count++;
      if (item instanceof FramingError) {
        this.replyError(item.header, item.error.errno);
        if (item.fatal) {
          this.close();
          return count;
        }
        continue;
      }
      this.#handle(item);
      if (this.#closed || this.transport.destroyed) return count;
    }
    this.lastActive = performance.now();
    return count;
  }

  #handle(msg: VfioUserMessage): void {
    const h = msg.header;
    try {
      const type = h.flags & 0xf;
      if (type !== VFIO_USER_F_TYPE_COMMAND) {
        this.#handleReply(msg);
        return;
      }
      if (this.negotiated === undefined && h.cmd !== VFIO_USER_VERSION) {
        // libvfio-user: the first message must be VERSION; anything else fails the attach.
        this.replyError(h, Errno.EINVAL);
        this.close();
        return;
      }
      const handler = this.#host.handlers.get(h.cmd);
      if (handler === undefined) throw new VfioError('EINVAL', `unknown command ${h.cmd}`);
      if (this.negotiated !== undefined && msg.fdCount > this.negotiated.server.maxMsgFds) {
        throw new VfioError('EINVAL', `${msg.fdCount} fds above max_msg_fds`);
      }
      if (msg.fdCount > 0 && !handler.takesFds) throw new VfioError('EINVAL', `${vfioUserCommandName(h.cmd)} takes no fds`);
      handler.handle(this, msg);
    } catch (err) {
      if (VfioError.is(err)) {
        this.logger.debug({ conn: this.id, cmd: vfioUserCommandName(h.cmd), errno: errnoName(err.errno), err: err.message }, 'vfio-user: command failed');
        this.replyError(h, err.errno);
      } else {
        // A bug in a handler or a driver: answer EIO and keep the server (and this connection) alive.
        this.logger.error({ conn: this.id, cmd: vfioUserCommandName(h.cmd), err: String(err) }, 'vfio-user: handler threw');
        this.replyError(h, Errno.EIO);
      }
    } finally {
      msg.closeFds(); // every fd a handler did not take is closed here
    }
  }

  #handleReply(msg: VfioUserMessage): void {
    const h = msg.header;
    const req = this.#pending.get(h.msgId);
    if (req === undefined || req.cmd !== h.cmd) {
      // A reply to nothing we asked: the peer is confused; answer EINVAL and drop it (libvfio-user closes).
      this.replyError(h, Errno.EINVAL);
      this.close();
      return;
    }
    this.#pending.delete(h.msgId);
    if (h.flags & VFIO_USER_F_ERROR) {
      req.reject(errnoError(h.errorNo, `client answered ${errnoName(h.errorNo)}`));
    } else {
      req.resolve(Buffer.from(msg.payload)); // a copy: the payload is a view of the receive buffer
    }
  }

  #onClosed(err: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    if (err !== undefined) this.logger.debug({ conn: this.id, err: err.message }, 'vfio-user: connection lost');
    for (const r of this.#pending.values()) r.reject(new VfioError('ECONNRESET', 'client disconnected'));
    this.#pending.clear();
    // The client was a user of the device: its process goes away (mappings, eventfds, the open itself).
    try {
      this.user?.close(); // balances the open in openUser
    } finally {
      this.user = undefined;
      this.#host.connectionClosed(this);
    }
  }

  /** Whether this connection handled something within the last `ms` milliseconds. */
  activeWithin(now: number, ms: number): boolean {
    return now - this.lastActive < ms;
  }
}
