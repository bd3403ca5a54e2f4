// A vfio-user connection's byte transport over a nonblocking UNIX stream fd (libvfio-user lib/tran_sock.c):
// recvmsg (or a peek, consumed later) into a per-connection buffer feeding the framer, sendmsgv with SCM_RIGHTS,
// queueing on EAGAIN, and the server hot path's send-consume-receive in one native call (exchange).
import * as native from '../native/index.js';
import { MessageFramer } from './protocol/index.js';

const { EAGAIN, EINTR } = native;
const INITIAL_RECV = 64 * 1024;
const INT32_MAX = 0x7fff_ffff;
/** A peer that stops reading: beyond this many queued bytes we stop reading from it too (backpressure). */
const MAX_QUEUED = 4 * 1024 * 1024;

/** What the owner of a transport hears. */
export interface TransportEvents {
  /** Bytes arrived and were pushed into the framer (drain it). Called on the event loop. */
  readable(): void;
  /** The transport is gone (EOF, socket error, destroy or close). Called once. */
  closed(err: Error | undefined): void;
}

interface Pending {
  data: Buffer;
  fds: readonly number[] | undefined;
}

/**
 * One socket. The transport owns the fd and closes it exactly once; every fd received is owned by the
 * framer (and so by the messages it yields) from the moment recvmsg returns it.
 */
export class Transport {
  readonly fd: number;
  readonly framer: MessageFramer;
  #buf: Buffer;
  readonly #maxRecv: number;
  /** native.exchange's io: in [txLength, owed, spinNs, peek], out [sent, realRead, owed, nfds, fds...]. */
  readonly #io: Int32Array;
  readonly #watcher: native.FdWatcher;
  readonly #events: TransportEvents;
  #pending: Pending[] = [];
  #queued = 0;
  #closing = false;
  #destroyed = false;
  #interest = 0;
  /** Whether receives peek (see the constructor). */
  readonly #peek: boolean;
  /** Bytes at the head of the socket's queue already framed (peeked): dropped by a later receive or consume(). */
  #peeked = 0;

  /**
   * `peek`: a receive leaves what it reads queued on the socket until the next receive (or consume()). A
   * server consumes a request after sending its reply: consuming frees the kernel's buffers, which wakes a
   * client blocked in recv on its end; after the reply that client is already awake, so it is woken once per
   * round trip, not twice (on one CPU the spurious wake-up also preempts the server: two context switches).
   */
  constructor(fd: number, events: TransportEvents, opts: { maxFds: number; maxMessageSize: number; peek?: boolean }) {
    this.fd = fd;
    this.#events = events;
    this.#peek = opts.peek ?? false;
    this.#maxRecv = opts.maxMessageSize;
    this.#buf = Buffer.allocUnsafe(Math.min(INITIAL_RECV, opts.maxMessageSize));
    // One slot for the count, room for the most fds a peer may send, plus slack so a few too many are still
    // received (and refused by the handler) instead of breaking the stream.
    this.#io = new Int32Array(4 + opts.maxFds + 8);
    this.framer = new MessageFramer({ closeFd: native.close, maxMessageSize: opts.maxMessageSize });
    if (this.#peek) native.peekOffsets(fd);
    this.#watcher = new native.FdWatcher(fd, (ev, err) => this.#onPoll(ev, err));
    this.#setInterest(native.POLLIN);
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Bytes accepted by send() but not yet written to the socket. */
  get queuedBytes(): number {
    return this.#queued;
  }

  /**
   * One receive into the buffer and a push into the framer (consuming what the last one peeked first).
   * Returns bytes (> 0), 0 at EOF (the transport is then destroyed), -EAGAIN when nothing is there, or
   * another -errno (destroyed). With `spinNs` it busy-polls that long for bytes to arrive (native.recvmsg);
   * without, it never blocks.
   */
  receive(spinNs = 0): number {
    return this.exchange(undefined, 0, spinNs);
  }

  /**
   * The hot path's one call (native.exchange): sends tx[0, txLength) (behind anything queued; what the socket
   * does not take is copied and queued), consumes what the last receive peeked, then receives as receive().
   */
  exchange(tx: Uint8Array | undefined, txLength: number, spinNs = 0): number {
    if (this.#destroyed) return 0;
    if (txLength > 0 && (this.#pending.length > 0 || tx === undefined)) {
      if (tx !== undefined) this.#queue(Buffer.from(tx.subarray(0, txLength)), undefined);
      txLength = 0;
    }
    if (this.#closing) return -EAGAIN; // close() stopped reading: only the queued output goes
    if (this.#pending.length > 0) spinNs = 0; // the peer is not reading: no point waiting for it
    const io = this.#io;
    io[0] = txLength;
    io[1] = this.#peeked;
    io[2] = Math.min(spinNs, INT32_MAX); // the poll window halves with >> 1: it is an int32 already
    io[3] = this.#peek ? 1 : 0;
    const n = native.exchange(this.fd, tx, this.#buf, io);
    this.#peeked = io[2] ?? 0; // handled bytes the call left queued (see native.exchange)
    if (n > 0) {
      if (io[1] === 0) {
        this.#peeked += n;
        this.#framed(n, undefined);
      } else {
        const nfds = io[3] ?? 0;
        let fds: number[] | undefined;
        if (nfds > 0) {
          fds = [];
          for (let i = 4; i < 4 + nfds; i++) fds.push(io[i] ?? -1);
        }
        this.#framed(n, fds); // the framer owns the fds from here, even if the send below failed
      }
    }
    if (txLength > 0) {
      const sent = io[0] ?? 0;
      if (sent < 0 && sent !== -EAGAIN) {
        this.destroy(new Error(`sendmsg failed: errno ${-sent}`));
        return 0;
      }
      if (sent !== txLength) this.#queue(Buffer.from((tx as Uint8Array).subarray(Math.max(sent, 0), txLength)), undefined);
    }
    if (n === -EAGAIN || n > 0) return n;
    this.destroy(n === 0 ? undefined : new Error(`recvmsg failed: errno ${-n}`));
    return n;
  }

  /**
   * Consumes what the last receive peeked (a no-op otherwise), for an owner that stops receiving for now:
   * call it once the messages are handled and their replies sent.
   */
  consume(): void {
    if (this.#destroyed) return;
    const err = this.#dropPeeked();
    if (err !== undefined) this.destroy(err);
  }

  /** Reads and drops the peeked bytes (framed already); an error when they were not there as peeked. */
  #dropPeeked(): Error | undefined {
    const left = this.#peeked;
    this.#peeked = 0;
    if (left === 0 || native.dropPeeked(this.fd, this.#buf, left, this.#io) === 0) return undefined;
    return new Error(`consuming ${left} peeked bytes: the stream is not what was peeked`);
  }

  /** Hands n received bytes (and their fds) to the framer and grows the buffer when it was filled. */
  #framed(n: number, fds: number[] | undefined): void {
    // Messages lie in the buffer: the owner handles all of them before the next receive().
    this.framer.push(this.#buf, fds, n);
    if (n === this.#buf.length && this.#buf.length < this.#maxRecv) {
      this.#buf = Buffer.allocUnsafe(Math.min(this.#buf.length * 2, this.#maxRecv));
    }
  }

  /**
   * Sends `bufs` (one message or several, contiguous on the wire) with `fds` attached to the first byte.
   * What the socket does not take now is copied and sent when it drains. The fds stay the caller's.
   */
  send(bufs: readonly Uint8Array[], fds?: readonly number[]): void {
    if (this.#destroyed || bufs.length === 0) return;
    if (this.#pending.length === 0) {
      let total = 0;
      for (const b of bufs) total += b.length;
      let n: number;
      do n = native.sendmsgv(this.fd, bufs, fds);
      while (n === -EINTR);
      if (n === total) return;
      if (n < 0 && n !== -EAGAIN) {
        this.destroy(new Error(`sendmsg failed: errno ${-n}`));
        return;
      }
      const sent = n < 0 ? 0 : n;
      // fds went with the first byte if anything was sent.
      this.#queue(Buffer.concat(bufs.map((b) => Buffer.from(b.buffer, b.byteOffset, b.length))).subarray(sent), sent > 0 ? undefined : fds);
    } else {
      this.#queue(Buffer.concat(bufs.map((b) => Buffer.from(b.buffer, b.byteOffset, b.length))), fds);
    }
  }

  /** Graceful: stops reading, flushes what is queued, then closes. Safe to repeat. */
  close(): void {
    if (this.#destroyed || this.#closing) return;
    this.#closing = true;
    if (this.#pending.length === 0) this.destroy();
    else this.#setInterest(native.POLLOUT);
  }

  /** Abortive: drops queued output and received data (closing their fds) and closes the socket. Safe to repeat. */
  destroy(err?: Error): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#watcher.close();
    // Bytes left unread make close() reset the connection (the peer reads ECONNRESET, not our last reply):
    // what was peeked was handled, so it goes first.
    this.#dropPeeked();
    this.#closePendingFds();
    this.#pending = [];
    this.#queued = 0;
    this.framer.destroy();
    native.close(this.fd); // balances the accept or connect that made this fd
    this.#events.closed(err);
  }

  #queue(data: Buffer, fds: readonly number[] | undefined): void {
    // The queued fds must outlive the caller's close of theirs: keep duplicates, closed once sent.
    const own = fds === undefined || fds.length === 0 ? undefined : fds.map((fd) => native.dup(fd));
    this.#pending.push({ data, fds: own });
    this.#queued += data.length;
    this.#updateInterest();
  }

  #flush(): void {
    while (this.#pending.length > 0 && !this.#destroyed) {
      const p = this.#pending[0] as Pending;
      let n: number;
      do n = native.sendmsg(this.fd, p.data, p.fds);
      while (n === -EINTR);
      if (n === -EAGAIN) break;
      if (n < 0) {
        this.destroy(new Error(`sendmsg failed: errno ${-n}`));
        return;
      }
      this.#queued -= n;
      if (p.fds !== undefined) for (const fd of p.fds) native.close(fd);
      if (n === p.data.length) {
        this.#pending.shift();
      } else {
        this.#pending[0] = { data: p.data.subarray(n), fds: undefined };
      }
    }
    if (this.#pending.length === 0 && this.#closing) this.destroy();
    else this.#updateInterest();
  }

  #closePendingFds(): void {
    for (const p of this.#pending) if (p.fds !== undefined) for (const fd of p.fds) native.close(fd);
  }

  #updateInterest(): void {
    if (this.#destroyed) return;
    let ev = 0;
    if (!this.#closing && this.#queued < MAX_QUEUED) ev |= native.POLLIN;
    if (this.#pending.length > 0) ev |= native.POLLOUT;
    this.#setInterest(ev);
  }

  #setInterest(ev: number): void {
    if (ev === this.#interest) return;
    this.#interest = ev;
    this.#watcher.start(ev);
  }

  #onPoll(events: number, error: number): void {
    if (this.#destroyed) return;
    if (error !== 0) {
      this.destroy(new Error(`poll error ${-error}`));
      return;
    }
    if (events & native.POLLOUT) this.#flush();
    if (!this.#destroyed && events & (native.POLLIN | native.POLLHUP | native.POLLRDHUP)) this.#events.readable();
  }
}
