// REGION_READ, REGION_WRITE and REGION_WRITE_MULTI: region-addressed reads and writes of the device fd
// (vfio-user.rst; libvfio-user handle_region_access/is_valid_region_access for the errnos). The access is checked
// here, once, against the region as GET_REGION_INFO reported it; the device file and the driver trust it. This
// is the hot path: the request is read in place, the reply is written into the connection's batch buffer, and the
// device gets cached views (view-cache.ts): nothing is allocated per message.
import { VfioError, check } from '../uapi/errno.js';
import { VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE } from '../uapi/region-info.js';
import type { CommandHandler } from './handler.js';
import type { Connection } from './connection.js';
import {
  VFIO_USER_F_NO_REPLY,
  VFIO_USER_REGION_ACCESS_SIZE,
  VFIO_USER_REGION_READ,
  VFIO_USER_REGION_WRITE,
  VFIO_USER_REGION_WRITE_MULTI,
  VFIO_USER_REGION_WRITE_REPLY_SIZE,
  createRegionAccess,
  decodeRegionWriteMulti,
  encodeRegionWriteMultiReply,
  readRegionAccessAt,
  regionReadReplySize,
  writeRegionReadReply,
  writeRegionWriteReply,
  type RegionAccess,
} from './protocol/index.js';

/* One decoded access reused by every connection: handlers run to completion one at a time. */
const access: RegionAccess = createRegionAccess();

function maxXfer(conn: Connection): number {
  return conn.negotiated?.server.maxDataXferSize ?? 0;
}

/*
 * The errors of checkAccess, built in functions of their own: with the template inline, TurboFan (inlining
 * checkAccess into dispatch) converted its numbers to strings on every message, ahead of the branch that throws.
 */
function outsideRegion(index: number, offset: number, count: number, size: number): VfioError {
  return new VfioError('EINVAL', `access of ${count} at ${offset} outside region ${index} of ${size} bytes`);
}

function notAllowed(index: number, flag: number): VfioError {
  return new VfioError('EINVAL', `region ${index} is not ${flag === VFIO_REGION_INFO_FLAG_READ ? 'readable' : 'writable'}`);
}

/** EINVAL (as libvfio-user) unless [offset, offset + count) is inside region `index` and the region allows `flag`. */
function checkAccess(conn: Connection, index: number, offset: number, count: number, flag: number): void {
  const r = conn.du.region(index);
  if (!(count > 0 && offset + count <= r.size)) throw outsideRegion(index, offset, count, r.size);
  if ((r.flags & flag) === 0) throw notAllowed(index, flag);
}

export const regionHandlers: ReadonlyMap<number, CommandHandler> = new Map<number, CommandHandler>([
  [
    VFIO_USER_REGION_READ,
    {
      takesFds: false,
      handle(conn, msg) {
        const a = readRegionAccessAt(msg.bytes, msg.payloadOffset, msg.payloadLength, false, maxXfer(conn), access);
        checkAccess(conn, a.region, a.offset, a.count, VFIO_REGION_INFO_FLAG_READ);
        const du = conn.du;
        // The device reads straight into the reply.
        const size = regionReadReplySize(a.count);
        const at = conn.reserveReply(size);
        const reply = conn.replyBuffer;
        const dataAt = writeRegionReadReply(reply, at, msg.header.msgId, a);
        const n = du.proc.regionRead(du.deviceFd, a.region, a.offset, conn.view(reply, dataAt, a.count));
        if (msg.header.flags & VFIO_USER_F_NO_REPLY) return;
        if (n !== a.count) {
          // A short read goes back with the count read (QEMU accepts count <= requested).
          a.count = n;
          conn.commitReply(reply, at, writeRegionReadReply(reply, at, msg.header.msgId, a) + n - at);
          return;
        }
        conn.commitReply(reply, at, size);
      },
    },
  ],
  [
    VFIO_USER_REGION_WRITE,
    {
      takesFds: false,
      handle(conn, msg) {
        const p = msg.payloadOffset;
        const a = readRegionAccessAt(msg.bytes, p, msg.payloadLength, true, maxXfer(conn), access);
        checkAccess(conn, a.region, a.offset, a.count, VFIO_REGION_INFO_FLAG_WRITE);
        const du = conn.du;
        du.proc.regionWrite(du.deviceFd, a.region, a.offset, conn.view(msg.bytes, p + VFIO_USER_REGION_ACCESS_SIZE, a.count));
        if (msg.header.flags & VFIO_USER_F_NO_REPLY) return;
        const at = conn.reserveReply(VFIO_USER_REGION_WRITE_REPLY_SIZE);
        const reply = conn.replyBuffer;
        conn.commitReply(reply, at, writeRegionWriteReply(reply, at, msg.header.msgId, a));
      },
    },
  ],
  [
    VFIO_USER_REGION_WRITE_MULTI,
    {
      takesFds: false,
      handle(conn, msg) {
        check(conn.negotiated?.server.writeMultiple === true, 'EINVAL', 'write_multiple was not negotiated');
        const writes = decodeRegionWriteMulti(msg.payload);
        const du = conn.du;
        // Validate all first, so a bad entry applies none of them.
        for (const w of writes) checkAccess(conn, w.region, w.offset, w.count, VFIO_REGION_INFO_FLAG_WRITE);
        for (const w of writes) du.proc.regionWrite(du.deviceFd, w.region, w.offset, w.data);
        conn.reply(msg, encodeRegionWriteMultiReply(writes.length));
      },
    },
  ],
]);
