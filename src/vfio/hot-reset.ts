// PCI hot reset through a device fd (drivers/vfio/pci/vfio_pci_core.c vfio_pci_ioctl_get_pci_hot_reset_info,
// vfio_pci_ioctl_pci_hot_reset, vfio_pci_dev_set_hot_reset). A device takes part by declaring its PCI function
// with vfioPciSetHotResetPort; the vfio-pci driver does that for each function it binds.
import type { Device } from '../base/device.js';
import { Errno, VfioError } from '../uapi/errno.js';
import {
  VFIO_PCI_DEPENDENT_DEVICE_SIZEOF,
  VFIO_PCI_DEVID_NOT_OWNED,
  VFIO_PCI_DEVID_OWNED,
  VFIO_PCI_HOT_RESET_FLAG_DEV_ID,
  VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED,
  VFIO_PCI_HOT_RESET_INFO_MINSZ,
  VFIO_PCI_HOT_RESET_INFO_SIZEOF,
  VFIO_PCI_HOT_RESET_MINSZ,
  VFIO_PCI_HOT_RESET_SIZEOF,
  encodeVfioPciHotResetInfo,
} from '../uapi/reset-info.js';
import type { VfioPciDependentDevice } from '../uapi/reset-info.js';
import type { VfioDevice } from './vfio-device.js';
import type { IoctlArg, VfioFdTable, VfioFile } from './vfio-file.js';
import { copyToUser, userBuffer, userView, vfioFileIsValid } from './vfio-file.js';
import { vfioDeviceCdevOpened, vfioIommufdDeviceIctx, vfioIommufdGetDevId } from './cdev-bind.js';

/** A PCI function's address: pci_domain_nr, bus number, devfn. */
export interface PciFunctionAddress {
  readonly segment: number;
  readonly bus: number;
  readonly devfn: number;
}

/** One function a hot reset affects: its address and its device (for the IOMMU group and the device set). */
export interface PciResetTarget {
  readonly address: PciFunctionAddress;
  readonly dev: Device;
}

/** What a vfio-pci device declares to take part in hot reset (its pdev, slot and bus in the kernel). */
export interface VfioPciHotResetPort {
  readonly address: PciFunctionAddress;
  /**
   * The functions a slot reset (if the slot can reset) or else a bus reset of this function affects, itself
   * included (vfio_pci_for_each_slot_or_bus); null when neither can reset (ENODEV).
   */
  resetScope(): readonly PciResetTarget[] | null;
  /** pci_reset_bus(): resets every function of the scope; called with the device set's lock held. */
  hotReset(): void;
}

const ports = new WeakMap<VfioDevice, VfioPciHotResetPort>();

/** Declares `device` a PCI function that supports hot reset (before it is opened; typically in init). */
export function vfioPciSetHotResetPort(device: VfioDevice, port: VfioPciHotResetPort): void {
  ports.set(device, port);
}

/** The device's declared port, if any: devices without one leave the hot reset ioctls to ops.ioctl. */
export function vfioPciHotResetPort(device: VfioDevice): VfioPciHotResetPort | undefined {
  return ports.get(device);
}

function scopeOf(device: VfioDevice): readonly PciResetTarget[] {
  const scope = ports.get(device)?.resetScope() ?? null;
  if (scope === null) throw new VfioError('ENODEV', 'neither a slot nor a bus reset is possible');
  return scope;
}

/** vfio_find_device_in_devset(). */
function findInDevSet(device: VfioDevice, dev: Device): VfioDevice | undefined {
  return device.devSet?.devices.find((d) => d.dev === dev);
}

/**
 * VFIO_DEVICE_GET_PCI_HOT_RESET_INFO: the affected functions with their IOMMU group ids, or on a cdev-opened device
 * their iommufd device ids (FLAG_DEV_ID; DEV_ID_OWNED while the caller owns them all). ENOSPC with `count` set
 * when argsz has no room for them; EPERM if one has no IOMMU group.
 */
export function vfioPciIoctlGetPciHotResetInfo(device: VfioDevice, arg: IoctlArg): number {
  const buf = userBuffer(arg, VFIO_PCI_HOT_RESET_INFO_MINSZ, 'vfio_pci_hot_reset_info');
  const dv = userView(buf);
  const argsz = dv.getUint32(0, true);
  if (argsz < VFIO_PCI_HOT_RESET_INFO_MINSZ) throw new VfioError('EINVAL', 'vfio_pci_hot_reset_info: argsz too small');
  const scope = scopeOf(device);
  const count = scope.length;
  if (count === 0) throw new VfioError('ERANGE', 'empty reset scope');
  // The header is written back on every path from here (the kernel's `header:` label).
  const header = (flags: number, n: number): void => {
    dv.setUint32(4, flags, true);
    dv.setUint32(8, n, true);
  };
  if (count > Math.floor((argsz - VFIO_PCI_HOT_RESET_INFO_SIZEOF) / VFIO_PCI_DEPENDENT_DEVICE_SIZEOF)) {
    header(0, count);
    throw new VfioError('ENOSPC', `${count} devices do not fit in argsz ${argsz}`);
  }
  const ictx = vfioDeviceCdevOpened(device) ? vfioIommufdDeviceIctx(device) : null;
  let flags = ictx !== null ? VFIO_PCI_HOT_RESET_FLAG_DEV_ID | VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED : 0;
  const devices: VfioPciDependentDevice[] = [];
  for (const t of scope) {
    let id: number;
    if (ictx !== null) {
      const vdev = findInDevSet(device, t.dev);
      const devid = vdev === undefined ? -Errno.ENODEV : vfioIommufdGetDevId(vdev, ictx);
      id = devid > 0 ? devid : devid === -Errno.ENOENT ? VFIO_PCI_DEVID_OWNED : VFIO_PCI_DEVID_NOT_OWNED;
      if (id === VFIO_PCI_DEVID_NOT_OWNED) flags &= ~VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED;
    } else {
      const group = t.dev.iommuGroup;
      if (group === null) {
        header(0, dv.getUint32(8, true));
        throw new VfioError('EPERM', 'an affected function is not isolated (no IOMMU group)');
      }
      id = group.id;
    }
    devices.push({ groupId: id, segment: t.address.segment, bus: t.address.bus, devfn: t.address.devfn });
  }
  const out = encodeVfioPciHotResetInfo({ argsz, flags, count, devices });
  copyToUser(buf, VFIO_PCI_HOT_RESET_INFO_SIZEOF, out.subarray(VFIO_PCI_HOT_RESET_INFO_SIZEOF), 'vfio_pci_hot_reset_info');
  header(flags, count);
  return 0;
}

/**
 * VFIO_DEVICE_PCI_HOT_RESET: group-opened devices pass the group (or device) fds that prove ownership of every
 * member of the device set; cdev-opened devices pass none and must own them through their iommufd. EINVAL for
 * argsz/flags, a count that does not match the open path or exceeds the scope, a non-VFIO fd, a scope that is
 * not all in the device set, or a member the caller does not own; EBADF for an fd that is not open.
 */
export function vfioPciIoctlPciHotReset(device: VfioDevice, table: VfioFdTable, arg: IoctlArg): number {
  const buf = userBuffer(arg, VFIO_PCI_HOT_RESET_MINSZ, 'vfio_pci_hot_reset');
  const dv = userView(buf);
  if (dv.getUint32(0, true) < VFIO_PCI_HOT_RESET_MINSZ || dv.getUint32(4, true) !== 0) {
    throw new VfioError('EINVAL', 'vfio_pci_hot_reset: argsz or flags');
  }
  const count = dv.getUint32(8, true);
  const cdev = vfioDeviceCdevOpened(device);
  if ((count !== 0) === cdev) throw new VfioError('EINVAL', cdev ? 'cdev devices pass no group fds' : 'group fds required');
  const scope = scopeOf(device);
  let owns: (d: VfioDevice) => boolean;
  if (count !== 0) {
    if (count > scope.length) throw new VfioError('EINVAL', `${count} fds for ${scope.length} devices`);
    userBuffer(buf, VFIO_PCI_HOT_RESET_SIZEOF + count * 4, 'vfio_pci_hot_reset group_fds');
    const files: VfioFile[] = [];
    for (let i = 0; i < count; i++) {
      const file = table.fget(dv.getInt32(VFIO_PCI_HOT_RESET_SIZEOF + i * 4, true));
      if (!vfioFileIsValid(file)) throw new VfioError('EINVAL', 'not a VFIO group or device fd');
      files.push(file);
    }
    // vfio_dev_in_groups(): some file given owns the device.
    owns = (d) => files.some((f) => f.hasDev(d));
  } else {
    const ictx = vfioIommufdDeviceIctx(device);
    if (ictx === null) throw new Error('cdev-opened device without an iommufd');
    owns = (d) => {
      const id = vfioIommufdGetDevId(d, ictx);
      return id > 0 || id === -Errno.ENOENT;
    };
  }
  const set = device.devSet;
  if (set === null) throw new Error('device without a device set');
  set.lock.withLock(() => {
    // vfio_pci_dev_set_resettable(): every function the reset hits must be a member of the set.
    for (const t of scope) {
      if (findInDevSet(device, t.dev) === undefined) throw new VfioError('EINVAL', 'an affected function is not in the device set');
    }
    for (const d of set.devices) {
      if (!owns(d)) throw new VfioError('EINVAL', `${d.name} is not owned by the caller`);
    }
    ports.get(device)?.hotReset();
  }, 'pci_hot_reset');
  return 0;
}
