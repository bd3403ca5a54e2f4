// REGION_READ, REGION_WRITE and REGION_WRITE_MULTI: pread/pwrite on the device fd at the region's offset
// (vfio-user.rst; libvfio-user handle_region_access/is_valid_region_access for the errnos). This is the
// hot path: the reply is written into the connection's batch buffer and nothing else is allocated but views.
import { check } from '../uapi/errno.js';
import type { CommandHandler } from './handler.js';
import type { Connection } from './connection.js';
import {
  VFIO_USER_F_NO_REPLY,
  VFIO_USER_REGION_ACCESS_SIZE,
  VFIO_USER_REGION_READ,
  VFIO_USER_REGION_WRITE,
  VFIO_USER_REGION_WRITE_MULTI,
  createRegionAccess,
  decodeRegionWriteMulti,
  encodeRegionWriteMultiReply,
  readRegionAccess,
  regionReadReplySize,
  writeRegionReadReply,
  writeRegionWriteReply,
  type RegionAccess,
} from './protocol/index.js';
import type { RegionEntry } from './device-user.js';

/* One decoded access reused by every connection: handlers run to completion one at a time. */
const access: RegionAccess = createRegionAccess();

function maxXfer(conn: Connection): number {
  return conn.negotiated?.server.maxDataXferSize ?? 0;
}

/** The region, with the access inside it (EINVAL otherwise, as libvfio-user). */
function regionFor(conn: Connection, index: number, offset: number, count: number): RegionEntry {
  const r = conn.du.region(index);
  check(count > 0 && offset + count <= r.size, 'EINVAL', `access of ${count} at ${offset} outside region ${index} of ${r.size} bytes`);
  return r;
}

export const regionHandlers: ReadonlyMap<number, CommandHandler> = new Map<number, CommandHandler>([
  [
    VFIO_USER_REGION_READ,
    {
      takesFds: false,
      handle(conn, msg) {
        const a = readRegionAccess(msg.payload, false, maxXfer(conn), access);
        const r = regionFor(conn, a.region, a.offset, a.count);
        const du = conn.du;
        const reply = conn.allocReply(regionReadReplySize(a.count));
        const dataAt = writeRegionReadReply(reply, 0, msg.header.msgId, a);
        const n = du.proc.pread(du.deviceFd, reply.subarray(dataAt), r.offset + a.offset);
        if (msg.header.flags & VFIO_USER_F_NO_REPLY) return;
        if (n !== a.count) {
          // A short read goes back with the count read (QEMU accepts count <= requested).
          a.count = n;
          conn.queue(reply.subarray(0, writeRegionReadReply(reply, 0, msg.header.msgId, a) + n));
          return;
        }
        conn.queue(reply);
      },
    },
  ],
  [
    VFIO_USER_REGION_WRITE,
    {
      takesFds: false,
      handle(conn, msg) {
        const a = readRegionAccess(msg.payload, true, maxXfer(conn), access);
        const r = regionFor(conn, a.region, a.offset, a.count);
        const du = conn.du;
        du.proc.pwrite(du.deviceFd, msg.payload.subarray(VFIO_USER_REGION_ACCESS_SIZE), r.offset + a.offset);
        if (msg.header.flags & VFIO_USER_F_NO_REPLY) return;
        const reply = conn.allocReply(32);
        writeRegionWriteReply(reply, 0, msg.header.msgId, a);
        conn.queue(reply);
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
        const regions = writes.map((w) => regionFor(conn, w.region, w.offset, w.count));
        writes.forEach((w, i) => du.proc.pwrite(du.deviceFd, w.data, (regions[i] as RegionEntry).offset + w.offset));
        conn.reply(msg, encodeRegionWriteMultiReply(writes.length));
      },
    },
  ],
]);
