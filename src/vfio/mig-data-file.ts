// A migration data fd (the data_fd of VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, e.g. mlx5's saving/resuming files in
// drivers/vfio/pci/mlx5/main.c): a stream (no pread/pwrite) carrying the driver's VfioMigrationFile, with
// VFIO_MIG_GET_PRECOPY_INFO (include/uapi/linux/vfio.h) on PRE_COPY saving streams.
import { VfioError } from '../uapi/errno.js';
import { VFIO_MIG_GET_PRECOPY_INFO } from '../uapi/ioctl.js';
import { VFIO_PRECOPY_INFO_MINSZ, VfioDeviceMigState } from '../uapi/migration.js';
import { needArgsz } from '../uapi/codec.js';
import type { VfioDevice } from './vfio-device.js';
import { getVfioDevice, opsOf, putVfioDevice } from './vfio-device.js';
import type { VfioMigrationFile } from './vfio-ops.js';
import type { IoctlArg, VfioFdTable } from './vfio-file.js';
import { VfioFile, userBuffer, userView } from './vfio-file.js';

export class VfioMigDataFile extends VfioFile {
  readonly kind = 'migration';

  constructor(
    /** Held (a device reference) so the driver's stream never outlives its device's memory. */
    readonly device: VfioDevice,
    readonly stream: VfioMigrationFile,
  ) {
    super(`${device.name || 'vfio'} migration stream`);
    getVfioDevice(device);
  }

  /** The saving stream; EINVAL on a resuming stream, ESPIPE for pread (stream_open). */
  override read(buf: Uint8Array, pos: number | null): number {
    if (pos !== null) throw new VfioError('ESPIPE', 'migration stream has no position');
    if (this.stream.read === undefined) throw new VfioError('EINVAL', 'not a saving stream');
    return this.stream.read(buf);
  }

  /** The resuming stream; EINVAL on a saving stream, ESPIPE for pwrite. */
  override write(buf: Uint8Array, pos: number | null): number {
    if (pos !== null) throw new VfioError('ESPIPE', 'migration stream has no position');
    if (this.stream.write === undefined) throw new VfioError('EINVAL', 'not a resuming stream');
    return this.stream.write(buf);
  }

  /**
   * VFIO_MIG_GET_PRECOPY_INFO as the PRE_COPY drivers answer it: ENOTTY for another ioctl or a stream without
   * pre-copy, EFAULT/EINVAL for the struct, EINVAL unless the device is in PRE_COPY or PRE_COPY_P2P.
   */
  override ioctl(_table: VfioFdTable, cmd: number, arg: IoctlArg): number {
    const precopyInfo = this.stream.precopyInfo;
    if (cmd !== VFIO_MIG_GET_PRECOPY_INFO || precopyInfo === undefined) {
      throw new VfioError('ENOTTY', 'not a PRE_COPY migration stream ioctl');
    }
    const buf = userBuffer(arg, VFIO_PRECOPY_INFO_MINSZ, 'vfio_precopy_info');
    const dv = userView(buf);
    needArgsz(dv.getUint32(0, true), VFIO_PRECOPY_INFO_MINSZ, 'vfio_precopy_info');
    const state = opsOf(this.device).migrationGetState?.(this.device);
    if (state !== VfioDeviceMigState.PRE_COPY && state !== VfioDeviceMigState.PRE_COPY_P2P) {
      throw new VfioError('EINVAL', 'device is not in PRE_COPY');
    }
    const info = precopyInfo.call(this.stream);
    dv.setBigUint64(8, info.initialBytes, true);
    dv.setBigUint64(16, info.dirtyBytes, true);
    return 0;
  }

  /** The user closed the stream: the driver lets go of it, then the device reference goes. */
  protected release(): void {
    try {
      this.stream.release();
    } finally {
      putVfioDevice(this.device);
    }
  }
}
