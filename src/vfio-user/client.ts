// A vfio-user client (what QEMU's hw/vfio-user/proxy.c and device.c do, in TypeScript): VERSION with QEMU
// 10.2's capabilities, typed device commands, and service of the server's DMA_READ/DMA_WRITE requests
// against memory the caller registered. Used by tests, the CLI and users.
import * as native from '../native/index.js';
import { VfioError, check, errnoError } from '../uapi/errno.js';
import { Transport } from './transport.js';
import {
  FramingError,
  VFIO_DEVICE_FEATURE_SIZE,
  VFIO_DMA_UNMAP_FLAG_ALL,
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_DATA_NONE,
  VFIO_USER_DEVICE_FEATURE,
  VFIO_USER_DEVICE_GET_INFO,
  VFIO_USER_DEVICE_GET_IRQ_INFO,
  VFIO_USER_DEVICE_GET_REGION_INFO,
  VFIO_USER_DEVICE_GET_REGION_IO_FDS,
  VFIO_USER_DEVICE_RESET,
  VFIO_USER_DEVICE_SET_IRQS,
  VFIO_USER_DMA_MAP,
  VFIO_USER_DMA_READ,
  VFIO_USER_DMA_UNMAP,
  VFIO_USER_DMA_WRITE,
  VFIO_USER_F_DMA_REGION_READ,
  VFIO_USER_F_DMA_REGION_WRITE,
  VFIO_USER_F_ERROR,
  VFIO_USER_F_TYPE_COMMAND,
  VFIO_USER_F_TYPE_MASK,
  VFIO_USER_F_TYPE_REPLY,
  VFIO_USER_HDR_SIZE,
  VFIO_USER_MIG_DATA_READ,
  VFIO_USER_MIG_DATA_WRITE,
  VFIO_USER_MINOR,
  VFIO_USER_REGION_READ,
  VFIO_USER_REGION_WRITE,
  VFIO_USER_REGION_WRITE_MULTI,
  VFIO_USER_VERSION,
  checkVersionReply,
  decodeDmaAccess,
  decodeDmaWriteRequest,
  decodeMigDataReadReply,
  decodeRegionAccessReply,
  decodeRegionIoFdsReply,
  encodeCommand,
  encodeDeviceInfoRequest,
  encodeDmaMap,
  encodeDmaReadReply,
  encodeDmaUnmap,
  encodeDmaWriteReply,
  encodeErrorReply,
  encodeIrqInfoRequest,
  encodeIrqSet,
  encodeMigDataRead,
  encodeMigDataWrite,
  encodeRegionAccess,
  encodeRegionInfoRequest,
  encodeRegionIoFdsRequest,
  encodeRegionWriteMulti,
  encodeReply,
  encodeVersion,
  maxMessageSizeFor,
  writeHeader,
  type DmaRwLayout,
  type RegionWriteOne,
  type SubRegionIoFd,
  type VfioUserCapabilities,
  type VfioUserMessage,
} from './protocol/index.js';

/** The capabilities QEMU 10.2's vfio-user-pci offers in VERSION. */
export const QEMU_CAPABILITIES_JSON = JSON.stringify({
  capabilities: {
    pgsizes: 4096,
    max_msg_fds: 16,
    max_dma_maps: 65535,
    max_data_xfer_size: 1048576,
    migration: { max_bitmap_size: 268435456, pgsize: 4096 },
    write_multiple: true,
  },
});

export interface VfioUserClientOptions {
  /** The VERSION JSON to offer; QEMU 10.2's by default. */
  readonly capabilities?: string;
  /** The layout the server uses for DMA_READ/DMA_WRITE ('qemu', as vfio-ts's server by default). */
  readonly dmaLayout?: DmaRwLayout;
}

export interface ReplyMessage {
  readonly payload: Buffer;
  /** fds that came with the reply: the caller owns them. */
  readonly fds: number[];
}

export interface RegionInfo {
  readonly flags: number;
  readonly index: number;
  readonly capOffset: number;
  readonly size: bigint;
  readonly offset: bigint;
  /** The whole reply (struct and capability chain). */
  readonly raw: Buffer;
  /** The region's mmap fd, when the server sent one (the caller owns it). */
  readonly fd: number | undefined;
}

interface Waiter {
  readonly cmd: number;
  readonly resolve: (r: ReplyMessage) => void;
  readonly reject: (e: Error) => void;
}

interface DmaMemory {
  readonly iova: bigint;
  readonly bytes: Uint8Array;
}

export class VfioUserClient {
  readonly transport: Transport;
  /** The server's capabilities from its VERSION reply. */
  serverCaps: (VfioUserCapabilities & { minor: number }) | undefined;
  readonly #waiters = new Map<number, Waiter>();
  readonly #memory: DmaMemory[] = [];
  readonly #layout: DmaRwLayout;
  #nextId = 0;
  #closedErr: Error | undefined;
  #closed = false;
  readonly #closedPromise: Promise<void>;
  #onClosed: () => void = () => {};

  private constructor(fd: number, opts: VfioUserClientOptions) {
    this.#layout = opts.dmaLayout ?? 'qemu';
    this.#closedPromise = new Promise((resolve) => (this.#onClosed = resolve));
    this.transport = new Transport(
      fd,
      { readable: () => this.#readable(), closed: (err) => this.#closedNow(err) },
      { maxFds: 16, maxMessageSize: maxMessageSizeFor(64 * 1024 * 1024) },
    );
  }

  /** Connects and negotiates VERSION. */
  static async connect(path: string, opts: VfioUserClientOptions = {}): Promise<VfioUserClient> {
    const c = new VfioUserClient(native.unixConnect(path), opts);
    try {
      const r = await c.request(VFIO_USER_VERSION, encodeVersion(0, VFIO_USER_MINOR, opts.capabilities ?? QEMU_CAPABILITIES_JSON));
      c.serverCaps = checkVersionReply(r.payload, VFIO_USER_MINOR);
    } catch (err) {
      c.destroy();
      throw err;
    }
    return c;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Resolves when the connection is gone (the server closed it or we did). */
  whenClosed(): Promise<void> {
    return this.#closedPromise;
  }

  /** Sends one command; resolves with the reply, rejects with VfioError(errno) on an error reply. */
  request(cmd: number, payload?: Uint8Array, fds?: readonly number[]): Promise<ReplyMessage> {
    if (this.#closed) return Promise.reject(this.#closedErr ?? new VfioError('ECONNRESET', 'connection closed'));
    let id = this.#nextId;
    while (this.#waiters.has(id)) id = (id + 1) & 0xffff;
    this.#nextId = (id + 1) & 0xffff;
    const msg = encodeCommand(id, cmd, payload);
    return new Promise<ReplyMessage>((resolve, reject) => {
      this.#waiters.set(id, { cmd, resolve, reject });
      this.transport.send([msg], fds);
    });
  }

  async getDeviceInfo(): Promise<{ flags: number; numRegions: number; numIrqs: number }> {
    const { payload } = await this.request(VFIO_USER_DEVICE_GET_INFO, encodeDeviceInfoRequest());
    check(payload.length >= 16, 'EINVAL', 'short DEVICE_GET_INFO reply');
    return { flags: payload.readUInt32LE(4), numRegions: payload.readUInt32LE(8), numIrqs: payload.readUInt32LE(12) };
  }

  /** GET_REGION_INFO, retrying with the argsz the server asks for when the capability chain did not fit. */
  async getRegionInfo(index: number, argsz = 32): Promise<RegionInfo> {
    const { payload, fds } = await this.request(VFIO_USER_DEVICE_GET_REGION_INFO, encodeRegionInfoRequest(index, argsz));
    check(payload.length >= 32, 'EINVAL', 'short GET_REGION_INFO reply');
    const needed = payload.readUInt32LE(0);
    if (needed > argsz && needed > payload.length) {
      for (const fd of fds) native.close(fd);
      return this.getRegionInfo(index, needed);
    }
    for (const fd of fds.slice(1)) native.close(fd);
    return {
      flags: payload.readUInt32LE(4),
      index: payload.readUInt32LE(8),
      capOffset: payload.readUInt32LE(12),
      size: payload.readBigUInt64LE(16),
      offset: payload.readBigUInt64LE(24),
      raw: payload,
      fd: fds[0],
    };
  }

  async getRegionIoFds(index: number, argsz = 16): Promise<{ count: number; subRegions: SubRegionIoFd[]; fds: number[] }> {
    const { payload, fds } = await this.request(VFIO_USER_DEVICE_GET_REGION_IO_FDS, encodeRegionIoFdsRequest(index, argsz));
    const r = decodeRegionIoFdsReply(payload);
    return { count: r.count, subRegions: r.subRegions, fds };
  }

  async getIrqInfo(index: number): Promise<{ flags: number; index: number; count: number }> {
    const { payload } = await this.request(VFIO_USER_DEVICE_GET_IRQ_INFO, encodeIrqInfoRequest(index));
    check(payload.length >= 16, 'EINVAL', 'short GET_IRQ_INFO reply');
    return { flags: payload.readUInt32LE(4), index: payload.readUInt32LE(8), count: payload.readUInt32LE(12) };
  }

  /** SET_IRQS ACTION_TRIGGER: eventfds for vectors start.. (sent as SCM_RIGHTS), or null to tear down (DATA_NONE, count 0). */
  async setIrqs(index: number, start: number, eventfds: readonly number[] | null): Promise<void> {
    const payload =
      eventfds === null
        ? encodeIrqSet(VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, index, start, 0)
        : encodeIrqSet(VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index, start, eventfds.length);
    await this.request(VFIO_USER_DEVICE_SET_IRQS, payload, eventfds ?? undefined);
  }

  async regionRead(index: number, offset: number, count: number): Promise<Buffer> {
    const { payload } = await this.request(VFIO_USER_REGION_READ, encodeRegionAccess(offset, index, count));
    return decodeRegionAccessReply(payload, false, { offset, region: index, count });
  }

  async regionWrite(index: number, offset: number, data: Uint8Array): Promise<void> {
    const { payload } = await this.request(VFIO_USER_REGION_WRITE, encodeRegionAccess(offset, index, data.length, data));
    decodeRegionAccessReply(payload, true, { offset, region: index, count: data.length });
  }

  /** REGION_WRITE_MULTI: up to 200 writes of up to 8 bytes; resolves with the count the server completed. */
  async regionWriteMulti(writes: readonly Omit<RegionWriteOne, 'count'>[]): Promise<number> {
    const { payload } = await this.request(VFIO_USER_REGION_WRITE_MULTI, encodeRegionWriteMulti(writes));
    check(payload.length >= 8, 'EINVAL', 'short WRITE_MULTI reply');
    return Number(payload.readBigUInt64LE(0));
  }

  /** DMA_MAP; with `fd` the server maps the memory itself (the fd stays the caller's), without it it asks by message. */
  async dmaMap(m: { iova: bigint; size: bigint; fd?: number; offset?: bigint; prot?: { read: boolean; write: boolean } }): Promise<void> {
    const prot = m.prot ?? { read: true, write: true };
    const flags = (prot.read ? VFIO_USER_F_DMA_REGION_READ : 0) | (prot.write ? VFIO_USER_F_DMA_REGION_WRITE : 0);
    const payload = encodeDmaMap({ flags, offset: m.offset ?? 0n, address: m.iova, size: m.size });
    await this.request(VFIO_USER_DMA_MAP, payload, m.fd === undefined ? undefined : [m.fd]);
  }

  async dmaUnmap(m: { iova: bigint; size: bigint } | 'all'): Promise<void> {
    const payload =
      m === 'all' ? encodeDmaUnmap({ flags: VFIO_DMA_UNMAP_FLAG_ALL, address: 0n, size: 0n }) : encodeDmaUnmap({ flags: 0, address: m.iova, size: m.size });
    await this.request(VFIO_USER_DMA_UNMAP, payload);
  }

  /** Memory the server may read and write with DMA_READ/DMA_WRITE (for mappings made without an fd). */
  registerDmaMemory(iova: bigint, bytes: Uint8Array): void {
    this.#memory.push({ iova, bytes });
  }

  async reset(): Promise<void> {
    await this.request(VFIO_USER_DEVICE_RESET);
  }

  /** DEVICE_FEATURE with a whole struct vfio_device_feature; resolves with the reply payload. */
  async feature(bytes: Uint8Array): Promise<Buffer> {
    check(bytes.length >= VFIO_DEVICE_FEATURE_SIZE, 'EINVAL', 'short vfio_device_feature');
    return (await this.request(VFIO_USER_DEVICE_FEATURE, bytes)).payload;
  }

  async migDataRead(size: number): Promise<Buffer> {
    const { payload } = await this.request(VFIO_USER_MIG_DATA_READ, encodeMigDataRead(size));
    return decodeMigDataReadReply(payload, size);
  }

  async migDataWrite(data: Uint8Array): Promise<void> {
    await this.request(VFIO_USER_MIG_DATA_WRITE, encodeMigDataWrite(data));
  }

  /** Graceful close: pending output is flushed, then the socket closes. Safe to repeat. */
  close(): Promise<void> {
    this.transport.close();
    return this.#closedPromise;
  }

  /** Abortive close. Safe to repeat. */
  destroy(err?: Error): void {
    this.transport.destroy(err);
  }

  #readable(): void {
    for (;;) {
      const n = this.transport.receive();
      if (n <= 0) return;
      const framer = this.transport.framer;
      for (let item = framer.next(); item !== undefined; item = framer.next()) {
        if (item instanceof FramingError) {
          this.destroy(new VfioError('EPROTO', item.error.message));
          return;
        }
        this.#message(item);
        if (this.#closed) return;
      }
    }
  }

  #message(msg: VfioUserMessage): void {
    const h = msg.header;
    const type = h.flags & VFIO_USER_F_TYPE_MASK;
    if (type === VFIO_USER_F_TYPE_COMMAND) {
      try {
        this.#serve(msg);
      } finally {
        msg.closeFds();
      }
      return;
    }
    const w = this.#waiters.get(h.msgId);
    if (type !== VFIO_USER_F_TYPE_REPLY || w === undefined || w.cmd !== h.cmd) {
      msg.closeFds();
      this.destroy(new VfioError('EPROTO', `unexpected message id ${h.msgId} cmd ${h.cmd}`));
      return;
    }
    this.#waiters.delete(h.msgId);
    if (h.flags & VFIO_USER_F_ERROR) {
      msg.closeFds();
      w.reject(errnoError(h.errorNo, `server answered errno ${h.errorNo}`));
    } else {
      w.resolve({ payload: Buffer.from(msg.payload), fds: msg.takeFds() });
    }
  }

  /** The server's DMA_READ/DMA_WRITE against registered memory; anything else gets EINVAL. */
  #serve(msg: VfioUserMessage): void {
    const h = msg.header;
    try {
      const max = 64 * 1024 * 1024;
      if (h.cmd === VFIO_USER_DMA_READ) {
        const { address, count } = decodeDmaAccess(msg.payload, max);
        const data = Buffer.alloc(count);
        this.#dma(address, data, false);
        this.transport.send([encodeReply(h.msgId, h.cmd, encodeDmaReadReply(address, data, this.#layout))]);
      } else if (h.cmd === VFIO_USER_DMA_WRITE) {
        let address: bigint;
        let data: Buffer;
        if (this.#layout === 'spec') ({ address, data } = decodeDmaWriteRequest(msg.payload, max));
        else {
          check(msg.payload.length >= 16, 'EINVAL', 'short DMA_WRITE');
          address = msg.payload.readBigUInt64LE(0);
          const count = msg.payload.readUInt32LE(8);
          check(msg.payload.length >= 12 + count, 'EINVAL', 'DMA_WRITE data missing');
          data = msg.payload.subarray(12, 12 + count);
        }
        this.#dma(address, data, true);
        this.transport.send([encodeReply(h.msgId, h.cmd, this.#layout === 'spec' ? encodeDmaWriteReply(address, data.length) : undefined)]);
      } else {
        throw new VfioError('EINVAL', `server sent command ${h.cmd}`);
      }
    } catch (err) {
      this.transport.send([encodeErrorReply(h.msgId, h.cmd, VfioError.is(err) ? err.errno : 5)]);
    }
  }

  #dma(address: bigint, data: Uint8Array, write: boolean): void {
    for (const m of this.#memory) {
      const off = address - m.iova;
      if (off >= 0n && off + BigInt(data.length) <= BigInt(m.bytes.length)) {
        const o = Number(off);
        if (write) m.bytes.set(data, o);
        else data.set(m.bytes.subarray(o, o + data.length));
        return;
      }
    }
    throw new VfioError('EFAULT', `DMA to unregistered address 0x${address.toString(16)}`);
  }

  #closedNow(err: Error | undefined): void {
    this.#closed = true;
    this.#closedErr = err ?? new VfioError('ECONNRESET', 'connection closed');
    for (const w of this.#waiters.values()) w.reject(this.#closedErr);
    this.#waiters.clear();
    this.#onClosed();
  }
}

/** Raw bytes of a header, for hand-built messages in tests. */
export function rawHeader(msgId: number, cmd: number, msgSize: number, flags = VFIO_USER_F_TYPE_COMMAND, errorNo = 0): Buffer {
  const b = Buffer.alloc(VFIO_USER_HDR_SIZE);
  writeHeader(b, 0, msgId, cmd, msgSize, flags, errorNo);
  return b;
}
