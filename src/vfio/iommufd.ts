// A minimal iommufd context: object ids, IOAS map/unmap, device bind/attach, and the emulated-device access path.
// Follows drivers/iommu/iommufd/{main.c,ioas.c,io_pagetable.c,device.c} and drivers/vfio/iommufd.c.

import { VfioError, check } from '../uapi/errno.js';
import { silentLogger, type Logger } from '../base/log.js';
import { RangeList, U64_MAX, UserAddressSpace, isU64, type DmaSegment, type Range } from './dma-space.js';
import { IOMMU_READ, IOMMU_WRITE, PAGE_SIZE, type DmaUnmapListener, type PinnedPage } from './iommu-type1-types.js';

export const IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0;
export const IOMMU_IOAS_MAP_WRITEABLE = 1 << 1;
export const IOMMU_IOAS_MAP_READABLE = 1 << 2;
/** ULONG_MAX on a 64-bit host. */
const ULONG_MAX = U64_MAX;
const PAGE = BigInt(PAGE_SIZE);

export interface IoasMapArgs {
  /** Required with FIXED_IOVA; ignored otherwise. */
  readonly iova?: bigint;
  readonly length: bigint;
  readonly userVa: bigint;
  readonly flags: number;
}

interface IoptArea extends Range {
  readonly userVa: bigint;
  readonly prot: number;
  /** Pages pinned by accesses: iova -> refcount (area->num_accesses). */
  readonly pins: Map<bigint, number>;
}

interface Ioas {
  readonly kind: 'ioas';
  readonly id: number;
  readonly areas: RangeList<IoptArea>;
  /** Attached devices (physical: their domain pins everything; emulated: an iommufd_access). */
  readonly devices: Set<BoundDevice>;
}

interface BoundDevice {
  readonly kind: 'device';
  readonly id: number;
  readonly devKey: object;
  /** Set for an emulated device (it uses the access path); absent for a physical one. */
  readonly access: DmaUnmapListener | undefined;
  ioas: Ioas | undefined;
}

export interface IommufdOptions {
  /** The process whose memory the IOAS user VAs refer to. */
  readonly mm?: UserAddressSpace;
  /** IOVA alignment of the page tables (iopt->iova_alignment); PAGE_SIZE by default. */
  readonly iovaAlignment?: bigint;
  readonly logger?: Logger;
}

/** One open /dev/iommu: its objects live in an id table starting at 1, lowest free id first. */
export class IommufdCtx {
  readonly mm: UserAddressSpace;
  private readonly alignment: bigint;
  private readonly log: Logger;
  private readonly objects = new Map<number, Ioas | BoundDevice>();
  private readonly byDevKey = new Map<object, BoundDevice>();
  private readonly freeIds: number[] = [];
  private nextId = 1;

  constructor(opts: IommufdOptions = {}) {
    this.mm = opts.mm ?? new UserAddressSpace();
    this.alignment = opts.iovaAlignment ?? PAGE;
    this.log = opts.logger ?? silentLogger;
  }

  /** IOMMU_IOAS_ALLOC. */
  ioasAlloc(): number {
    const id = this.allocId();
    this.objects.set(id, { kind: 'ioas', id, areas: new RangeList(), devices: new Set() });
    return id;
  }

  /** IOMMU_DESTROY: EBUSY while devices are attached (or for a device, which its driver owns). */
  destroy(id: number): void {
    const obj = this.objects.get(id);
    check(obj !== undefined, 'ENOENT', 'no such object');
    check(obj.kind === 'ioas' && obj.devices.size === 0, 'EBUSY', 'object in use');
    this.objects.delete(id);
    this.freeIds.push(id);
  }

  /** IOMMU_IOAS_MAP; returns the IOVA used. */
  ioasMap(ioasId: number, args: IoasMapArgs): bigint {
    const { length, userVa, flags } = args;
    check((flags & ~(IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)) === 0, 'EOPNOTSUPP', 'unknown flags');
    const fixed = (flags & IOMMU_IOAS_MAP_FIXED_IOVA) !== 0;
    const want = args.iova ?? 0n;
    check(isU64(want) && isU64(length) && isU64(userVa), 'EOVERFLOW', 'field is not a u64');
    check(want < ULONG_MAX && length < ULONG_MAX, 'EOVERFLOW', 'iova or length too large');
    check((flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)) !== 0, 'EINVAL', 'need READABLE or WRITEABLE');
    const ioas = this.getIoas(ioasId);
    // iopt_alloc_pages()
    check(length !== 0n && length <= ULONG_MAX - PAGE, 'EINVAL', 'bad length');
    check(userVa + length <= ULONG_MAX, 'EOVERFLOW', 'user range wraps');
    // iopt_alloc_area_pages()
    check((length & (this.alignment - 1n)) === 0n, 'EINVAL', 'length not aligned');
    let iova: bigint;
    if (fixed) {
      iova = want;
      check((iova & (this.alignment - 1n)) === 0n, 'EINVAL', 'iova not aligned');
      check(iova + length - 1n <= ULONG_MAX, 'EOVERFLOW', 'iova range wraps');
      check(ioas.areas.findFirst(iova, iova + length - 1n) === undefined, 'EEXIST', 'iova range in use');
    } else {
      iova = this.allocIova(ioas, userVa, length);
    }
    // iopt_insert_area(): the user page offset must fit the alignment.
    check(((userVa % PAGE) & (this.alignment - 1n)) === 0n, 'EINVAL', 'user address not aligned');
    let prot = 0;
    if (flags & IOMMU_IOAS_MAP_WRITEABLE) prot |= IOMMU_WRITE;
    if (flags & IOMMU_IOAS_MAP_READABLE) prot |= IOMMU_READ;
    // A physical device's domain is filled (pinned) now; emulated accesses pin lazily.
    if (this.hasDomain(ioas)) this.mm.translate(userVa, length);
    ioas.areas.insert({ start: iova, last: iova + length - 1n, userVa, prot, pins: new Map() });
    return iova;
  }

  /** IOMMU_IOAS_UNMAP; returns the bytes unmapped. iova 0 with length U64_MAX unmaps everything. */
  ioasUnmap(ioasId: number, iova: bigint, length: bigint): bigint {
    const ioas = this.getIoas(ioasId);
    if (iova === 0n && length === U64_MAX) {
      try {
        return this.unmapRange(ioas, 0n, ULONG_MAX);
      } catch (err) {
        if (VfioError.is(err, 'ENOENT')) return 0n; // empty: unmap all succeeds
        throw err;
      }
    }
    check(isU64(iova) && isU64(length) && iova < ULONG_MAX && length < ULONG_MAX, 'EOVERFLOW', 'iova or length too large');
    check(length !== 0n, 'EINVAL', 'zero length');
    check(iova + length - 1n <= ULONG_MAX, 'EOVERFLOW', 'range wraps');
    return this.unmapRange(ioas, iova, iova + length - 1n);
  }

  /** Bind a device (VFIO_DEVICE_BIND_IOMMUFD); `access` makes it an emulated device (mdev, vfio-user). */
  bindDevice(devKey: object, access?: DmaUnmapListener): number {
    check(!this.byDevKey.has(devKey), 'EINVAL', 'device already bound');
    const id = this.allocId();
    const dev: BoundDevice = { kind: 'device', id, devKey, access, ioas: undefined };
    this.objects.set(id, dev);
    this.byDevKey.set(devKey, dev);
    return id;
  }

  /** VFIO_DEVICE_ATTACH_IOMMUFD_PT: attaching an attached device replaces its IOAS, as the kernel now allows. */
  attach(devId: number, ptId: number): void {
    const dev = this.getDevice(devId);
    const ioas = this.getIoas(ptId);
    if (dev.ioas === ioas) return;
    if (dev.access === undefined) {
      // The new domain pins every existing mapping.
      for (const area of ioas.areas) this.mm.translate(area.userVa, area.last - area.start + 1n);
    } else {
      check(!this.hasPins(dev), 'EBUSY', 'access still has pinned pages');
    }
    if (dev.ioas !== undefined) dev.ioas.devices.delete(dev);
    dev.ioas = ioas;
    ioas.devices.add(dev);
  }

  /** VFIO_DEVICE_DETACH_IOMMUFD_PT; a no-op when not attached. */
  detach(devId: number): void {
    const dev = this.getDevice(devId);
    if (dev.ioas === undefined) return;
    if (this.hasPins(dev)) this.log.warn({ devId }, 'iommufd: detaching an access with pinned pages');
    dev.ioas.devices.delete(dev);
    dev.ioas = undefined;
  }

  /** Unbind (vfio_df_iommufd_unbind): detaches first. */
  unbind(devId: number): void {
    const dev = this.getDevice(devId);
    this.detach(devId);
    this.objects.delete(devId);
    this.freeIds.push(devId);
    this.byDevKey.delete(dev.devKey);
  }

  /** iommufd_access_pin_pages() through vfio_pin_pages(): `npage` pages from `iova`. */
  pinPages(devId: number, iova: bigint, npage: number, prot: number): PinnedPage[] {
    const dev = this.getDevice(devId);
    check(dev.access !== undefined, 'EINVAL', 'not an emulated device');
    check(Number.isInteger(npage) && npage > 0, 'EINVAL', 'npage must be positive');
    const length = BigInt(npage) * PAGE;
    check(isU64(iova) && iova + length - 1n <= ULONG_MAX, 'EOVERFLOW', 'range wraps');
    const ioas = dev.ioas;
    check(ioas !== undefined, 'ENOENT', 'not attached');
    const out: PinnedPage[] = [];
    try {
      for (let i = 0; i < npage; i++) {
        const pageIova = iova + BigInt(i) * PAGE;
        const area = ioas.areas.find(pageIova);
        check(area !== undefined, 'ENOENT', 'iova not mapped');
        check(!(prot & IOMMU_WRITE) || (area.prot & IOMMU_WRITE) !== 0, 'EPERM', 'area not writeable');
        const segments = this.mm.translate(area.userVa + (pageIova - area.start), PAGE);
        area.pins.set(pageIova, (area.pins.get(pageIova) ?? 0) + 1);
        out.push({ iova: pageIova, segments });
      }
    } catch (err) {
      for (const p of out) this.unpinOne(ioas, p.iova);
      throw err;
    }
    return out;
  }

  /** iommufd_access_unpin_pages(). */
  unpinPages(devId: number, iova: bigint, npage: number): void {
    const dev = this.getDevice(devId);
    if (dev.ioas === undefined) return void this.log.warn({ devId }, 'iommufd: unpin while detached');
    for (let i = 0; i < npage; i++) {
      if (!this.unpinOne(dev.ioas, iova + BigInt(i) * PAGE)) this.log.warn({ devId, iova }, 'iommufd: unpin of an unpinned page');
    }
  }

  /** iommufd_access_rw() through vfio_dma_rw(): areas must be contiguous. */
  dmaRw(devId: number, iova: bigint, buf: Uint8Array, write: boolean): void {
    const dev = this.getDevice(devId);
    check(dev.access !== undefined, 'EINVAL', 'not an emulated device');
    this.#rw(dev.ioas, iova, buf, write);
  }

  /**
   * A physical device's DMA (a bus master behind the IOMMU domain of its IOAS): the same translation as dmaRw, through
   * the attached IOAS, for a device bound without an access. ENOENT while it is not attached.
   */
  domainRw(devId: number, iova: bigint, buf: Uint8Array, write: boolean): void {
    this.#rw(this.getDevice(devId).ioas, iova, buf, write);
  }

  /** The copy through `ioas`, piece by piece across its areas. */
  #rw(ioas: Ioas | undefined, iova: bigint, buf: Uint8Array, write: boolean): void {
    check(buf.length > 0, 'EINVAL', 'zero length');
    check(isU64(iova) && iova + BigInt(buf.length) - 1n <= ULONG_MAX, 'EOVERFLOW', 'range wraps');
    check(ioas !== undefined, 'ENOENT', 'not attached');
    let cur = iova;
    let pos = 0;
    while (pos < buf.length) {
      const area = ioas.areas.find(cur);
      check(area !== undefined, 'ENOENT', 'iova not mapped');
      check(!write || (area.prot & IOMMU_WRITE) !== 0, 'EPERM', 'area not writeable');
      const count = Math.min(buf.length - pos, Number(area.last - cur + 1n));
      const chunk = buf.subarray(pos, pos + count);
      const va = area.userVa + (cur - area.start);
      if (write) this.mm.write(va, chunk);
      else this.mm.read(va, chunk);
      pos += count;
      cur += BigInt(count);
    }
  }

  /**
   * iommufd_access_rw()'s walk without the copy: the process memory behind [iova, iova + length), checked as
   * dmaRw checks it, for vfioDmaRwAsync to copy (memory served asynchronously).
   */
  dmaSegments(devId: number, iova: bigint, length: number, write: boolean): DmaSegment[] {
    const dev = this.getDevice(devId);
    check(dev.access !== undefined, 'EINVAL', 'not an emulated device');
    check(length > 0, 'EINVAL', 'zero length');
    check(isU64(iova) && iova + BigInt(length) - 1n <= ULONG_MAX, 'EOVERFLOW', 'range wraps');
    const ioas = dev.ioas;
    check(ioas !== undefined, 'ENOENT', 'not attached');
    const out: DmaSegment[] = [];
    let cur = iova;
    let pos = 0;
    while (pos < length) {
      const area = ioas.areas.find(cur);
      check(area !== undefined, 'ENOENT', 'iova not mapped');
      check(!write || (area.prot & IOMMU_WRITE) !== 0, 'EPERM', 'area not writeable');
      const count = Math.min(length - pos, Number(area.last - cur + 1n));
      out.push(...this.mm.translate(area.userVa + (cur - area.start), BigInt(count)));
      pos += count;
      cur += BigInt(count);
    }
    return out;
  }

  // --- internals ---

  /** xa_alloc with XA_FLAGS_ALLOC1: the lowest free id from 1. */
  private allocId(): number {
    if (this.freeIds.length > 0) {
      this.freeIds.sort((a, b) => a - b);
      return this.freeIds.shift() as number;
    }
    return this.nextId++;
  }

  private getIoas(id: number): Ioas {
    const obj = this.objects.get(id);
    check(obj !== undefined && obj.kind === 'ioas', 'ENOENT', 'no such IOAS');
    return obj;
  }

  private getDevice(id: number): BoundDevice {
    const obj = this.objects.get(id);
    check(obj !== undefined && obj.kind === 'device', 'ENOENT', 'no such device');
    return obj;
  }

  private hasDomain(ioas: Ioas): boolean {
    for (const d of ioas.devices) if (d.access === undefined) return true;
    return false;
  }

  private hasPins(dev: BoundDevice): boolean {
    if (dev.ioas === undefined) return false;
    for (const area of dev.ioas.areas) if (area.pins.size > 0) return true;
    return false;
  }

  private unpinOne(ioas: Ioas, pageIova: bigint): boolean {
    const area = ioas.areas.find(pageIova);
    const ref = area?.pins.get(pageIova);
    if (area === undefined || ref === undefined) return false;
    if (ref > 1) area.pins.set(pageIova, ref - 1);
    else area.pins.delete(pageIova);
    return true;
  }

  /** iopt_unmap_iova_range(): whole areas only; ENOENT if one is cut or nothing is there. */
  private unmapRange(ioas: Ioas, start: bigint, last: bigint): bigint {
    let unmapped = 0n;
    for (let area = ioas.areas.findFirst(start, last); area !== undefined; area = ioas.areas.findFirst(start, last)) {
      check(area.start >= start && area.last <= last, 'ENOENT', 'range cuts an area');
      if (area.pins.size > 0) {
        // iommufd_access_notify_unmap(): every access on the IOAS must let go.
        for (const d of [...ioas.devices]) d.access?.dmaUnmap(area.start, area.last - area.start + 1n);
        if (area.pins.size > 0) {
          this.log.warn({ iova: area.start }, 'iommufd: access kept pages pinned across unmap');
          throw new VfioError('EDEADLK', 'pages still pinned');
        }
      }
      ioas.areas.remove(area);
      unmapped += area.last - area.start + 1n;
    }
    check(unmapped > 0n, 'ENOENT', 'nothing mapped in range');
    return unmapped;
  }

  /** iopt_alloc_iova(): the first hole in [PAGE_SIZE, ULONG_MAX - PAGE_SIZE], never iova 0. */
  private allocIova(ioas: Ioas, userVa: bigint, length: bigint): bigint {
    check(length !== 0n && length < ULONG_MAX / 2n, 'EOVERFLOW', 'length too large');
    let pow = 1n;
    while (pow < length) pow <<= 1n;
    let align = pow;
    if (userVa !== 0n) {
      const low = userVa & -userVa;
      if (low < align) align = low;
    }
    check(align >= this.alignment, 'EINVAL', 'user address alignment below the IOVA alignment');
    const pageOffset = userVa % PAGE;
    const top = ULONG_MAX - PAGE;
    let holeStart = PAGE;
    const tryHole = (holeLast: bigint): bigint | undefined => {
      const s = (((holeStart + align - 1n) / align) * align) | pageOffset;
      return s <= holeLast && holeLast - s >= length - 1n ? s : undefined;
    };
    for (const area of ioas.areas) {
      if (area.last < holeStart) continue;
      if (area.start > holeStart) {
        const s = tryHole(area.start - 1n < top ? area.start - 1n : top);
        if (s !== undefined) return s;
      }
      holeStart = area.last + 1n;
      if (holeStart > top) break;
    }
    const s = holeStart <= top ? tryHole(top) : undefined;
    check(s !== undefined, 'ENOSPC', 'no free IOVA range');
    return s;
  }
}
