// An open /dev/iommu (drivers/iommu/iommufd/main.c iommufd_fops): the size-framed IOMMU_* ioctls on an IommufdCtx,
// and the device binds VFIO makes on it (drivers/vfio/iommufd.c vfio_iommufd_physical_bind/emulated_bind).
import type { Logger } from '../base/log.js';
import { VfioError } from '../uapi/errno.js';
import { IOMMUFD_CMD_BASE, IOMMU_DESTROY, IOMMU_IOAS_ALLOC, IOMMU_IOAS_MAP, IOMMU_IOAS_UNMAP, _IOC_NR } from '../uapi/ioctl.js';
import {
  IOMMU_DESTROY_MINSZ,
  IOMMU_IOAS_ALLOC_MINSZ,
  IOMMU_IOAS_MAP_FIXED_IOVA,
  IOMMU_IOAS_MAP_MINSZ,
  IOMMU_IOAS_UNMAP_MINSZ,
  decodeIommuDestroy,
  decodeIommuIoasAlloc,
  decodeIommuIoasMap,
  decodeIommuIoasUnmap,
} from '../uapi/iommufd.js';
import type { UserAddressSpace } from './dma-space.js';
import { IommufdCtx } from './iommufd.js';
import type { VfioDevice } from './vfio-device.js';
import { opsOf } from './vfio-device.js';
import type { IoctlArg, VfioFdTable } from './vfio-file.js';
import { VfioFile, userBuffer, userView } from './vfio-file.js';

/** The ioctls of iommufd_ioctl_ops this model implements, by command number, with their minimum size. */
const OPS: ReadonlyMap<number, number> = new Map([
  [IOMMU_DESTROY, IOMMU_DESTROY_MINSZ],
  [IOMMU_IOAS_ALLOC, IOMMU_IOAS_ALLOC_MINSZ],
  [IOMMU_IOAS_MAP, IOMMU_IOAS_MAP_MINSZ],
  [IOMMU_IOAS_UNMAP, IOMMU_IOAS_UNMAP_MINSZ],
]);

export class IommufdFile extends VfioFile {
  readonly kind = 'iommufd';
  readonly ctx: IommufdCtx;
  /** Devices bound to this context and their object ids (the cdev bind or the group compat path). */
  readonly bound = new Map<VfioDevice, number>();
  /** The IOAS the VFIO compat path (a group's SET_CONTAINER) attaches to; 0 until created. */
  private compatIoasId = 0;

  constructor(mm: UserAddressSpace, logger: Logger) {
    super('iommufd file');
    this.ctx = new IommufdCtx({ mm, logger });
  }

  /**
   * iommufd_fops_ioctl(): numbers below IOMMUFD_CMD_BASE would go to the VFIO type1 compat layer, which this model
   * does not implement (ENOTTY). The u32 size comes first (EFAULT if unreadable), then size < min_size is EINVAL,
   * and copy_struct_from_user() reads `size` bytes (E2BIG if bytes past the known struct are non-zero).
   */
  override ioctl(_table: VfioFdTable, cmd: number, arg: IoctlArg): number {
    if (_IOC_NR(cmd) < IOMMUFD_CMD_BASE) throw new VfioError('ENOTTY', 'iommufd: the VFIO compat ioctls are not modelled');
    const minsz = OPS.get(cmd);
    if (minsz === undefined) throw new VfioError('ENOTTY', `iommufd: ioctl 0x${cmd.toString(16)} not implemented`);
    const size = userView(userBuffer(arg, 4, 'iommufd ucmd size')).getUint32(0, true);
    if (size < minsz) throw new VfioError('EINVAL', `iommufd: size ${size} < ${minsz}`);
    const buf = userBuffer(arg, size, 'iommufd ucmd');
    const dv = userView(buf);
    switch (cmd) {
      case IOMMU_DESTROY:
        this.ctx.destroy(decodeIommuDestroy(buf).id);
        return 0;
      case IOMMU_IOAS_ALLOC: {
        decodeIommuIoasAlloc(buf);
        dv.setUint32(8, this.ctx.ioasAlloc(), true);
        return 0;
      }
      case IOMMU_IOAS_MAP: {
        const m = decodeIommuIoasMap(buf);
        const fixed = (m.flags & IOMMU_IOAS_MAP_FIXED_IOVA) !== 0;
        const iova = this.ctx.ioasMap(m.ioasId, fixed ? { iova: m.iova, length: m.length, userVa: m.userVa, flags: m.flags } : { length: m.length, userVa: m.userVa, flags: m.flags });
        dv.setBigUint64(32, iova, true);
        return 0;
      }
      default: {
        const u = decodeIommuIoasUnmap(buf);
        dv.setBigUint64(16, this.ctx.ioasUnmap(u.ioasId, u.iova, u.length), true);
        return 0;
      }
    }
  }

  /** iommufd_vfio_compat_ioas_create(): the compat IOAS, created on first use. */
  compatIoasCreate(): number {
    if (this.compatIoasId === 0) this.compatIoasId = this.ctx.ioasAlloc();
    return this.compatIoasId;
  }

  /**
   * vfio_iommufd_physical_bind / vfio_iommufd_emulated_bind: an emulated-IOMMU device gets an access (pins and
   * dma_rw through the IOAS, dma_unmap calls); a physical one a plain bind, and its bus-master DMA then goes
   * through the IOMMU domain of the IOAS it is attached to (no pinning API: the domain holds the pages). The
   * device keeps this file open until unbindDevice. Returns the device's object id.
   */
  bindDevice(device: VfioDevice): number {
    const emulated = device.group?.type === 'emulated-iommu';
    const dmaUnmap = opsOf(device).dmaUnmap;
    const devid = emulated
      ? this.ctx.bindDevice(device, { dmaUnmap: (iova, length) => dmaUnmap?.(device, iova, length) })
      : this.ctx.bindDevice(device);
    this.bound.set(device, devid);
    this.get();
    if (emulated) {
      const ctx = this.ctx;
      device.dmaAccess = {
        dmaRw: (iova, buf, write) => ctx.dmaRw(devid, iova, buf, write),
        dmaSegments: (iova, length, write) => ctx.dmaSegments(devid, iova, length, write),
        pinPages: (iova, npage, prot) => void ctx.pinPages(devid, iova, npage, prot),
        unpinPages: (iova, npage) => ctx.unpinPages(devid, iova, npage),
      };
    } else {
      const ctx = this.ctx;
      device.dmaAccess = {
        dmaRw: (iova, buf, write) => ctx.domainRw(devid, iova, buf, write),
        pinPages: () => {
          throw new VfioError('EINVAL', 'pinning is for emulated-IOMMU devices');
        },
        unpinPages: () => {
          throw new VfioError('EINVAL', 'pinning is for emulated-IOMMU devices');
        },
      };
    }
    return devid;
  }

  /** vfio_iommufd_*_unbind: detaches, drops the object and the file reference bindDevice took. */
  unbindDevice(device: VfioDevice): void {
    const devid = this.bound.get(device);
    if (devid === undefined) return;
    this.bound.delete(device);
    device.dmaAccess = null;
    this.ctx.unbind(devid);
    this.put();
  }

  /** iommufd_fops_release(): every bound device holds the file, so only IOAS objects are left to drop. */
  protected release(): void {
    this.bound.clear();
  }
}
