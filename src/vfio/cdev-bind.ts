// The device cdev's iommufd ioctls (drivers/vfio/device_cdev.c): BIND_IOMMUFD opens the device bound to an
// iommufd and blocks the group path (vfio_device_block_group in group.c), ATTACH/DETACH_IOMMUFD_PT move it between
// IOASes; plus vfio_iommufd_get_dev_id() (drivers/vfio/iommufd.c), which PCI hot reset uses for ownership.
import { Errno, VfioError } from '../uapi/errno.js';
import { needArgsz } from '../uapi/codec.js';
import {
  VFIO_DEVICE_ATTACH_IOMMUFD_PT_MINSZ,
  VFIO_DEVICE_ATTACH_PASID,
  VFIO_DEVICE_BIND_FLAG_TOKEN,
  VFIO_DEVICE_BIND_IOMMUFD_MINSZ,
  VFIO_DEVICE_BIND_IOMMUFD_SIZEOF,
  VFIO_DEVICE_DETACH_IOMMUFD_PT_MINSZ,
  VFIO_DEVICE_DETACH_PASID,
  decodeVfioDeviceBindIommufd,
} from '../uapi/iommufd.js';
import type { VfioDeviceFile } from './device-file.js';
import { vfioDfOpen } from './device-file.js';
import type { VfioGroup } from './group.js';
import type { VfioDevice } from './vfio-device.js';
import { opsOf } from './vfio-device.js';
import type { IoctlArg, VfioFdTable } from './vfio-file.js';
import { userBuffer, userView } from './vfio-file.js';
import { IommufdFile } from './iommufd-file.js';

interface CdevBinding {
  readonly ictx: IommufdFile;
  readonly devid: number;
}

/** Devices opened through their cdev and bound (device->cdev_opened, with the iommufd they are bound to). */
const cdevBindings = new WeakMap<VfioDevice, CdevBinding>();

/** vfio_device_cdev_opened(). */
export function vfioDeviceCdevOpened(device: VfioDevice): boolean {
  return cdevBindings.has(device);
}

/** vfio_iommufd_device_ictx(): the iommufd a cdev-opened device is bound to. */
export function vfioIommufdDeviceIctx(device: VfioDevice): IommufdFile | null {
  return cdevBindings.get(device)?.ictx ?? null;
}

/**
 * vfio_iommufd_get_dev_id(): the device's id if it is bound to `ictx`; otherwise -ENOENT when another device of
 * its IOMMU group is (the group is owned by `ictx`), else -ENODEV.
 */
export function vfioIommufdGetDevId(device: VfioDevice, ictx: IommufdFile): number {
  const own = cdevBindings.get(device);
  if (own !== undefined && own.ictx === ictx) return own.devid;
  const group = device.dev?.iommuGroup ?? null;
  if (group === null) return -Errno.ENODEV;
  for (const d of ictx.bound.keys()) if (d.dev?.iommuGroup === group) return -Errno.ENOENT;
  return -Errno.ENODEV;
}

/** vfio_device_block_group(): a cdev bind and the group file exclude each other. */
function blockGroup(group: VfioGroup | null): () => void {
  if (group === null) return () => {};
  if (group.opened) throw new VfioError('EBUSY', `group ${group.id} is open`);
  group.cdevDeviceOpenCnt++;
  let blocked = true;
  return () => {
    if (!blocked) return;
    blocked = false;
    group.cdevDeviceOpenCnt--;
  };
}

/** The 16 bytes of a uuid_t as the lowercase text form (uuid_t is big-endian: the bytes in order). */
function uuidText(b: Uint8Array): string {
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * vfio_df_check_token(): a device without match_token_uuid refuses a token (EINVAL) and needs none; one with it
 * checks the token read from token_uuid_ptr in the caller's memory (EFAULT if unmapped), or its absence.
 */
function vfioDfCheckToken(device: VfioDevice, flags: number, tokenUuidPtr: bigint, table: VfioFdTable): void {
  const match = opsOf(device).matchTokenUuid;
  const given = (flags & VFIO_DEVICE_BIND_FLAG_TOKEN) !== 0;
  if (match === undefined) {
    if (given) throw new VfioError('EINVAL', 'this device takes no VF token');
    return;
  }
  if (!given) {
    match(device, null);
    return;
  }
  const uuid = new Uint8Array(16);
  table.mm.read(tokenUuidPtr, uuid);
  match(device, uuidText(uuid));
}

/**
 * vfio_df_ioctl_bind_iommufd(): EINVAL for argsz, flags, a negative fd, a group-path fd or a second bind; EBUSY
 * while the group file is open; EBADF for an fd that is not open. Writes out_devid.
 */
export function vfioDfIoctlBindIommufd(df: VfioDeviceFile, table: VfioFdTable, arg: IoctlArg): number {
  const buf = userBuffer(arg, VFIO_DEVICE_BIND_IOMMUFD_MINSZ, 'vfio_device_bind_iommufd');
  const dv = userView(buf);
  if (dv.getUint32(4, true) & VFIO_DEVICE_BIND_FLAG_TOKEN && dv.getUint32(0, true) >= VFIO_DEVICE_BIND_IOMMUFD_SIZEOF) {
    userBuffer(buf, VFIO_DEVICE_BIND_IOMMUFD_SIZEOF, 'vfio_device_bind_iommufd+token');
  }
  const bind = decodeVfioDeviceBindIommufd(buf);
  if (df.viaGroup) throw new VfioError('EINVAL', 'BIND_IOMMUFD is for cdev fds only');
  if (df.released) throw new VfioError('EBADF', 'device file is closed');
  const device = df.device;
  const unblock = blockGroup(device.group);
  try {
    if (df.accessGranted) throw new VfioError('EINVAL', 'device is already bound');
    vfioDfCheckToken(device, bind.flags, bind.tokenUuidPtr, table);
    const file = table.fget(bind.iommufd);
    // An open fd that is not an iommufd: EBADFD, as iommufd_ctx_from_fd.
    if (!(file instanceof IommufdFile)) throw new VfioError('EBADFD', `fd ${bind.iommufd} is not an iommufd`);
    let devid = 0;
    df.binding = {
      use: (d) => {
        devid = file.bindDevice(d);
      },
      unuse: (d) => {
        // vfio_df_unbind_iommufd(): after closeDevice.
        cdevBindings.delete(d);
        file.unbindDevice(d);
        unblock();
      },
    };
    vfioDfOpen(df);
    dv.setUint32(12, devid, true);
    df.devid = devid;
    df.accessGranted = true;
    cdevBindings.set(device, { ictx: file, devid });
    return 0;
  } catch (err) {
    if (!df.accessGranted) df.binding = null;
    unblock();
    throw err;
  }
}

/** The bind a cdev file made; BIND_IOMMUFD granted access, so it exists. */
function bindingOf(df: VfioDeviceFile): CdevBinding {
  const b = cdevBindings.get(df.device);
  if (b === undefined) throw new Error('cdev file with access but no iommufd bind');
  return b;
}

/** The argsz/flags framing of ATTACH/DETACH_IOMMUFD_PT; PASID is EOPNOTSUPP (no driver here has pasid ops). */
function ptFrame(arg: IoctlArg, minsz: number, pasidFlag: number, what: string): DataView {
  const dv = userView(userBuffer(arg, minsz, what));
  needArgsz(dv.getUint32(0, true), minsz, what);
  const flags = dv.getUint32(4, true);
  if ((flags & ~pasidFlag) !== 0) throw new VfioError('EINVAL', `${what}: unknown flags`);
  if (flags & pasidFlag) throw new VfioError('EOPNOTSUPP', `${what}: PASID attach is not supported`);
  return dv;
}

/** vfio_df_ioctl_attach_pt(): attaches (or moves) the device to IOAS `pt_id`; ENOENT if there is no such IOAS. */
export function vfioDfIoctlAttachPt(df: VfioDeviceFile, arg: IoctlArg): number {
  const dv = ptFrame(arg, VFIO_DEVICE_ATTACH_IOMMUFD_PT_MINSZ, VFIO_DEVICE_ATTACH_PASID, 'vfio_device_attach_iommufd_pt');
  const b = bindingOf(df);
  const ptId = dv.getUint32(8, true);
  df.device.devSet?.lock.withLock(() => b.ictx.ctx.attach(b.devid, ptId), 'attach_pt');
  dv.setUint32(8, ptId, true);
  return 0;
}

/** vfio_df_ioctl_detach_pt(). */
export function vfioDfIoctlDetachPt(df: VfioDeviceFile, arg: IoctlArg): number {
  ptFrame(arg, VFIO_DEVICE_DETACH_IOMMUFD_PT_MINSZ, VFIO_DEVICE_DETACH_PASID, 'vfio_device_detach_iommufd_pt');
  const b = bindingOf(df);
  df.device.devSet?.lock.withLock(() => b.ictx.ctx.detach(b.devid), 'detach_pt');
  return 0;
}
