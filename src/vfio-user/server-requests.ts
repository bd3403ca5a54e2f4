// The requests a vfio-user server sends its client (DMA_READ, DMA_WRITE) and their replies, matched by message id
// (vfio-user.rst "Message ID"; libvfio-user's vfu_dma_transfer sends one and waits for its reply).
import { VfioError, errnoError, errnoName } from '../uapi/errno.js';
import { VFIO_USER_F_ERROR, VFIO_USER_F_TYPE_COMMAND, VFIO_USER_HDR_SIZE, writeHeader, type VfioUserMessage } from './protocol/index.js';

interface ServerRequest {
  readonly cmd: number;
  readonly resolve: (payload: Buffer) => void;
  readonly reject: (err: Error) => void;
}

/** The requests in flight on one connection: ids are 16 bits, so at most 65536 at a time. */
export class ServerRequests {
  readonly #pending = new Map<number, ServerRequest>();
  #nextId = 0;

  /**
   * Sends command `cmd` with `payload` through `send` (header and payload as one message) and resolves with the
   * reply's payload (a copy), or rejects with the errno the client answered. EAGAIN when every id is in use.
   */
  request(cmd: number, payload: Uint8Array, send: (bufs: readonly Uint8Array[]) => void): Promise<Buffer> {
    let id = this.#nextId;
    for (let i = 0; i < 0x10000 && this.#pending.has(id); i++) id = (id + 1) & 0xffff;
    if (this.#pending.has(id)) return Promise.reject(new VfioError('EAGAIN', 'too many requests in flight'));
    this.#nextId = (id + 1) & 0xffff;
    const head = Buffer.allocUnsafe(VFIO_USER_HDR_SIZE);
    writeHeader(head, 0, id, cmd, VFIO_USER_HDR_SIZE + payload.length, VFIO_USER_F_TYPE_COMMAND);
    return new Promise<Buffer>((resolve, reject) => {
      this.#pending.set(id, { cmd, resolve, reject });
      send([head, payload]);
    });
  }

  /** Settles the request `msg` (a reply-type message) answers; false when it answers none of ours. */
  settle(msg: VfioUserMessage): boolean {
    const h = msg.header;
    const req = this.#pending.get(h.msgId);
    if (req === undefined || req.cmd !== h.cmd) return false;
    this.#pending.delete(h.msgId);
    if (h.flags & VFIO_USER_F_ERROR) {
      req.reject(errnoError(h.errorNo, `client answered ${errnoName(h.errorNo)}`));
    } else {
      req.resolve(Buffer.from(msg.payload)); // a copy: the payload is a view of the receive buffer
    }
    return true;
  }

  /** Rejects every request in flight with ECONNRESET (the client is gone). */
  rejectAll(): void {
    for (const r of this.#pending.values()) r.reject(new VfioError('ECONNRESET', 'client disconnected'));
    this.#pending.clear();
  }
}
