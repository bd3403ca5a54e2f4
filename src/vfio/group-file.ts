// The group file /dev/vfio/N (drivers/vfio/group.c vfio_group_fops): exclusive open, GET_STATUS, SET/UNSET_CONTAINER
// (a type1 container or an iommufd in its VFIO compat role) and GET_DEVICE_FD.
import type { Host } from '../base/host.js';
import { VfioError } from '../uapi/errno.js';
import {
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_GROUP_GET_STATUS,
  VFIO_GROUP_SET_CONTAINER,
  VFIO_GROUP_UNSET_CONTAINER,
} from '../uapi/ioctl.js';
import { VFIO_GROUP_FLAGS_CONTAINER_SET, VFIO_GROUP_FLAGS_VIABLE, VFIO_GROUP_STATUS_MINSZ } from '../uapi/group.js';
import { needArgsz } from '../uapi/codec.js';
import type { DmaUnmapListener } from './iommu-type1-types.js';
import type { VfioContainer } from './container.js';
import { VfioContainerFile, vfioContainerAttachGroup, vfioGroupDetachContainer } from './container.js';
import type { VfioGroupIommu } from './group.js';
import { VfioGroup, vfioDeviceGetFromName } from './group.js';
import { openDeviceFile } from './device-file.js';
import { devicePutRegistration } from './registration-count.js';
import type { VfioDevice } from './vfio-device.js';
import { opsOf } from './vfio-device.js';
import type { IoctlArg, VfioFdTable } from './vfio-file.js';
import { VfioFile, userBuffer, userView } from './vfio-file.js';
import { VfioDeviceFops } from './device-fops.js';
import { IommufdFile } from './iommufd-file.js';

/** strndup_user()'s limit on the device name. */
const PAGE_SIZE = 4096;

/** The type1 container a group was set to (group->container, group->container_users). */
class GroupContainerAttachment implements VfioGroupIommu {
  /** container_users: 1 for the attachment, one per open device of the group. */
  users = 1;
  private readonly listeners = new Map<VfioDevice, DmaUnmapListener>();

  constructor(
    readonly group: VfioGroup,
    readonly container: VfioContainer,
  ) {}

  /** vfio_device_group_use_iommu(): the device reaches user memory through the container's type1. */
  use(device: VfioDevice): void {
    const iommu = this.container.iommu;
    if (iommu === null) throw new VfioError('EINVAL', 'container has no IOMMU');
    this.users++;
    const group = this.group;
    device.dmaAccess = {
      dmaRw: (iova, buf, write) => iommu.dmaRw(iova, buf, write),
      dmaSegments: (iova, length, write) => iommu.dmaSegments(iova, length, write),
      pinPages: (iova, npage, prot) => void iommu.pinPages(iova, npage, prot, group),
      unpinPages: (iova, npage) => iommu.unpinPages(iova, npage),
    };
    // vfio_device_container_register(): only devices with dma_unmap hear about unmaps.
    const dmaUnmap = opsOf(device).dmaUnmap;
    if (dmaUnmap !== undefined) {
      const listener: DmaUnmapListener = { dmaUnmap: (iova, length) => dmaUnmap(device, iova, length) };
      this.listeners.set(device, listener);
      iommu.registerDevice(listener);
    }
  }

  /** vfio_device_group_unuse_iommu(). */
  unuse(device: VfioDevice): void {
    const listener = this.listeners.get(device);
    if (listener !== undefined) {
      this.listeners.delete(device);
      this.container.iommu?.unregisterDevice(listener);
    }
    device.dmaAccess = null;
    this.users--;
  }

  /** vfio_group_detach_container(). */
  release(): void {
    if (this.group.iommu === this) this.group.iommu = null;
    vfioGroupDetachContainer(this.container, this.group);
  }
}

/** An iommufd set as the group's container (group->iommufd): devices bind to it and attach to its compat IOAS. */
class GroupIommufdAttachment implements VfioGroupIommu {
  constructor(
    readonly group: VfioGroup,
    /** Holds a reference on the iommufd file until released. */
    readonly ictx: IommufdFile,
    readonly ioasId: number,
  ) {}

  /** vfio_df_iommufd_bind() + attach to the compat IOAS (vfio_iommufd_compat_attach_ioas). */
  use(device: VfioDevice): void {
    const devid = this.ictx.bindDevice(device);
    try {
      this.ictx.ctx.attach(devid, this.ioasId);
    } catch (err) {
      this.ictx.unbindDevice(device);
      throw err;
    }
  }

  unuse(device: VfioDevice): void {
    this.ictx.unbindDevice(device);
  }

  release(): void {
    if (this.group.iommu === this) this.group.iommu = null;
    this.ictx.put();
  }
}

/** vfio_group_fops_open(): ENODEV once the group lost its devices, EBUSY if open or a device is cdev-bound. */
export function vfioGroupFopsOpen(host: Host, path: string): VfioGroupFile {
  const group = host.devfs.get(path, VfioGroup);
  if (group.drivers === 0 || group.dead) throw new VfioError('ENODEV', `${path}: group is going away`);
  if (group.opened) throw new VfioError('EBUSY', `${path} is already open`);
  if (group.cdevDeviceOpenCnt > 0) throw new VfioError('EBUSY', `${path}: a device of the group is bound through its cdev`);
  group.opened = true;
  return new VfioGroupFile(group);
}

/** An open /dev/vfio/N. Device fds it hands out hold a reference, so it is released after the last of them. */
export class VfioGroupFile extends VfioFile {
  readonly kind = 'group';

  constructor(readonly group: VfioGroup) {
    super(`group ${group.id} file`);
  }

  override ioctl(table: VfioFdTable, cmd: number, arg: IoctlArg): number {
    switch (cmd) {
      case VFIO_GROUP_GET_DEVICE_FD:
        return this.getDeviceFd(table, arg);
      case VFIO_GROUP_GET_STATUS:
        return this.getStatus(arg);
      case VFIO_GROUP_SET_CONTAINER:
        return this.setContainer(table, arg);
      case VFIO_GROUP_UNSET_CONTAINER:
        return this.unsetContainer();
      default:
        throw new VfioError('ENOTTY', `group: unknown ioctl 0x${cmd.toString(16)}`);
    }
  }

  /** vfio_group_ioctl_get_status(). */
  private getStatus(arg: IoctlArg): number {
    const buf = userBuffer(arg, VFIO_GROUP_STATUS_MINSZ, 'vfio_group_status');
    const dv = userView(buf);
    needArgsz(dv.getUint32(0, true), VFIO_GROUP_STATUS_MINSZ, 'vfio_group_status');
    if (this.group.dead) throw new VfioError('ENODEV', 'group has no IOMMU group any more');
    // DMA ownership is not modelled: a group nobody set a container on is always viable.
    const flags = this.group.iommu !== null ? VFIO_GROUP_FLAGS_CONTAINER_SET | VFIO_GROUP_FLAGS_VIABLE : VFIO_GROUP_FLAGS_VIABLE;
    dv.setUint32(4, flags, true);
    return 0;
  }

  /** vfio_group_ioctl_set_container(): `arg` points at an int container (or iommufd) fd. */
  private setContainer(table: VfioFdTable, arg: IoctlArg): number {
    const fd = userView(userBuffer(arg, 4, 'container fd')).getInt32(0, true);
    const file = table.fget(fd);
    const group = this.group;
    if (group.iommu !== null) throw new VfioError('EINVAL', 'group already has a container');
    if (group.dead) throw new VfioError('ENODEV', 'group has no IOMMU group any more');
    if (file instanceof VfioContainerFile) {
      vfioContainerAttachGroup(file.container, group);
      group.iommu = new GroupContainerAttachment(group, file.container);
      return 0;
    }
    if (file instanceof IommufdFile) {
      const ioasId = file.compatIoasCreate();
      group.iommu = new GroupIommufdAttachment(group, file.get(), ioasId);
      return 0;
    }
    // The fd is open but not recognized: EBADFD, as vfio_group_ioctl_set_container.
    throw new VfioError('EBADFD', `fd ${fd} is neither a container nor an iommufd`);
  }

  /** vfio_group_ioctl_unset_container(): EINVAL without a container, EBUSY while a device of the group is open. */
  private unsetContainer(): number {
    const iommu = this.group.iommu;
    if (iommu === null) throw new VfioError('EINVAL', 'group has no container');
    if (iommu instanceof GroupContainerAttachment && iommu.users !== 1) {
      throw new VfioError('EBUSY', 'devices of the group are open');
    }
    iommu.release?.();
    return 0;
  }

  /** vfio_group_ioctl_get_device_fd(): `arg` holds the NUL-terminated device name. */
  private getDeviceFd(table: VfioFdTable, arg: IoctlArg): number {
    const name = strndupUser(arg, PAGE_SIZE);
    const device = vfioDeviceGetFromName(this.group, name);
    let df;
    try {
      // vfio_df_group_open(): a container (or iommufd) must be set, and a container needs its IOMMU.
      const iommu = this.group.iommu;
      if (iommu === null) throw new VfioError('EINVAL', 'group has no container');
      if (iommu instanceof GroupContainerAttachment && iommu.container.iommu === null) {
        throw new VfioError('EINVAL', 'container has no IOMMU set');
      }
      if (!(iommu instanceof GroupContainerAttachment || iommu instanceof GroupIommufdAttachment)) {
        throw new Error('group iommu set by someone else');
      }
      df = openDeviceFile(device, iommu);
    } finally {
      // Balances vfioDeviceGetFromName: the open file took its own registration reference.
      devicePutRegistration(device);
    }
    // The device fd keeps this group file open (vfio_group_use_container's get_file).
    return table.fdInstall(new VfioDeviceFops(df, this.get()));
  }

  /** vfio_group_has_dev(): the group file owns the devices of its group. */
  override hasDev(device: VfioDevice): boolean {
    return device.group === this.group;
  }

  /** vfio_group_fops_release(): detaches the container; device fds kept the file until they closed. */
  protected release(): void {
    this.group.iommu?.release?.();
    this.group.opened = false;
  }
}

/** strndup_user(): the string up to its NUL; EINVAL past `max` bytes, EFAULT when the buffer ends first. */
function strndupUser(arg: IoctlArg, max: number): string {
  if (!(arg instanceof Uint8Array)) throw new VfioError('EFAULT', 'no user buffer');
  const n = arg.subarray(0, max).indexOf(0);
  if (n < 0) {
    if (arg.byteLength < max) throw new VfioError('EFAULT', 'name runs past the user buffer');
    throw new VfioError('EINVAL', `name longer than ${max} bytes`);
  }
  return new TextDecoder().decode(arg.subarray(0, n));
}
