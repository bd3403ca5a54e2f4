// Incremental vfio-user message framer over a stream socket's chunks and SCM_RIGHTS fds
// (vfio-user.rst "Header", "Message sizes"; libvfio-user lib/tran_sock.c receive path).
import { VfioError } from '../../uapi/errno.js';
import { createHeader, readHeader, VFIO_USER_HDR_SIZE, type VfioUserHeader } from './header.js';

/** The biggest msg_size any peer may use: QEMU's 64 MiB transfer ceiling plus two headers. */
export const VFIO_USER_HARD_MAX_MSG_SIZE = 64 * 1024 * 1024 + 32;

/**
 * The message size limit that goes with a negotiated max_data_xfer_size: a data message is the
 * header, a 16-byte access header and the data (libvfio-user's SERVER_MAX_MSG_SIZE). Never below
 * 64 KiB + 32, so that control messages (WRITE_MULTI, SET_IRQS data, DMA logging ranges) always fit.
 */
export function maxMessageSizeFor(maxDataXferSize: number): number {
  return Math.max(maxDataXferSize, 64 * 1024) + 32;
}

const NO_FDS: readonly number[] = Object.freeze([]);

/**
 * One whole message. Its payload may lie in the chunk it arrived in (no copy): handle it, or copy it,
 * before the memory of that chunk is reused. The message owns its fds until a handler takes them with
 * takeFds(); whatever is not taken must be closed with closeFds().
 */
export class VfioUserMessage {
  readonly header: VfioUserHeader;
  /** The memory the payload lies in: payload is bytes[payloadOffset, payloadOffset + payloadLength). */
  readonly bytes: Buffer;
  readonly payloadOffset: number;
  readonly payloadLength: number;
  #payload: Buffer | undefined;
  #fds: readonly number[];
  readonly #closeFd: (fd: number) => void;

  constructor(header: VfioUserHeader, bytes: Buffer, payloadOffset: number, payloadLength: number, fds: readonly number[], closeFd: (fd: number) => void) {
    this.header = header;
    this.bytes = bytes;
    this.payloadOffset = payloadOffset;
    this.payloadLength = payloadLength;
    this.#fds = fds;
    this.#closeFd = closeFd;
  }

  /**
   * The payload as a view of `bytes`, made on first use: a Buffer view costs more than the rest of framing a
   * small message, and the hot handlers (REGION_READ/WRITE) read `bytes` in place instead.
   */
  get payload(): Buffer {
    return (this.#payload ??= this.bytes.subarray(this.payloadOffset, this.payloadOffset + this.payloadLength));
  }

  /** Number of fds the message still owns. */
  get fdCount(): number {
    return this.#fds.length;
  }

  /** Moves every fd to the caller, who must close them. Balances nothing: ownership moves out. */
  takeFds(): number[] {
    const fds = [...this.#fds];
    this.#fds = NO_FDS;
    return fds;
  }

  /** The framer hands over fds that arrived after the message was cut (the read ended on its last byte). */
  adoptFds(fds: readonly number[]): void {
    this.#fds = this.#fds.length === 0 ? [...fds] : [...this.#fds, ...fds];
  }

  /** Closes the fds not taken. Safe to repeat. */
  closeFds(): void {
    if (this.#fds.length === 0) return; // the usual case, on every message
    const fds = this.#fds;
    this.#fds = NO_FDS;
    for (const fd of fds) this.#closeFd(fd);
  }
}

/**
 * A message that could not be framed: the header is known (so the reply can carry its msg_id and
 * command), the errno is libvfio-user's (EINVAL for msg_size < 16 or above the limit). When
 * `fatal`, the stream cannot be resynchronised: reply, then close the connection. Otherwise the
 * framer has skipped (is skipping) the body and the connection can go on.
 */
export class FramingError {
  readonly header: VfioUserHeader;
  readonly error: VfioError;
  readonly fatal: boolean;

  constructor(header: VfioUserHeader, error: VfioError, fatal: boolean) {
    this.header = header;
    this.error = error;
    this.fatal = fatal;
  }
}

export interface FramerOptions {
  /** Closes an fd the framer has to drop (a discarded message's, or at destroy). */
  closeFd: (fd: number) => void;
  /** Largest acceptable msg_size; see maxMessageSizeFor. Defaults to the 1 MiB transfer default's. */
  maxMessageSize?: number;
  /** Above this a msg_size is treated as garbage and is fatal. */
  hardCap?: number;
}

/**
 * Cuts a byte stream into messages. push() each chunk read from the socket with the fds that came
 * with it, then drain next() until it returns undefined. A message lying whole in one chunk is a
 * view of it; only a message split across chunks is copied (once, into a buffer of its own size).
 *
 * fds attach to the message that holds the chunk's LAST byte. On a UNIX stream socket one recvmsg
 * may glue earlier fd-less sends in front of the send that carried the fds, but it stops right after
 * that send (net/unix/af_unix.c unix_stream_read_generic: `if (scm.fp) break`). A peer that sends
 * each fd-carrying message with its own sendmsg, as QEMU and our transport do, is thus read right;
 * a read that ends inside that message hands its fds to the message still being assembled.
 */
export class MessageFramer {
  readonly #closeFd: (fd: number) => void;
  readonly #hardCap: number;
  #maxMessageSize: number;

  /*
   * Framed items not yet handed out: #queue[#queueHead, #queueTail). The array keeps its length when it
   * empties (the slots handed out are cleared) so that a message per push does not shrink and regrow it.
   */
  readonly #queue: (VfioUserMessage | FramingError | undefined)[] = [];
  #queueHead = 0;
  #queueTail = 0;

  /* A header split across chunks. */
  readonly #hdrBuf = Buffer.alloc(VFIO_USER_HDR_SIZE);
  #hdrLen = 0;
  /* A body split across chunks: its header, its own buffer, how much is filled. */
  #header: VfioUserHeader | undefined;
  #body: Buffer | undefined;
  #bodyLen = 0;
  /* fds for the message being assembled (a read ended inside it). */
  #fds: number[] | undefined;
  /* What the latest push completed last: the message its final byte belonged to, if it ended on a boundary. */
  #lastMessage: VfioUserMessage | undefined;
  #lastDiscarded = false;
  /* Bytes of an oversized message still to discard. */
  #skip = 0;
  /* Set after a fatal framing error or destroy(): data is dropped and fds closed. */
  #dead = false;

  constructor(options: FramerOptions) {
    this.#closeFd = options.closeFd;
    this.#hardCap = options.hardCap ?? VFIO_USER_HARD_MAX_MSG_SIZE;
    this.#maxMessageSize = Math.min(options.maxMessageSize ?? maxMessageSizeFor(1024 * 1024), this.#hardCap);
  }

  /** Changes the limit, e.g. after VERSION negotiation. */
  setMaxMessageSize(size: number): void {
    if (!(size >= VFIO_USER_HDR_SIZE)) throw new RangeError(`message size limit ${size}`);
    this.#maxMessageSize = Math.min(size, this.#hardCap);
  }

  get maxMessageSize(): number {
    return this.#maxMessageSize;
  }

  /** Bytes held for a message not yet complete (a split header or body). */
  get buffered(): number {
    return this.#body === undefined ? this.#hdrLen : VFIO_USER_HDR_SIZE + this.#bodyLen;
  }

  /** True after a fatal framing error or destroy(). */
  get dead(): boolean {
    return this.#dead;
  }

  /**
   * Feeds one chunk, chunk[0, length), and the fds received with it. The framer owns the fds from here on.
   * `length` lets a receive buffer be pushed without a view of its filled part.
   */
  push(chunk: Buffer, fds?: readonly number[], length = chunk.length): void {
    this.#lastMessage = undefined;
    this.#lastDiscarded = false;
    this.#frame(chunk, Math.min(length, chunk.length));
    if (fds !== undefined && fds.length > 0) this.#attachFds(fds);
  }

  /** Gives a read's fds to the message holding its last byte (see the class comment). */
  #attachFds(fds: readonly number[]): void {
    if (this.#dead || this.#skip > 0 || (this.#lastDiscarded && !this.#inProgress())) {
      // The last byte belongs to a message being discarded: so do the fds.
      for (const fd of fds) this.#closeFd(fd);
    } else if (this.#inProgress() || this.#lastMessage === undefined) {
      (this.#fds ??= []).push(...fds);
    } else {
      this.#lastMessage.adoptFds(fds);
    }
  }

  #inProgress(): boolean {
    return this.#hdrLen > 0 || this.#body !== undefined;
  }

  #frame(chunk: Buffer, len: number): void {
    if (this.#dead) return;
    let pos = 0;
    while (pos < len && !this.#dead) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, len - pos);
        this.#skip -= n;
        pos += n;
        this.#lastMessage = undefined;
        this.#lastDiscarded = true;
        continue;
      }
      if (this.#body !== undefined) {
        const n = Math.min(this.#body.length - this.#bodyLen, len - pos);
        chunk.copy(this.#body, this.#bodyLen, pos, pos + n);
        this.#bodyLen += n;
        pos += n;
        if (this.#bodyLen === this.#body.length) this.#finishSplit();
        continue;
      }
      if (this.#hdrLen > 0 || len - pos < VFIO_USER_HDR_SIZE) {
        const n = Math.min(VFIO_USER_HDR_SIZE - this.#hdrLen, len - pos);
        chunk.copy(this.#hdrBuf, this.#hdrLen, pos, pos + n);
        this.#hdrLen += n;
        pos += n;
        if (this.#hdrLen < VFIO_USER_HDR_SIZE) break;
        this.#hdrLen = 0;
        const header = readHeader(this.#hdrBuf, 0, createHeader());
        if (!this.#sizeOk(header)) continue;
        this.#startSplit(header);
        continue;
      }
      // The common case: a header at a message boundary, read in place.
      const header = readHeader(chunk, pos, createHeader());
      pos += VFIO_USER_HDR_SIZE;
      if (!this.#sizeOk(header)) continue;
      const bodySize = header.msgSize - VFIO_USER_HDR_SIZE;
      if (len - pos >= bodySize) {
        this.#emit(header, chunk, pos, bodySize);
        pos += bodySize;
      } else {
        this.#startSplit(header);
      }
    }
  }

  /** The next message or framing error, in stream order; undefined when none is ready. */
  next(): VfioUserMessage | FramingError | undefined {
    if (this.#queueHead === this.#queueTail) return undefined;
    const item = this.#queue[this.#queueHead];
    this.#queue[this.#queueHead++] = undefined;
    if (this.#queueHead === this.#queueTail) {
      this.#queueHead = 0;
      this.#queueTail = 0;
    }
    return item;
  }

  /** Drops everything not yet handed out, closing its fds. Later pushes only close fds. Safe to repeat. */
  destroy(): void {
    this.#dead = true;
    for (let i = this.#queueHead; i < this.#queueTail; i++) {
      const item = this.#queue[i];
      if (item instanceof VfioUserMessage) item.closeFds();
    }
    this.#queue.length = 0;
    this.#queueHead = 0;
    this.#queueTail = 0;
    this.#dropFds();
    this.#header = undefined;
    this.#body = undefined;
    this.#bodyLen = 0;
    this.#hdrLen = 0;
    this.#skip = 0;
  }

  #sizeOk(header: VfioUserHeader): boolean {
    const size = header.msgSize;
    if (size >= VFIO_USER_HDR_SIZE && size <= this.#maxMessageSize) return true;
    this.#dropFds();
    this.#lastMessage = undefined;
    this.#lastDiscarded = true;
    if (size < VFIO_USER_HDR_SIZE || size > this.#hardCap) {
      // No way to find the next header: everything after this one is dropped.
      this.#dead = true;
      this.#enqueue(new FramingError(header, new VfioError('EINVAL', `bad msg_size ${size}`), true));
    } else {
      this.#skip = size - VFIO_USER_HDR_SIZE;
      this.#enqueue(
        new FramingError(header, new VfioError('EINVAL', `msg_size ${size} above the limit ${this.#maxMessageSize}`), false),
      );
    }
    return false;
  }

  #startSplit(header: VfioUserHeader): void {
    const bodySize = header.msgSize - VFIO_USER_HDR_SIZE;
    if (bodySize === 0) {
      this.#emit(header, this.#hdrBuf, 0, 0);
      return;
    }
    this.#header = header;
    this.#body = Buffer.allocUnsafe(bodySize);
    this.#bodyLen = 0;
  }

  #finishSplit(): void {
    const header = this.#header;
    const body = this.#body;
    if (header === undefined || body === undefined) throw new Error('framer: no split message to finish');
    this.#header = undefined;
    this.#body = undefined;
    this.#bodyLen = 0;
    this.#emit(header, body, 0, body.length);
  }

  #emit(header: VfioUserHeader, bytes: Buffer, payloadOffset: number, payloadLength: number): void {
    const fds = this.#fds ?? NO_FDS;
    this.#fds = undefined;
    const msg = new VfioUserMessage(header, bytes, payloadOffset, payloadLength, fds, this.#closeFd);
    this.#lastMessage = msg;
    this.#lastDiscarded = false;
    this.#enqueue(msg);
  }

  #enqueue(item: VfioUserMessage | FramingError): void {
    this.#queue[this.#queueTail++] = item;
  }

  #dropFds(): void {
    const fds = this.#fds;
    this.#fds = undefined;
    if (fds !== undefined) for (const fd of fds) this.#closeFd(fd);
  }
}
