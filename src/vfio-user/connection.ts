// One vfio-user client connection on the server side and its hot loop: receive, dispatch every whole message,
// reply with one send, then busy-poll NAPI-style for the next request. Dispatch is dispatch.ts, the reply batch
// reply-batch.ts, the server's own requests server-requests.ts, and the device use device-user.ts.
// Follows libvfio-user lib/libvfio-user.c vfu_run_ctx/process_request and QEMU docs/interop/vfio-user.rst.
import type { Logger } from '../base/log.js';
import { EAGAIN } from '../native/index.js';
import { VfioError } from '../uapi/errno.js';
import type { VfioDevice } from '../vfio/vfio-device.js';
import type { ConnectionHost } from './connection-host.js';
import type { DeviceUser } from './device-user.js';
import { dispatchMessage } from './dispatch.js';
import {
  FramingError,
  maxMessageSizeFor,
  type DmaRwLayout,
  type NegotiatedVersion,
  type ServerCapabilityLimits,
  type VfioUserHeader,
  type VfioUserMessage,
} from './protocol/index.js';
import { ReplyBatch } from './reply-batch.js';
import { ServerRequests } from './server-requests.js';
import { Transport } from './transport.js';
import { ViewCache } from './view-cache.js';

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
  readonly #replies: ReplyBatch;
  readonly #requests = new ServerRequests();
  readonly #views = new ViewCache();
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
    this.#replies = new ReplyBatch(this.transport);
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

  // ---- replies (reply-batch.ts) ----

  /**
   * Room for a reply of `size` bytes: where it starts in replyBuffer (the batch's scratch area when it fits).
   * Write it there, then commitReply() it.
   */
  reserveReply(size: number): number {
    return this.#replies.reserve(size);
  }

  /** The buffer the last reserveReply() made room in. */
  get replyBuffer(): Buffer {
    return this.#replies.buffer;
  }

  /** Queues buf[at, at + length), a reply written where reserveReply() made room. */
  commitReply(buf: Buffer, at: number, length: number): void {
    this.#replies.commit(buf, at, length);
  }

  /** buf[at, at + length) as a view for a device to read or fill during one call (see ViewCache). */
  view(buf: Buffer, at: number, length: number): Uint8Array {
    return this.#views.view(buf, at, length);
  }

  /** Replies to `msg` with `payload` (unless it asked for no reply). fds go alone, with their first byte. */
  reply(msg: VfioUserMessage, payload?: Uint8Array, fds?: readonly number[]): void {
    this.#replies.reply(msg, payload, fds);
  }

  /** An error reply (the bare header with the error flag), unless the command asked for none. */
  replyError(h: VfioUserHeader, errno: number): void {
    this.#replies.replyError(h, errno);
  }

  /** Sends the batch so far. */
  flush(): void {
    this.#replies.flush();
  }

  // ---- server-to-client requests (server-requests.ts) ----

  /** Sends a command to the client (DMA_READ/DMA_WRITE) and resolves with its reply payload (a copy). */
  request(cmd: number, payload: Uint8Array): Promise<Buffer> {
    if (this.#closed) return Promise.reject(new VfioError('ECONNRESET', 'client is gone'));
    return this.#requests.request(cmd, payload, (bufs) => {
      this.flush(); // replies queued so far go first
      this.transport.send(bufs);
    });
  }

  /** Settles the request a reply-type message answers; false when it answers none. */
  settleRequest(msg: VfioUserMessage): boolean {
    return this.#requests.settle(msg);
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
   * Each turn after the first is one native call (ReplyBatch.exchange): it sends the replies, consumes the
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
      // One clock read per turn serves the budget and the busy-poll decision (a read costs ~60 ns in a VM).
      const now = performance.now();
      if (handled >= hp.budgetMessages || this.transport.queuedBytes > 0 || now >= deadline) {
        this.#replies.finish();
        return;
      }
      const spinNs = hp.pollMaxNs > 0 && this.#host.mayBusyPoll(this, now) ? this.#pollNs : 0;
      n = this.#replies.exchange(spinNs);
      if (spinNs > 0) {
        // A miss means the client is thinking: shrink the window so idle clients cost little, and go back to
        // the event loop (the fd watcher wakes us when the client speaks again). A hit widens it again.
        this.#pollNs = n === -EAGAIN ? Math.max(hp.pollMinNs, this.#pollNs >> 1) : Math.min(hp.pollMaxNs, this.#pollNs * 2);
      }
    }
  }

  /** Handles every message the framer holds; returns how many. */
  #drain(): number {
    const framer = this.transport.framer;
    const handlers = this.#host.handlers;
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
      dispatchMessage(this, handlers, item);
      if (this.#closed || this.transport.destroyed) return count;
    }
    return count;
  }

  /** The transport is gone: the client's requests fail, and its process goes away (mappings, eventfds, the open). */
  #onClosed(err: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    if (err !== undefined) this.logger.debug({ conn: this.id, err: err.message }, 'vfio-user: connection lost');
    this.#requests.rejectAll();
    try {
      this.user?.close(); // balances the open in openUser
    } finally {
      this.user = undefined;
      this.#host.connectionClosed(this);
    }
  }
}
