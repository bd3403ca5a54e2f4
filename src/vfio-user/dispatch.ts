// Dispatch of one received vfio-user message on a server connection: replies to the server's own requests go to
// them, commands through the command table after the checks every command shares, failures become error replies
// (libvfio-user lib/libvfio-user.c process_request/handle_request; vfio-user.rst "Error handling").
import { Errno, VfioError, errnoName } from '../uapi/errno.js';
import type { Connection } from './connection.js';
import type { CommandTable } from './handler.js';
import {
  VFIO_USER_F_TYPE_COMMAND,
  VFIO_USER_F_TYPE_MASK,
  VFIO_USER_VERSION,
  vfioUserCommandName,
  type VfioUserMessage,
} from './protocol/index.js';

/**
 * Handles `msg` on `conn`. A VfioError from a handler is answered with its errno and the connection goes on;
 * any other throw is a bug, answered with EIO (the server and the connection live on). Every fd the message
 * carried and the handler did not take is closed here.
 */
export function dispatchMessage(conn: Connection, handlers: CommandTable, msg: VfioUserMessage): void {
  const h = msg.header;
  try {
    if ((h.flags & VFIO_USER_F_TYPE_MASK) !== VFIO_USER_F_TYPE_COMMAND) {
      if (!conn.settleRequest(msg)) {
        // A reply to nothing we asked: the peer is confused; answer EINVAL and drop it (libvfio-user closes).
        conn.replyError(h, Errno.EINVAL);
        conn.close();
      }
      return;
    }
    if (conn.negotiated === undefined && h.cmd !== VFIO_USER_VERSION) {
      // libvfio-user: the first message must be VERSION; anything else fails the attach.
      conn.replyError(h, Errno.EINVAL);
      conn.close();
      return;
    }
    const handler = handlers[h.cmd];
    if (handler === undefined) throw new VfioError('EINVAL', `unknown command ${h.cmd}`);
    if (conn.negotiated !== undefined && msg.fdCount > conn.negotiated.server.maxMsgFds) {
      throw new VfioError('EINVAL', `${msg.fdCount} fds above max_msg_fds`);
    }
    if (msg.fdCount > 0 && !handler.takesFds) throw new VfioError('EINVAL', `${vfioUserCommandName(h.cmd)} takes no fds`);
    handler.handle(conn, msg);
  } catch (err) {
    if (VfioError.is(err)) {
      conn.logger.debug({ conn: conn.id, cmd: vfioUserCommandName(h.cmd), errno: errnoName(err.errno), err: err.message }, 'vfio-user: command failed');
      conn.replyError(h, err.errno);
    } else {
      // A bug in a handler or a driver: answer EIO and keep the server (and this connection) alive.
      conn.logger.error({ conn: conn.id, cmd: vfioUserCommandName(h.cmd), err: String(err) }, 'vfio-user: handler threw');
      conn.replyError(h, Errno.EIO);
    }
  } finally {
    msg.closeFds(); // every fd a handler did not take is closed here
  }
}
