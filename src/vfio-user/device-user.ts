// A connection's use of its device, the way a VMM process uses a VFIO cdev (Documentation/driver-api/vfio.rst
// "cdev"): open /dev/vfio/devices/vfioN and /dev/iommu, IOAS alloc, BIND_IOMMUFD, ATTACH_IOMMUFD_PT; DMA
// memory (mmapped from the client's fd, or served by messages) is put into the process and mapped into the IOAS
// at the client's IOVA; process exit (close) undoes it all.
import { VfioError } from '../uapi/errno.js';
import {
  IOMMU_IOAS_ALLOC,
  IOMMU_IOAS_MAP,
  IOMMU_IOAS_UNMAP,
  VFIO_DEVICE_ATTACH_IOMMUFD_PT,
  VFIO_DEVICE_BIND_IOMMUFD,
  VFIO_DEVICE_GET_REGION_INFO,
} from '../uapi/ioctl.js';
import {
  IOMMU_IOAS_ALLOC_SIZEOF,
  IOMMU_IOAS_MAP_FIXED_IOVA,
  IOMMU_IOAS_MAP_READABLE,
  IOMMU_IOAS_MAP_SIZEOF,
  IOMMU_IOAS_MAP_WRITEABLE,
  IOMMU_IOAS_UNMAP_SIZEOF,
  VFIO_DEVICE_ATTACH_IOMMUFD_PT_SIZEOF,
  VFIO_DEVICE_BIND_IOMMUFD_MINSZ,
  decodeIommuIoasAlloc,
  encodeIommuIoasAlloc,
  encodeIommuIoasMap,
  encodeIommuIoasUnmap,
  encodeVfioDeviceAttachIommufdPt,
  encodeVfioDeviceBindIommufd,
} from '../uapi/iommufd.js';
import { VFIO_REGION_INFO_SIZEOF, decodeVfioRegionInfo, encodeVfioRegionInfo } from '../uapi/region-info.js';
import { ArrayBufferBacking } from '../vfio/dma-space.js';
import type { DmaBacking } from '../vfio/dma-space.js';
import type { DeviceProcess } from './device-process.js';

/** Where user mappings go in the process's address space: high, like a VMM's guest RAM mappings. */
const VADDR_BASE = 0x7f00_0000_0000n;
/** Where a request's own user buffers go (a struct's pointer field the kernel reads or fills): above the mappings. */
const SCRATCH_VADDR = 0x7fff_0000_0000_0000n;
const PAGE = 4096n;

/** One region as GET_REGION_INFO reported it: what region accesses are checked against. */
export interface RegionEntry {
  readonly size: number;
  /** VFIO_REGION_INFO_FLAG_READ / WRITE / ... */
  readonly flags: number;
}

/** A DMA mapping this user made: its IOVA range and where it lives in the process. */
export interface UserDmaMapping {
  readonly iova: bigint;
  readonly size: bigint;
  readonly vaddr: bigint;
  /** Undo for the memory behind the backing (munmap), run after the IOAS and mm unmaps. */
  readonly release: (() => void) | undefined;
}

/**
 * A process using one device: open() opens the device's cdev and /dev/iommu in the process, binds the device to a
 * fresh IOAS and attaches it; close() drops every DMA mapping and ends the process, as its exit would.
 */
export class DeviceUser {
  readonly proc: DeviceProcess;
  readonly deviceFd: number;
  readonly iommuFd: number;
  readonly ioasId: number;
  /** The migration data fd in `proc` (from MIG_DEVICE_STATE), -1 when none. */
  migrationFd = -1;
  readonly #regions = new Map<number, RegionEntry>();
  readonly #maps: UserDmaMapping[] = [];
  #nextVaddr = VADDR_BASE;

  /**
   * Opens `cdevPath` in `proc`, which the user owns from here (close() ends it; so does a failed open). Throws
   * VfioError: EBUSY if another user has the device open (the cdev allows one), ENODEV/ENOENT if it is going away
   * or gone.
   */
  static open(proc: DeviceProcess, cdevPath: string): DeviceUser {
    try {
      return new DeviceUser(proc, cdevPath);
    } catch (err) {
      proc.closeAll();
      throw err;
    }
  }

  /** Drops every mapping and closes every fd of the process (disconnect). Safe to repeat. */
  close(): void {
    try {
      this.dropAll();
    } finally {
      this.proc.closeAll(); // balances the process handed to open
    }
  }

  /** On failure everything opened here is closed again. */
  private constructor(proc: DeviceProcess, cdevPath: string) {
    this.proc = proc;
    const undo: (() => void)[] = [];
    try {
      this.deviceFd = proc.open(cdevPath);
      const devFd = this.deviceFd;
      undo.push(() => proc.close(devFd));
      this.iommuFd = proc.open('/dev/iommu');
      const iommuFd = this.iommuFd;
      undo.push(() => proc.close(iommuFd));
      const alloc = encodeIommuIoasAlloc({ size: IOMMU_IOAS_ALLOC_SIZEOF, flags: 0, outIoasId: 0 });
      proc.ioctl(iommuFd, IOMMU_IOAS_ALLOC, alloc);
      this.ioasId = decodeIommuIoasAlloc(alloc).outIoasId;
      const bind = encodeVfioDeviceBindIommufd({ argsz: VFIO_DEVICE_BIND_IOMMUFD_MINSZ, flags: 0, iommufd: iommuFd, outDevid: 0, tokenUuidPtr: 0n });
      try {
        proc.ioctl(devFd, VFIO_DEVICE_BIND_IOMMUFD, bind);
      } catch (err) {
        // The cdev path allows one open: the core says EINVAL ("already open"); a client wants to hear busy.
        if (VfioError.is(err, 'EINVAL')) throw new VfioError('EBUSY', 'device is in use by another client');
        throw err;
      }
      const attach = encodeVfioDeviceAttachIommufdPt({ argsz: VFIO_DEVICE_ATTACH_IOMMUFD_PT_SIZEOF, flags: 0, ptId: this.ioasId, pasid: 0 });
      proc.ioctl(devFd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, attach);
    } catch (err) {
      for (const u of undo.reverse()) {
        try {
          u();
        } catch {
          /* already closed */
        }
      }
      throw err;
    }
  }

  /** The region's size and flags from GET_REGION_INFO, cached (regions are fixed while open). */
  region(index: number): RegionEntry {
    let r = this.#regions.get(index);
    if (r === undefined) {
      const info = encodeVfioRegionInfo({ argsz: VFIO_REGION_INFO_SIZEOF, flags: 0, index, capOffset: 0, size: 0n, offset: 0n });
      this.proc.ioctl(this.deviceFd, VFIO_DEVICE_GET_REGION_INFO, info);
      const got = decodeVfioRegionInfo(info);
      r = { flags: got.flags, size: Number(got.size) };
      this.#regions.set(index, r);
    }
    return r;
  }

  /** The IOVA ranges of the live DMA mappings, in the order they were made. */
  mappedRanges(): { iova: bigint; length: bigint }[] {
    return this.#maps.map((m) => ({ iova: m.iova, length: m.size }));
  }

  /**
   * Runs `fn` with `bytes` placed in the process's memory at a user address (for an ioctl struct whose pointer
   * field the kernel follows: copy_from_user reads them, copy_to_user fills them); `bytes` holds what the call
   * left there afterwards.
   */
  withUserBuffer<T>(bytes: Uint8Array, fn: (vaddr: bigint) => T): T {
    this.proc.mm.map(SCRATCH_VADDR, new ArrayBufferBacking(bytes));
    try {
      return fn(SCRATCH_VADDR);
    } finally {
      this.proc.mm.unmap(SCRATCH_VADDR);
    }
  }

  /** Number of live DMA mappings. */
  get mappingCount(): number {
    return this.#maps.length;
  }

  /**
   * Puts `backing` into the process at a fresh vaddr and maps [iova, iova+size) to it in the IOAS.
   * `release` (if any) is taken: it runs when the mapping goes, or now if mapping fails.
   */
  dmaMap(iova: bigint, size: bigint, backing: DmaBacking, prot: { read: boolean; write: boolean }, release?: () => void): void {
    const vaddr = this.#nextVaddr;
    let mmDone = false;
    try {
      this.proc.mm.map(vaddr, backing, 0, Number(size));
      mmDone = true;
      let flags = IOMMU_IOAS_MAP_FIXED_IOVA;
      if (prot.read) flags |= IOMMU_IOAS_MAP_READABLE;
      if (prot.write) flags |= IOMMU_IOAS_MAP_WRITEABLE;
      const arg = encodeIommuIoasMap({ size: IOMMU_IOAS_MAP_SIZEOF, flags, ioasId: this.ioasId, userVa: vaddr, length: size, iova });
      this.proc.ioctl(this.iommuFd, IOMMU_IOAS_MAP, arg);
    } catch (err) {
      if (mmDone) this.proc.mm.unmap(vaddr);
      release?.();
      throw err;
    }
    this.#nextVaddr = vaddr + ((size + PAGE - 1n) / PAGE) * PAGE + PAGE;
    this.#maps.push({ iova, size, vaddr, release });
  }

  /**
   * Unmaps every mapping inside [iova, iova+size) (EINVAL-free: a range that matches nothing is ENOENT as
   * IOMMU_IOAS_UNMAP says). `all` unmaps everything. Returns the mappings removed.
   */
  dmaUnmap(iova: bigint, size: bigint, all = false): UserDmaMapping[] {
    const gone = this.#maps.filter((m) => all || (m.iova >= iova && m.iova + m.size <= iova + size));
    if (!all && gone.length === 0) throw new VfioError('ENOENT', 'no DMA mapping in range');
    for (const m of gone) this.#drop(m);
    return gone;
  }

  /** Drops every mapping. */
  dropAll(): void {
    for (const m of [...this.#maps]) {
      try {
        this.#drop(m);
      } catch {
        /* the process is going away anyway: closeAll() tears the IOAS down */
      }
    }
  }

  #drop(m: UserDmaMapping): void {
    const i = this.#maps.indexOf(m);
    if (i >= 0) this.#maps.splice(i, 1);
    try {
      const arg = encodeIommuIoasUnmap({ size: IOMMU_IOAS_UNMAP_SIZEOF, ioasId: this.ioasId, iova: m.iova, length: m.size });
      this.proc.ioctl(this.iommuFd, IOMMU_IOAS_UNMAP, arg);
    } finally {
      this.proc.mm.unmap(m.vaddr);
      m.release?.(); // balances the mmap made for this mapping
    }
  }
}
