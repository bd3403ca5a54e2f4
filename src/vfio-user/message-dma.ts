// DMA to memory a vfio-user client shares without an fd: the server asks for it with DMA_READ/DMA_WRITE
// messages (vfio-user.rst "VFIO_USER_DMA_READ", "VFIO_USER_DMA_WRITE"; QEMU hw/vfio-user/pci.c).
import { VfioError, check } from '../uapi/errno.js';
import type { DmaBacking } from '../vfio/dma-space.js';
import { vfioDmaRw } from '../vfio/dma-access.js';
import type { Connection } from './connection.js';
import {
  VFIO_USER_DMA_READ,
  VFIO_USER_DMA_WRITE,
  checkDmaWriteReply,
  decodeDmaReadReply,
  encodeDmaReadRequest,
  encodeDmaWriteRequest,
} from './protocol/index.js';

/**
 * The process-side stand-in for message-backed memory: it reserves the range in the process and the IOAS,
 * but the CPU cannot touch it synchronously, so the synchronous DMA path fails with EFAULT (as an access to
 * an unpopulated user address would); vfioDmaRwAsync reaches it through messages.
 */
export class MessageBacking implements DmaBacking {
  constructor(readonly size: number) {}

  read(): void {
    throw new VfioError('EFAULT', 'memory shared by messages: use vfioDmaRwAsync');
  }

  write(): void {
    throw new VfioError('EFAULT', 'memory shared by messages: use vfioDmaRwAsync');
  }
}

/**
 * The connection's asynchronous DMA path: message-backed ranges go to the client as DMA_READ/DMA_WRITE in
 * chunks of the client's max_data_xfer_size; everything else takes the synchronous path.
 */
export async function connectionDmaRw(conn: Connection, iova: bigint, buf: Uint8Array, write: boolean): Promise<void> {
  const user = conn.user;
  check(user !== undefined, 'ECONNRESET', 'client is gone');
  const m = user.findMapping(iova, BigInt(buf.length));
  if (m === undefined || !(m.backing instanceof MessageBacking)) {
    vfioDmaRw(conn.device, iova, buf, write);
    return;
  }
  check(write ? m.writable : m.readable, 'EPERM', `DMA ${write ? 'write to' : 'read from'} a mapping without that permission`);
  const chunk = conn.negotiated?.client.maxDataXferSize ?? 1024 * 1024;
  const layout = conn.dmaLayout;
  for (let pos = 0; pos < buf.length; pos += chunk) {
    const count = Math.min(chunk, buf.length - pos);
    const address = iova + BigInt(pos);
    if (write) {
      const reply = await conn.request(VFIO_USER_DMA_WRITE, encodeDmaWriteRequest(address, buf.subarray(pos, pos + count), layout));
      checkDmaWriteReply(reply, address, count, layout);
    } else {
      const reply = await conn.request(VFIO_USER_DMA_READ, encodeDmaReadRequest(address, count));
      buf.set(decodeDmaReadReply(reply, address, count, layout), pos);
    }
  }
}
