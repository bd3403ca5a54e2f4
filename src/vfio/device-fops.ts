// An open device fd: a file whose f_op is vfio_device_fops (drivers/vfio/vfio_main.c). Its private data is the
// struct vfio_device_file (device-file.ts). ioctl dispatch follows vfio_device_fops_unl_ioctl (BIND_IOMMUFD first,
// then access_granted, the cdev-only ATTACH/DETACH_IOMMUFD_PT, VFIO_DEVICE_FEATURE in the core, PCI hot reset for
// devices that declared a PCI function, the rest to ops.ioctl); read/write/mmap/release go through the device file.
import { VfioError } from '../uapi/errno.js';
import {
  VFIO_DEVICE_ATTACH_IOMMUFD_PT,
  VFIO_DEVICE_BIND_IOMMUFD,
  VFIO_DEVICE_DETACH_IOMMUFD_PT,
  VFIO_DEVICE_FEATURE,
  VFIO_DEVICE_GET_PCI_HOT_RESET_INFO,
  VFIO_DEVICE_PCI_HOT_RESET,
} from '../uapi/ioctl.js';
import type { VfioDeviceFile } from './device-file.js';
import { deviceFileCheckAccess, deviceFileMmap, deviceFileRead, deviceFileRelease, deviceFileWrite } from './device-file.js';
import type { VfioDevice } from './vfio-device.js';
import { opsOf } from './vfio-device.js';
import type { IoctlArg, VfioFdTable } from './vfio-file.js';
import { VfioFile, withCurrentFdTable } from './vfio-file.js';
import { vfioIoctlDeviceFeature } from './device-feature.js';
import { vfioDfIoctlAttachPt, vfioDfIoctlBindIommufd, vfioDfIoctlDetachPt } from './cdev-bind.js';
import { vfioPciHotResetPort, vfioPciIoctlGetPciHotResetInfo, vfioPciIoctlPciHotReset } from './hot-reset.js';

const NO_ARG = new Uint8Array(0);

/** The device fd as the fd table holds it: vfio_device_fops bound to one struct vfio_device_file. */
export class VfioDeviceFops extends VfioFile {
  readonly kind = 'device';
  /** The file position read(2)/write(2) use. */
  private fpos = 0;

  constructor(
    readonly df: VfioDeviceFile,
    /** The group file this fd came from (kept open until this fd closes); null on the cdev path. */
    private readonly groupFile: VfioFile | null,
  ) {
    super(`${df.device.name || 'vfio'} device file`);
  }

  override ioctl(table: VfioFdTable, cmd: number, arg: IoctlArg): number | Promise<number> {
    const df = this.df;
    if (cmd === VFIO_DEVICE_BIND_IOMMUFD) return vfioDfIoctlBindIommufd(df, table, arg);
    deviceFileCheckAccess(df);
    if (!df.viaGroup) {
      if (cmd === VFIO_DEVICE_ATTACH_IOMMUFD_PT) return vfioDfIoctlAttachPt(df, arg);
      if (cmd === VFIO_DEVICE_DETACH_IOMMUFD_PT) return vfioDfIoctlDetachPt(df, arg);
    }
    if (cmd === VFIO_DEVICE_FEATURE) return vfioIoctlDeviceFeature(df.device, table, arg);
    if (vfioPciHotResetPort(df.device) !== undefined) {
      if (cmd === VFIO_DEVICE_GET_PCI_HOT_RESET_INFO) return vfioPciIoctlGetPciHotResetInfo(df.device, arg);
      if (cmd === VFIO_DEVICE_PCI_HOT_RESET) return vfioPciIoctlPciHotReset(df.device, table, arg);
    }
    const ops = opsOf(df.device);
    if (ops.ioctl === undefined) throw new VfioError('EINVAL', 'device has no ioctl');
    const ioctl = ops.ioctl;
    // The calling process is `current` for the driver: an fd it hands out goes into this table.
    return withCurrentFdTable(table, () => ioctl(df.device, cmd, arg instanceof Uint8Array ? arg : NO_ARG));
  }

  override read(buf: Uint8Array, pos: number | null): number {
    const n = deviceFileRead(this.df, buf, pos ?? this.fpos);
    if (pos === null) this.fpos += n;
    return n;
  }

  override write(buf: Uint8Array, pos: number | null): number {
    const n = deviceFileWrite(this.df, buf, pos ?? this.fpos);
    if (pos === null) this.fpos += n;
    return n;
  }

  override mmap(pos: number, length: number, writable: boolean): { fd: number; offset: number } {
    return deviceFileMmap(this.df, pos, length, writable);
  }

  /** vfio_file_has_dev() on a device file: it owns its own device. */
  override hasDev(device: VfioDevice): boolean {
    return this.df.device === device;
  }

  /** vfio_device_fops_release(): closes the device (unbinding a cdev's iommufd), then lets go of the group file. */
  protected release(): void {
    deviceFileRelease(this.df);
    this.groupFile?.put();
  }
}
