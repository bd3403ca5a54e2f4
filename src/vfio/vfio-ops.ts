// The driver API: struct vfio_device_ops, vfio_migration_ops and vfio_log_ops of include/linux/vfio.h as
// one typed, frozen table per driver. Errors are thrown as VfioError (the kernel's negative errno).
import type { VfioDevice } from './vfio-device.js';

/** A migration data stream (the kernel's data_fd file) returned on the saving and resuming arcs. */
export interface VfioMigrationFile {
  /** Saving: copies the next bytes of device state into `buf`; returns 0 at the end of the stream. */
  read?(buf: Uint8Array): number;
  /** Resuming: takes the next bytes of device state; returns how many were consumed. */
  write?(buf: Uint8Array): number;
  /** VFIO_MIG_GET_PRECOPY_INFO on a PRE_COPY stream. */
  precopyInfo?(): { initialBytes: bigint; dirtyBytes: bigint };
  /** Called when the user closes the stream: the device lets go of it. */
  release(): void;
}

/** One IOVA range for dirty logging (struct vfio_device_feature_dma_logging_range). */
export interface DmaLoggingRange {
  readonly iova: bigint;
  readonly length: bigint;
}

/** Where logReadAndClear reports dirty pages (the kernel's iova_bitmap). */
export interface DirtyBitmapSink {
  setDirty(iova: bigint, length: bigint): void;
}

export interface VfioDeviceOps<D extends VfioDevice = VfioDevice> {
  /** The driver's name, for logs and the trace. */
  readonly name: string;
  /** Called by allocDevice/initDevice once the core part is set up. Throwing undoes the allocation; release is not called. */
  init?(dev: D): void;
  /** Called on the last put, after the device left its set and freed its index: the last use of the driver's state. */
  release?(dev: D): void;
  /** Called on the first open of the device, under the device set lock. Throwing fails the open. */
  openDevice?(dev: D): void;
  /** Opposite of openDevice: called on the last close, under the device set lock. */
  closeDevice?(dev: D): void;
  /** read(2) on the device file at `pos` (region index in the high bits, VFIO_PCI_OFFSET_SHIFT); returns bytes read. */
  read?(dev: D, buf: Uint8Array, pos: number): number;
  /** write(2) on the device file at `pos`; returns bytes written. */
  write?(dev: D, buf: Uint8Array, pos: number): number;
  /**
   * Region-addressed read (`write` false) or write of [offset, offset + buf.length) of region `index`, for users
   * of the device-file API that name the region instead of a file position (the vfio-user server). The caller
   * has checked the range and the region's READ/WRITE flag against GET_REGION_INFO. Returns bytes moved.
   * Absent: the core calls read/write at the region's GET_REGION_INFO offset.
   */
  regionRw?(dev: D, index: number, offset: number, buf: Uint8Array, write: boolean): number;
  /**
   * Every device ioctl but VFIO_DEVICE_FEATURE: `arg` is the user's buffer (its argsz bytes), updated in place. An
   * ioctl that sleeps (waits for hardware) calls mightSleep() first and returns a promise; only callers that await
   * (VfioProcess.ioctlAsync) reach it.
   */
  ioctl?(dev: D, cmd: number, arg: Uint8Array): number | Promise<number>;
  /** mmap(2) of the device file: which fd and offset back [pos, pos+length) (the fd stays the driver's). */
  mmap?(dev: D, pos: number, length: number, writable: boolean): { fd: number; offset: number };
  /** Called while unregister waits, with count 0, 1, 2, ...: ask users to let go. */
  request?(dev: D, count: number): void;
  /** VFIO_GROUP_GET_DEVICE_FD name matching: > 0 match, 0 no match; absent: match by device name. */
  match?(dev: D, buf: string): number;
  /**
   * match_token_uuid: the VF token given with VFIO_DEVICE_BIND_FLAG_TOKEN at BIND_IOMMUFD (a lowercase UUID), or
   * null when none was given; throws (EACCES, EINVAL) when the device refuses it. Absent: a token is EINVAL.
   */
  matchTokenUuid?(dev: D, uuid: string | null): void;
  /** Emulated-IOMMU devices: the user unmaps [iova, iova+length); unpin anything pinned there before returning. */
  dmaUnmap?(dev: D, iova: bigint, length: bigint): void;
  /** VFIO_DEVICE_FEATURE for features the core does not handle; `data` is the payload after the header. */
  deviceFeature?(dev: D, flags: number, data: Uint8Array): number;
  /** vfio_migration_ops.migration_set_state: one arc of the FSM; returns the data stream on saving/resuming arcs. */
  migrationSetState?(dev: D, newState: number): VfioMigrationFile | null;
  /** vfio_migration_ops.migration_get_state. */
  migrationGetState?(dev: D): number;
  /** vfio_migration_ops.migration_get_data_size: estimated STOP_COPY size in bytes. */
  migrationGetDataSize?(dev: D): bigint;
  /** vfio_log_ops.log_start: returns the page size actually used. */
  logStart?(dev: D, ranges: readonly DmaLoggingRange[], pageSize: bigint): bigint;
  /** vfio_log_ops.log_stop. */
  logStop?(dev: D): void;
  /** vfio_log_ops.log_read_and_clear. */
  logReadAndClear?(dev: D, iova: bigint, length: bigint, sink: DirtyBitmapSink): void;
}
