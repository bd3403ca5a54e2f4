// DEVICE_GET_INFO, GET_REGION_INFO, GET_REGION_IO_FDS, GET_IRQ_INFO, SET_IRQS and DEVICE_RESET: each is the
// device fd's ioctl in the connection's process, framed for the wire (vfio-user.rst; libvfio-user
// lib/libvfio-user.c handle_device_*; QEMU hw/vfio-user/device.c).
import * as native from '../native/index.js';
import { check } from '../uapi/errno.js';
import {
  VFIO_DEVICE_GET_INFO,
  VFIO_DEVICE_GET_IRQ_INFO,
  VFIO_DEVICE_GET_REGION_INFO,
  VFIO_DEVICE_RESET,
  VFIO_DEVICE_SET_IRQS,
} from '../uapi/ioctl.js';
import { VFIO_REGION_INFO_FLAG_MMAP, VFIO_REGION_INFO_FLAG_WRITE } from '../uapi/region-info.js';
import type { CommandHandler } from './handler.js';
import {
  VFIO_IRQ_INFO_SIZE,
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

/** struct vfio_device_info in the kernel: argsz, flags, num_regions, num_irqs, cap_offset, pad. */
const KERNEL_DEVICE_INFO_SIZE = 24;
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
        const info = Buffer.alloc(KERNEL_DEVICE_INFO_SIZE);
        info.writeUInt32LE(KERNEL_DEVICE_INFO_SIZE, 0);
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
        const info = Buffer.alloc(Math.min(req.argsz, MAX_REGION_INFO));
        info.writeUInt32LE(info.length, 0);
        info.writeUInt32LE(req.index, 8);
        du.proc.ioctl(du.deviceFd, VFIO_DEVICE_GET_REGION_INFO, info);
        const reply = frameRegionInfoReply(info, req.argsz);
        const flags = reply.readUInt32LE(4);
        const size = Number(reply.readBigUInt64LE(16));
        const mmap = du.proc.mmap;
        if ((flags & VFIO_REGION_INFO_FLAG_MMAP) !== 0 && size > 0 && mmap !== undefined) {
          // The spec: the region's fd comes with the reply and `offset` becomes the offset to mmap in it.
          const backing = mmap.call(du.proc, du.deviceFd, Number(reply.readBigUInt64LE(24)), size, (flags & VFIO_REGION_INFO_FLAG_WRITE) !== 0);
          reply.writeBigUInt64LE(BigInt(backing.offset), 24);
          conn.reply(msg, reply, [backing.fd]); // the fd stays the device's: the client gets its own copy
          return;
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
        const info = Buffer.alloc(VFIO_IRQ_INFO_SIZE);
        info.writeUInt32LE(VFIO_IRQ_INFO_SIZE, 0);
        info.writeUInt32LE(req.index, 8);
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
