// Memory a vfio-user client shares without an fd: the server reaches it with DMA_READ/DMA_WRITE messages
// (vfio-user.rst "VFIO_USER_DMA_READ", "VFIO_USER_DMA_WRITE"; QEMU hw/vfio-user/pci.c).
import { VfioError, check } from '../uapi/errno.js';
import type { DmaBacking } from '../vfio/dma-space.js';
import {
  VFIO_USER_DMA_READ,
  VFIO_USER_DMA_WRITE,
  checkDmaWriteReply,
  decodeDmaReadReply,
  encodeDmaReadRequest,
  encodeDmaWriteRequest,
  type DmaRwLayout,
} from './protocol/index.js';

/** What message-backed memory needs of its connection. */
export interface DmaRequester {
  /** Sends a command to the client and resolves with its reply payload; rejects ECONNRESET once the client is gone. */
  request(cmd: number, payload: Uint8Array): Promise<Buffer>;
}

/** How a client's fd-less DMA_MAP range is reached. */
export interface MessageBackingSpec {
  /** The client's address of the range's first byte (DMA_MAP `address`). */
  readonly address: bigint;
  readonly size: number;
  /** DMA_MAP's READ and WRITE flags. */
  readonly prot: { readonly read: boolean; readonly write: boolean };
  /** The most one DMA_READ/DMA_WRITE carries: the client's max_data_xfer_size. */
  readonly maxDataXferSize: number;
  readonly layout: DmaRwLayout;
}

/**
 * The process memory behind an fd-less mapping: it is mapped into the process and the IOAS like any memory, but
 * its bytes live in the client. The CPU cannot touch it synchronously, so read/write fail with EFAULT (as an
 * access to an unpopulated user address would); the asynchronous accessors, which vfioDmaRwAsync uses, send
 * DMA_READ/DMA_WRITE on the connection in chunks of the client's max_data_xfer_size.
 */
export class MessageBacking implements DmaBacking {
  readonly size: number;
  readonly #conn: DmaRequester;
  readonly #spec: MessageBackingSpec;

  constructor(conn: DmaRequester, spec: MessageBackingSpec) {
    if (!(spec.maxDataXferSize > 0)) throw new Error(`MessageBacking: max_data_xfer_size ${spec.maxDataXferSize}`);
    this.size = spec.size;
    this.#conn = conn;
    this.#spec = spec;
  }

  read(): void {
    throw new VfioError('EFAULT', 'memory shared by messages: use vfioDmaRwAsync');
  }

  write(): void {
    throw new VfioError('EFAULT', 'memory shared by messages: use vfioDmaRwAsync');
  }

  /** DMA_READs of [offset, offset + dst.length) into `dst`; EPERM unless the client mapped it readable. */
  async readAsync(offset: number, dst: Uint8Array): Promise<void> {
    const { address, prot, maxDataXferSize, layout } = this.#spec;
    check(prot.read, 'EPERM', 'DMA read from a mapping without that permission');
    this.#checkRange(offset, dst.length);
    for (let pos = 0; pos < dst.length; pos += maxDataXferSize) {
      const count = Math.min(maxDataXferSize, dst.length - pos);
      const at = address + BigInt(offset + pos);
      const reply = await this.#conn.request(VFIO_USER_DMA_READ, encodeDmaReadRequest(at, count));
      dst.set(decodeDmaReadReply(reply, at, count, layout), pos);
    }
  }

  /** DMA_WRITEs of `src` at `offset`; EPERM unless the client mapped it writable. */
  async writeAsync(offset: number, src: Uint8Array): Promise<void> {
    const { address, prot, maxDataXferSize, layout } = this.#spec;
    check(prot.write, 'EPERM', 'DMA write to a mapping without that permission');
    this.#checkRange(offset, src.length);
    for (let pos = 0; pos < src.length; pos += maxDataXferSize) {
      const count = Math.min(maxDataXferSize, src.length - pos);
      const at = address + BigInt(offset + pos);
      const reply = await this.#conn.request(VFIO_USER_DMA_WRITE, encodeDmaWriteRequest(at, src.subarray(pos, pos + count), layout));
      checkDmaWriteReply(reply, at, count, layout);
    }
  }

  #checkRange(offset: number, length: number): void {
    check(offset >= 0 && offset + length <= this.size, 'EFAULT', `access [${offset}, +${length}) past ${this.size} bytes`);
  }
}
