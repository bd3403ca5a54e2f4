// The VFIO container (/dev/vfio/vfio, drivers/vfio/container.c): groups join it with SET_CONTAINER, SET_IOMMU
// opens the type1 IOMMU for them, and every other ioctl passes through to that IOMMU.
import { sanitizer } from '../sanitizer/sanitizer.js';
import { VfioError } from '../uapi/errno.js';
import {
  VFIO_API_VERSION,
  VFIO_CHECK_EXTENSION,
  VFIO_GET_API_VERSION,
  VFIO_SET_IOMMU,
  VFIO_TYPE1_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  VFIO_UNMAP_ALL,
} from '../uapi/ioctl.js';
import type { VfioGroup } from './group.js';
import { VfioIommuType1 } from './iommu-type1.js';
import type { IoctlArg, VfioFdTable } from './vfio-file.js';
import { VfioFile, userInt } from './vfio-file.js';
import { vfioIommuType1Ioctl } from './type1-ioctl.js';

/** struct vfio_container: lives while its file or any attached group holds it (the kernel's kref). */
export class VfioContainer {
  private refs = 1;
  /** group_list, most recently attached first (list_add). */
  readonly groups: VfioGroup[] = [];
  /** The IOMMU driver's data once SET_IOMMU succeeded; null again when the last group leaves. */
  iommu: VfioIommuType1 | null = null;
  /** Set by the first group: real and no-IOMMU groups cannot mix. */
  noiommu = false;

  constructor() {
    sanitizer.track(this, 'vfio_container', 'vfio container');
  }

  get(): this {
    this.refs++;
    return this;
  }

  put(): void {
    if (--this.refs > 0) return;
    sanitizer.free(this);
  }
}

/**
 * The type1 driver's VFIO_CHECK_EXTENSION without an open IOMMU (vfio_iommu_type1_check_extension with a NULL
 * iommu): the types it can open and UNMAP_ALL; UPDATE_VADDR and DMA_CC depend on the groups, so 0. The
 * no-IOMMU driver answers 0 too, since enable_unsafe_noiommu_mode is off.
 */
function type1ProbeExtension(arg: number): number {
  return arg === VFIO_TYPE1_IOMMU || arg === VFIO_TYPE1v2_IOMMU || arg === VFIO_UNMAP_ALL ? 1 : 0;
}

/** vfio_container_ioctl_check_extension(). */
export function vfioContainerCheckExtension(container: VfioContainer, arg: number): number {
  return container.iommu === null ? type1ProbeExtension(arg) : container.iommu.checkExtension(arg);
}

/** vfio_ioctl_set_iommu(): needs a group and no IOMMU yet (EINVAL); ENODEV when no driver offers `arg`. */
export function vfioIoctlSetIommu(container: VfioContainer, arg: number, table: VfioFdTable): void {
  if (container.groups.length === 0 || container.iommu !== null) {
    throw new VfioError('EINVAL', container.iommu !== null ? 'IOMMU already set' : 'no group in the container');
  }
  // The driver loop: type1 claims `arg` if its CHECK_EXTENSION says so, then open() takes only the two types.
  if (type1ProbeExtension(arg) <= 0) throw new VfioError('ENODEV', `no IOMMU driver for type ${arg}`);
  if (arg !== VFIO_TYPE1_IOMMU && arg !== VFIO_TYPE1v2_IOMMU) throw new VfioError('EINVAL', `type1 cannot open type ${arg}`);
  const iommu = new VfioIommuType1({ v2: arg === VFIO_TYPE1v2_IOMMU, mm: table.mm, logger: table.logger });
  // __vfio_container_attach_groups(): in list order, unwinding in reverse on failure.
  const done: VfioGroup[] = [];
  try {
    for (const g of container.groups) {
      iommu.attachGroup(g, iommuGroupType(g));
      done.push(g);
    }
  } catch (err) {
    for (const g of done.reverse()) iommu.detachGroup(g);
    throw err;
  }
  container.iommu = iommu;
}

/** The type1 group type of a VFIO group: emulated-IOMMU groups pin through the core, the others map everything. */
export function iommuGroupType(group: VfioGroup): 'emulated' | 'iommu' {
  return group.type === 'emulated-iommu' ? 'emulated' : 'iommu';
}

/** vfio_container_attach_group(): EPERM when real and no-IOMMU groups would mix; the IOMMU, if set, attaches it. */
export function vfioContainerAttachGroup(container: VfioContainer, group: VfioGroup): void {
  const noiommu = group.type === 'noiommu';
  if (container.groups.length > 0 && container.noiommu !== noiommu) {
    throw new VfioError('EPERM', 'real and no-IOMMU groups cannot share a container');
  }
  container.iommu?.attachGroup(group, iommuGroupType(group));
  container.noiommu = noiommu;
  container.groups.unshift(group);
  container.get();
}

/** vfio_group_detach_container(): the last group out deprivileges the container (its IOMMU goes away). */
export function vfioGroupDetachContainer(container: VfioContainer, group: VfioGroup): void {
  const i = container.groups.indexOf(group);
  if (i < 0) throw new Error(`group ${group.id} is not in this container`);
  container.iommu?.detachGroup(group);
  container.groups.splice(i, 1);
  if (container.groups.length === 0) container.iommu = null;
  // Balances the get in vfioContainerAttachGroup.
  container.put();
}

/** An open /dev/vfio/vfio (vfio_fops). */
export class VfioContainerFile extends VfioFile {
  readonly kind = 'container';
  readonly container = new VfioContainer();

  constructor() {
    super('container file');
  }

  /** vfio_fops_unl_ioctl(): without an IOMMU every IOMMU ioctl is EINVAL; with one, unknown ones are ENOTTY. */
  override ioctl(table: VfioFdTable, cmd: number, arg: IoctlArg): number {
    const c = this.container;
    switch (cmd) {
      case VFIO_GET_API_VERSION:
        return VFIO_API_VERSION;
      case VFIO_CHECK_EXTENSION:
        return vfioContainerCheckExtension(c, userInt(arg));
      case VFIO_SET_IOMMU:
        vfioIoctlSetIommu(c, userInt(arg), table);
        return 0;
      default:
        if (c.iommu === null) throw new VfioError('EINVAL', 'no IOMMU set on the container');
        return vfioIommuType1Ioctl(c.iommu, table, cmd, arg);
    }
  }

  /** vfio_fops_release(): groups still attached keep the container. */
  protected release(): void {
    this.container.put();
  }
}
