// DEVICE_FEATURE, MIG_DATA_READ and MIG_DATA_WRITE (vfio-user.rst "VFIO_USER_DEVICE_FEATURE", "Migration";
// libvfio-user lib/migration.c): the vfio_device_feature goes to the device fd's FEATURE ioctl as is; the
// migration data fd the device returns stays in the connection's process and MIG_DATA_* read/write it.
import { VfioError, check } from '../uapi/errno.js';
import { VFIO_DEVICE_FEATURE } from '../uapi/ioctl.js';
import { vfioUserDmaLoggingReport, vfioUserDmaLoggingStart } from './feature-logging.js';
import type { CommandHandler } from './handler.js';
import {
  VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT,
  VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
  VFIO_DEVICE_FEATURE_GET,
  VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
  VFIO_DEVICE_FEATURE_PROBE,
  VFIO_DEVICE_FEATURE_SET,
  VFIO_DEVICE_FEATURE_SIZE,
  VFIO_USER_DEVICE_FEATURE,
  VFIO_USER_MIG_DATA_READ,
  VFIO_USER_MIG_DATA_WRITE,
  decodeDeviceFeature,
  decodeMigDataRead,
  decodeMigDataWrite,
  encodeDeviceFeatureReply,
  encodeMigDataReadReply,
} from './protocol/index.js';

export const featureHandlers: ReadonlyMap<number, CommandHandler> = new Map<number, CommandHandler>([
  [
    VFIO_USER_DEVICE_FEATURE,
    {
      takesFds: false,
      handle(conn, msg) {
        const req = decodeDeviceFeature(msg.payload);
        const limit = (conn.negotiated?.server.maxDataXferSize ?? 0) + VFIO_DEVICE_FEATURE_SIZE;
        check(req.argsz <= limit, 'EINVAL', `DEVICE_FEATURE argsz ${req.argsz}`);
        if ((req.flags & VFIO_DEVICE_FEATURE_PROBE) === 0) {
          // The two features whose kernel structs hold user pointers carry their data inline here.
          if (req.feature === VFIO_DEVICE_FEATURE_DMA_LOGGING_START && req.flags & VFIO_DEVICE_FEATURE_SET) {
            conn.reply(msg, encodeDeviceFeatureReply(req, vfioUserDmaLoggingStart(conn.du, req.flags, req.data)));
            return;
          }
          if (req.feature === VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT && req.flags & VFIO_DEVICE_FEATURE_GET) {
            const data = vfioUserDmaLoggingReport(conn.du, req.flags, req.data, req.argsz - VFIO_DEVICE_FEATURE_SIZE);
            conn.reply(msg, encodeDeviceFeatureReply(req, data));
            return;
          }
        }
        // The kernel reads and writes the user's buffer up to argsz.
        const arg = Buffer.alloc(Math.max(req.argsz, req.raw.length));
        arg.set(req.raw);
        arg.writeUInt32LE(arg.length, 0);
        const du = conn.du;
        du.proc.ioctl(du.deviceFd, VFIO_DEVICE_FEATURE, arg);
        if (req.feature === VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE && req.flags & VFIO_DEVICE_FEATURE_SET) {
          // struct vfio_device_feature_mig_state {device_state u32, data_fd s32}: the fd is ours to keep.
          const dataFd = arg.length >= 16 ? arg.readInt32LE(12) : -1;
          if (dataFd >= 0) {
            if (du.migrationFd >= 0) du.proc.close(du.migrationFd);
            du.migrationFd = dataFd;
          }
        }
        const isGet = (req.flags & VFIO_DEVICE_FEATURE_GET) !== 0;
        conn.reply(msg, encodeDeviceFeatureReply(req, isGet ? arg.subarray(VFIO_DEVICE_FEATURE_SIZE, req.argsz) : req.data));
      },
    },
  ],
  [
    VFIO_USER_MIG_DATA_READ,
    {
      takesFds: false,
      handle(conn, msg) {
        const req = decodeMigDataRead(msg.payload, conn.negotiated?.server.maxDataXferSize ?? 0);
        const du = conn.du;
        if (du.migrationFd < 0) throw new VfioError('EINVAL', 'no migration data stream');
        const data = Buffer.alloc(req.size);
        const n = du.proc.read(du.migrationFd, data);
        conn.reply(msg, encodeMigDataReadReply(data.subarray(0, n)));
      },
    },
  ],
  [
    VFIO_USER_MIG_DATA_WRITE,
    {
      takesFds: false,
      handle(conn, msg) {
        const req = decodeMigDataWrite(msg.payload, conn.negotiated?.server.maxDataXferSize ?? 0);
        const du = conn.du;
        if (du.migrationFd < 0) throw new VfioError('EINVAL', 'no migration data stream');
        const n = du.proc.write(du.migrationFd, req.data);
        check(n === req.size, 'EINVAL', `device took ${n} of ${req.size} bytes`);
        conn.reply(msg);
      },
    },
  ],
]);
