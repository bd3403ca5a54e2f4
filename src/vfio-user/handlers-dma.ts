// VFIO_USER_DMA_MAP and VFIO_USER_DMA_UNMAP (vfio-user.rst; libvfio-user lib/dma.c and test_dma_{map,unmap}.py):
// the range is put into the connection's process and mapped in its IOAS: an fd-backed one mmapped when the file
// cannot shrink under us (a sealed memfd) and read through the file otherwise (fd-backing.ts), one without an fd
// as message-backed memory the device reaches by DMA_READ/DMA_WRITE (message-dma.ts).
import * as native from '../native/index.js';
import { ArrayBufferBacking } from '../vfio/dma-space.js';
import { VfioError, check } from '../uapi/errno.js';
import type { CommandHandler } from './handler.js';
import { MessageBacking } from './message-dma.js';
import { FdBacking } from './fd-backing.js';
import type { DeviceUser } from './device-user.js';
import {
  VFIO_DMA_UNMAP_FLAG_ALL,
  VFIO_USER_DEFAULT_MAX_DATA_XFER_SIZE,
  VFIO_USER_DMA_MAP,
  VFIO_USER_DMA_UNMAP,
  VFIO_USER_F_DMA_REGION_READ,
  VFIO_USER_F_DMA_REGION_WRITE,
  decodeDmaMap,
  decodeDmaUnmap,
  encodeDmaUnmapReply,
} from './protocol/index.js';

/** Node cannot hold an external buffer above this; larger fd-backed ranges are refused. */
const MAX_MAPPING = 2 ** 32;

/**
 * Maps [offset, offset + size) of the client's `fd` (taken: closed here or by the mapping) at `iova`. The range must
 * lie inside the file (EINVAL). A memfd sealed against shrinking is mmapped (it cannot fault); any other file is
 * reached through pread/pwrite (FdBacking), so a client that truncates it gets EFAULTs, not a server killed by SIGBUS.
 */
function mapFd(user: DeviceUser, fd: number, iova: bigint, offset: bigint, size: number, prot: { read: boolean; write: boolean }): void {
  let backing: FdBacking | ArrayBufferBacking;
  let release: () => void;
  try {
    check(offset <= BigInt(Number.MAX_SAFE_INTEGER), 'EINVAL', 'DMA_MAP offset');
    const fileSize = fstatSize(fd);
    check(BigInt(fileSize) >= offset + BigInt(size), 'EINVAL', `DMA_MAP of ${size} bytes at offset ${offset} past the end of a ${fileSize}-byte file`);
    if ((getSeals(fd) & native.F_SEAL_SHRINK) === 0) {
      const fb = new FdBacking(fd, Number(offset), size);
      fd = -1; // the backing owns it now
      backing = fb;
      release = () => fb.close();
    } else {
      const ab = mmapFd(fd, Number(offset), size, prot.write);
      backing = new ArrayBufferBacking(new Uint8Array(ab));
      release = () => native.munmap(ab);
    }
  } finally {
    // The mapping keeps the memory; the fd itself is not needed any more (unless FdBacking took it).
    if (fd >= 0) native.close(fd);
  }
  user.dmaMap(iova, BigInt(size), backing, prot, release);
}

/** native calls on a client's fd, with its failure as the EINVAL the client gets. */
function fstatSize(fd: number): number {
  return clientFdCall(() => native.fstatSize(fd), 'fstat');
}

function getSeals(fd: number): number {
  return clientFdCall(() => native.getSeals(fd), 'F_GET_SEALS');
}

function mmapFd(fd: number, offset: number, size: number, writable: boolean): ArrayBuffer {
  return clientFdCall(() => native.mmap(fd, offset, size, writable), 'mmap');
}

function clientFdCall<T>(call: () => T, what: string): T {
  try {
    return call();
  } catch (err) {
    if (native.NativeError.is(err)) throw new VfioError('EINVAL', `${what} of the DMA fd failed: ${err.code}`);
    throw err;
  }
}

export const dmaHandlers: ReadonlyMap<number, CommandHandler> = new Map<number, CommandHandler>([
  [
    VFIO_USER_DMA_MAP,
    {
      takesFds: true,
      handle(conn, msg) {
        const req = decodeDmaMap(msg.payload, msg.fdCount);
        const user = conn.du;
        const maxMaps = conn.negotiated?.server.maxDmaMaps ?? 0;
        check(user.mappingCount < maxMaps, 'ENOSPC', `more than max_dma_maps ${maxMaps} mappings`);
        check(req.size > 0n && req.size <= BigInt(MAX_MAPPING), 'EINVAL', `DMA_MAP size ${req.size}`);
        const prot = { read: (req.flags & VFIO_USER_F_DMA_REGION_READ) !== 0, write: (req.flags & VFIO_USER_F_DMA_REGION_WRITE) !== 0 };
        const size = Number(req.size);
        const fds = msg.takeFds();
        const fd = fds[0];
        if (fd === undefined) {
          const maxDataXferSize = conn.negotiated?.client.maxDataXferSize ?? VFIO_USER_DEFAULT_MAX_DATA_XFER_SIZE;
          const backing = new MessageBacking(conn, { address: req.address, size, prot, maxDataXferSize, layout: conn.dmaLayout });
          user.dmaMap(req.address, req.size, backing, prot);
        } else {
          mapFd(user, fd, req.address, req.offset, size, prot);
        }
        conn.reply(msg);
      },
    },
  ],
  [
    VFIO_USER_DMA_UNMAP,
    {
      takesFds: false,
      handle(conn, msg) {
        const req = decodeDmaUnmap(msg.payload);
        // Dirty tracking goes through DEVICE_FEATURE DMA logging (migration v2), not through unmap.
        check(req.bitmap === undefined, 'EOPNOTSUPP', 'DMA_UNMAP with GET_DIRTY_BITMAP');
        conn.du.dmaUnmap(req.address, req.size, (req.flags & VFIO_DMA_UNMAP_FLAG_ALL) !== 0);
        conn.reply(msg, encodeDmaUnmapReply(req));
      },
    },
  ],
]);
