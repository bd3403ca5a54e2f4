// DEVICE_GET_INFO, GET_REGION_INFO, GET_REGION_IO_FDS, GET_IRQ_INFO, SET_IRQS and DEVICE_RESET: each is the
// device fd's ioctl in the connection's process, framed for the wire (vfio-user.rst; libvfio-user
// lib/libvfio-user.c handle_device_*; QEMU hw/vfio-user/device.c).
import * as native from '../native/index.js';
import { VfioError, check } from '../uapi/errno.js';
import {
  VFIO_DEVICE_GET_INFO,
  VFIO_DEVICE_GET_IRQ_INFO,
  VFIO_DEVICE_GET_REGION_INFO,
  VFIO_DEVICE_RESET,
  VFIO_DEVICE_SET_IRQS,
} from '../uapi/ioctl.js';
import { VFIO_DEVICE_INFO_SIZEOF, encodeVfioDeviceInfo } from '../uapi/device-info.js';
import { VFIO_IRQ_INFO_SIZEOF, encodeVfioIrqInfo } from '../uapi/irq-info.js';
import { VFIO_REGION_INFO_FLAG_MMAP, VFIO_REGION_INFO_FLAG_WRITE, decodeVfioRegionInfo, encodeVfioRegionInfo } from '../uapi/region-info.js';
import type { CommandHandler } from './handler.js';
import {
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_USER_DEVICE_GET_INFO,
  VFIO_USER_DEVICE_GET_IRQ_INFO,
  VFIO_USER_DEVICE_GET_REGION_INFO,
  VFIO_USER_DEVICE_GET_REGION_IO_FDS,
  VFIO_USER_DEVICE_RESET,
  VFIO_USER_DEVICE_SET_IRQS,
  decodeDeviceInfoRequest,
  decodeIrqInfoRequest,
  decodeIrqSet,
  decodeRegionInfoRequest,
  decodeRegionIoFdsRequest,
  encodeRegionIoFdsReply,
  frameDeviceInfoReply,
  frameIrqInfoReply,
  frameRegionInfoReply,
  irqSetToIoctl,
} from './protocol/index.js';

/** Largest region-info reply (struct + capability chain) we build. */
const MAX_REGION_INFO = 64 * 1024;
/** More vectors than any index has (MSI-X allows 2048): refused before allocating a huge ioctl buffer. */
const MAX_IRQ_COUNT = 4096;

export const deviceHandlers: ReadonlyMap<number, CommandHandler> = new Map<number, CommandHandler>([
  [
    VFIO_USER_DEVICE_GET_INFO,
    {
      takesFds: false,
      handle(conn, msg) {
        decodeDeviceInfoRequest(msg.payload);
        const info = encodeVfioDeviceInfo({ argsz: VFIO_DEVICE_INFO_SIZEOF, flags: 0, numRegions: 0, numIrqs: 0, capOffset: 0 });
        conn.du.proc.ioctl(conn.du.deviceFd, VFIO_DEVICE_GET_INFO, info);
        conn.reply(msg, frameDeviceInfoReply(info));
      },
    },
  ],
  [
    VFIO_USER_DEVICE_GET_REGION_INFO,
    {
      takesFds: false,
      handle(conn, msg) {
        const req = decodeRegionInfoRequest(msg.payload);
        const du = conn.du;
        // The ioctl sees the client's argsz, so the kernel's capability-chain rule decides what fits.
        const argsz = Math.min(req.argsz, MAX_REGION_INFO);
        const info = encodeVfioRegionInfo({ argsz, flags: 0, index: req.index, capOffset: 0, size: 0n, offset: 0n }, new Uint8Array(argsz));
        du.proc.ioctl(du.deviceFd, VFIO_DEVICE_GET_REGION_INFO, info);
        const reply = frameRegionInfoReply(info, req.argsz);
        const { flags, size, offset } = decodeVfioRegionInfo(info);
        const mmap = du.proc.mmap;
        if ((flags & VFIO_REGION_INFO_FLAG_MMAP) !== 0 && size > 0n && mmap !== undefined) {
          // The spec: the region's fd comes with the reply and `offset` becomes the offset to mmap in it.
          let backing: { fd: number; offset: number } | null = null;
          try {
            backing = mmap.call(du.proc, du.deviceFd, Number(offset), Number(size), (flags & VFIO_REGION_INFO_FLAG_WRITE) !== 0);
          } catch (err) {
            // Only parts of the region may be mapped (sparse areas, e.g. a vGPU's slice of its GPU's aperture): its
            // fd would reach what the client may not see. The region is served by messages instead.
            if (!VfioError.is(err, 'EINVAL')) throw err;
            reply.writeUInt32LE((flags & ~VFIO_REGION_INFO_FLAG_MMAP) >>> 0, 4);
          }
          if (backing !== null) {
            reply.writeBigUInt64LE(BigInt(backing.offset), 24);
            conn.reply(msg, reply, [backing.fd]); // the fd stays the device's: the client gets its own copy
            return;
          }
        }
        conn.reply(msg, reply);
      },
    },
  ],
  [
    VFIO_USER_DEVICE_GET_REGION_IO_FDS,
    {
      takesFds: false,
      handle(conn, msg) {
        const req = decodeRegionIoFdsRequest(msg.payload);
        conn.du.region(req.index); // EINVAL for a region the device does not have
        // No ioeventfds: every region access comes as a message.
        conn.reply(msg, encodeRegionIoFdsReply(req.index, [], req.argsz));
      },
    },
  ],
  [
    VFIO_USER_DEVICE_GET_IRQ_INFO,
    {
      takesFds: false,
      handle(conn, msg) {
        const req = decodeIrqInfoRequest(msg.payload);
        const info = encodeVfioIrqInfo({ argsz: VFIO_IRQ_INFO_SIZEOF, flags: 0, index: req.index, count: 0 });
        conn.du.proc.ioctl(conn.du.deviceFd, VFIO_DEVICE_GET_IRQ_INFO, info);
        conn.reply(msg, frameIrqInfoReply(info));
      },
    },
  ],
  [
    VFIO_USER_DEVICE_SET_IRQS,
    {
      takesFds: true,
      handle(conn, msg) {
        const req = decodeIrqSet(msg.payload, msg.fdCount);
        check(req.count <= MAX_IRQ_COUNT || (req.flags & VFIO_IRQ_SET_DATA_EVENTFD) === 0, 'EINVAL', `SET_IRQS count ${req.count}`);
        const fds = msg.takeFds();
        try {
          conn.du.proc.ioctl(conn.du.deviceFd, VFIO_DEVICE_SET_IRQS, irqSetToIoctl(req, fds));
        } finally {
          // The driver took its own references (eventfd_ctx_fdget); ours go now.
          for (const fd of fds) native.close(fd);
        }
        conn.reply(msg);
      },
    },
  ],
  [
    VFIO_USER_DEVICE_RESET,
    {
      takesFds: false,
      handle(conn, msg) {
        conn.du.proc.ioctl(conn.du.deviceFd, VFIO_DEVICE_RESET);
        conn.reply(msg);
      },
    },
  ],
]);
