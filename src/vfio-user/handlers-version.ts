// VFIO_USER_VERSION: negotiation, then the connection becomes a user of its device (vfio-user.rst
// "VFIO_USER_VERSION"; libvfio-user lib/tran.c handle_version/negotiate).
import { VfioError } from '../uapi/errno.js';
import type { CommandHandler } from './handler.js';
import { maxMessageSizeFor, negotiateVersion, VFIO_USER_VERSION } from './protocol/index.js';

export const versionHandlers: ReadonlyMap<number, CommandHandler> = new Map<number, CommandHandler>([
  [
    VFIO_USER_VERSION,
    {
      // VERSION with fds is refused by negotiateVersion (EINVAL, then close) rather than by the dispatcher.
      takesFds: true,
      handle(conn, msg) {
        if (conn.negotiated !== undefined) throw new VfioError('EINVAL', 'VERSION sent twice');
        try {
          const negotiated = negotiateVersion(msg.payload, msg.fdCount, conn.limits);
          // The device opens as this client's process: EBUSY when another client has it.
          conn.openUser();
          conn.negotiated = negotiated;
          conn.transport.framer.setMaxMessageSize(maxMessageSizeFor(negotiated.server.maxDataXferSize));
          conn.reply(msg, negotiated.reply);
        } catch (err) {
          if (!VfioError.is(err)) throw err;
          // A failed negotiation or open ends the connection, as a failed attach does in libvfio-user.
          conn.replyError(msg.header, err.errno);
          conn.close();
        }
      },
    },
  ],
]);
