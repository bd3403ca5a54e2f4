// The regions of a vfio-platform device (vfio_platform_common.c vfio_platform_regions_init/cleanup,
// vfio_platform_read_mmio/write_mmio, vfio_platform_mmap_mmio): one MMIO region per resource, readable, writable
// unless the resource is read-only, and mmap-able when page aligned and the window is memory a mapping can reach
// (a RAM-like model's backing). Register windows are always trapped: a model's registers are code, not memory,
// so they are read and written through the driver (the kernel would map the real registers).
import { IORESOURCE_MEM, IORESOURCE_READONLY, hwOf } from '../../hw/platform/mmio-device.js';
import { MmioDevice } from '../../hw/platform/mmio-device.js';
import { VfioError } from '../../uapi/errno.js';
import { VFIO_REGION_INFO_FLAG_MMAP, VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE } from '../../uapi/region-info.js';
import { VFIO_PLATFORM_REGION_TYPE_MMIO } from './private.js';
import type { VfioPlatformDevice, VfioPlatformRegion } from './private.js';

export const PAGE_SIZE = 4096;

/** vfio_platform_regions_init(): EINVAL for a resource that is not memory. */
export function vfioPlatformRegionsInit(vdev: VfioPlatformDevice): void {
  const get = vdev.getResource;
  const dev = vdev.dev;
  if (get === null || !(dev instanceof MmioDevice)) throw new VfioError('EINVAL', `${vdev.devName}: no resources to map`);
  const hw = hwOf(dev);
  const regions: VfioPlatformRegion[] = [];
  for (let i = 0; ; i++) {
    const res = get(vdev, i);
    if (res === null) break;
    if ((res.flags & IORESOURCE_MEM) === 0) throw new VfioError('EINVAL', `${vdev.devName}: resource ${i} is not MMIO`);
    let flags = VFIO_REGION_INFO_FLAG_READ;
    if ((res.flags & IORESOURCE_READONLY) === 0) flags |= VFIO_REGION_INFO_FLAG_WRITE;
    // Only regions addressed with PAGE granularity may be mapped securely; here also only memory can be.
    if (res.start % PAGE_SIZE === 0 && res.size % PAGE_SIZE === 0 && (hw.memory?.(res.window) ?? null) !== null) flags |= VFIO_REGION_INFO_FLAG_MMAP;
    regions.push({ addr: res.start, size: res.size, flags, type: VFIO_PLATFORM_REGION_TYPE_MMIO, window: res.window, hw });
  }
  vdev.regions = regions;
}

/** vfio_platform_regions_cleanup(). */
export function vfioPlatformRegionsCleanup(vdev: VfioPlatformDevice): void {
  vdev.regions = [];
}

/** ioread32/16/8 on a region, as the kernel's accessors do (little-endian). */
export function regionRead(reg: VfioPlatformRegion, offset: number, size: 1 | 2 | 4): number {
  return reg.hw.read(reg.window, offset, size);
}

/** iowrite32/16/8 on a region. */
export function regionWrite(reg: VfioPlatformRegion, offset: number, size: 1 | 2 | 4, value: number): void {
  reg.hw.write(reg.window, offset, size, value);
}

/**
 * vfio_platform_read_mmio / write_mmio: [off, off + count) clipped to the region, in the widest naturally aligned
 * accesses (4, 2, then 1 bytes). EINVAL at or past the end.
 */
export function vfioPlatformMmioRw(reg: VfioPlatformRegion, buf: Uint8Array, off: number, write: boolean): number {
  if (off >= reg.size) throw new VfioError('EINVAL', `offset ${off} past the region's ${reg.size} bytes`);
  const count = Math.min(buf.length, reg.size - off);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let done = 0;
  while (done < count) {
    const left = count - done;
    const at = off + done;
    const size: 1 | 2 | 4 = left >= 4 && at % 4 === 0 ? 4 : left >= 2 && at % 2 === 0 ? 2 : 1;
    if (write) {
      const v = size === 4 ? dv.getUint32(done, true) : size === 2 ? dv.getUint16(done, true) : dv.getUint8(done);
      regionWrite(reg, at, size, v);
    } else {
      const v = regionRead(reg, at, size);
      if (size === 4) dv.setUint32(done, v >>> 0, true);
      else if (size === 2) dv.setUint16(done, v & 0xffff, true);
      else dv.setUint8(done, v & 0xff);
    }
    done += size;
  }
  return done;
}
