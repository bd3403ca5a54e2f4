// A server connection's replies: written one after the other into a scratch buffer and sent together, one
// sendmsg per batch of requests (libvfio-user sends one per reply; vfio-ts coalesces what one wake-up answers).
import {
  VFIO_USER_F_NO_REPLY,
  VFIO_USER_HDR_SIZE,
  writeErrorReply,
  writeReplyHeader,
  type VfioUserHeader,
  type VfioUserMessage,
} from './protocol/index.js';
import type { Transport } from './transport.js';

const SCRATCH = 64 * 1024 + 64;
/** Most iovecs in one reply batch before it is sent (IOV_MAX is 1024). */
const MAX_IOVECS = 64;
/** Replies up to this size are copied into the scratch area; larger payloads go as their own iovec. */
const COPY_MAX = 4096;

/**
 * The reply batch: small replies are written into one scratch buffer one after the other, so they form one
 * run [#runStart, #runEnd) of it; other buffers, and runs that ended, are iovecs in #out. The scratch is reused
 * only once a batch is handed to the transport with the requests it answers consumed (exchange, finish), never
 * while a handler may hold a reply.
 */
export class ReplyBatch {
  readonly #transport: Transport;
  readonly #out: Uint8Array[] = [];
  readonly #scratch = Buffer.allocUnsafe(SCRATCH);
  #scratchPos = 0;
  #runStart = 0;
  #runEnd = 0;
  /** Where the last reserve() made room. */
  #buf: Buffer = this.#scratch;

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /**
   * Makes room for a reply of `size` bytes and returns where it starts in `buffer`: the scratch area when it
   * fits, else a buffer of its own. Write the reply there, then commit() it; one not committed is not sent.
   * Offsets, not views, so that a reply costs no allocation.
   */
  reserve(size: number): number {
    const at = this.#scratchPos;
    if (at + size <= SCRATCH) {
      this.#scratchPos = at + size;
      this.#buf = this.#scratch;
      return at;
    }
    this.#buf = Buffer.allocUnsafe(size);
    return 0;
  }

  /** The buffer the last reserve() made room in (until the next reserve). */
  get buffer(): Buffer {
    return this.#buf;
  }

  /** Queues buf[at, at + length), a reply written where reserve() made room. */
  commit(buf: Buffer, at: number, length: number): void {
    if (buf !== this.#scratch) {
      this.queue(buf.subarray(at, at + length));
      return;
    }
    if (at === this.#runEnd && this.#runEnd > this.#runStart) {
      this.#runEnd += length;
      return;
    }
    this.#endRun();
    this.#runStart = at;
    this.#runEnd = at + length;
  }

  /** Queues a whole reply (or request) built by the caller in a buffer of its own into the batch. */
  queue(buf: Uint8Array): void {
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
      this.#transport.send(payload === undefined ? [head] : [head, payload], fds);
      return;
    }
    if (len <= COPY_MAX) {
      const at = this.reserve(VFIO_USER_HDR_SIZE + len);
      const b = this.#buf;
      writeReplyHeader(b, at, h.msgId, h.cmd, len);
      if (payload !== undefined) b.set(payload, at + VFIO_USER_HDR_SIZE);
      this.commit(b, at, VFIO_USER_HDR_SIZE + len);
    } else {
      const at = this.reserve(VFIO_USER_HDR_SIZE);
      const b = this.#buf;
      writeReplyHeader(b, at, h.msgId, h.cmd, len);
      this.commit(b, at, VFIO_USER_HDR_SIZE);
      if (payload !== undefined) this.queue(payload);
    }
  }

  /** An error reply (the bare header with the error flag), unless the command asked for none. */
  replyError(h: VfioUserHeader, errno: number): void {
    if (h.flags & VFIO_USER_F_NO_REPLY) return;
    const at = this.reserve(VFIO_USER_HDR_SIZE);
    const b = this.#buf;
    writeErrorReply(b, at, h.msgId, h.cmd, errno);
    this.commit(b, at, VFIO_USER_HDR_SIZE);
  }

  /** Sends the batch so far with one sendmsgv (the transport copies what the socket does not take). */
  flush(): void {
    this.#endRun();
    if (this.#out.length > 0) {
      this.#transport.send(this.#out);
      this.#out.length = 0;
    }
  }

  /**
   * The hot path's one native call (Transport.exchange): sends the batch, consumes the requests it answers and
   * receives, busy-polling up to `spinNs`; then the scratch area is free again. Returns what exchange returns.
   */
  exchange(spinNs: number): number {
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
    const n = this.#transport.exchange(tx, txLength, spinNs);
    this.#done();
    return n;
  }

  /** Leaving the loop: sends the batch and consumes the requests it answers; the scratch area is free again. */
  finish(): void {
    this.flush();
    this.#transport.consume();
    this.#done();
  }

  #done(): void {
    this.#scratchPos = 0;
    this.#runStart = 0;
    this.#runEnd = 0;
  }
}
