// mdpy, the mediated framebuffer display (samples/vfio-mdev/mdpy.c) on pci-emu: a PCI display 1b36:000f whose
// BAR0 is the framebuffer (a memfd the user may mmap) and whose vendor capability says format and size. Migration
// (STOP_COPY, P2P, PRE_COPY with the framebuffer sent page by page) is our addition, in mdpy-migration.ts: the
// kernel's mdpy does not migrate.
import { hostOf } from '../../base/device.js';
import { MdevDevice } from '../../mdev/mdev-objects.js';
import { close, memfdCreate, mmap, munmap } from '../../native/index.js';
import { VfioError, check } from '../../uapi/errno.js';
import {
  VFIO_DEVICE_GFX_PLANE_INFO_MINSZ,
  VFIO_GFX_PLANE_TYPE_PROBE,
  VFIO_GFX_PLANE_TYPE_REGION,
  decodeVfioDeviceGfxPlaneInfo,
  encodeVfioDeviceGfxPlaneInfo,
} from '../../uapi/gfx-plane.js';
import { VFIO_DEVICE_QUERY_GFX_PLANE } from '../../uapi/ioctl.js';
import { PCI_CLASS_DISPLAY_OTHER, PCI_COMMAND, PCI_COMMAND_IO, PCI_COMMAND_MEMORY } from '../../uapi/pci-regs.js';
import { VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE } from '../../uapi/region-info.js';
import { allocDevice } from '../../vfio/vfio-device.js';
import type { VfioDeviceOps } from '../../vfio/vfio-ops.js';
import { VfioPciEmuDevice, pciEmuInit, pciEmuSetRegion } from '../../emu/pci-emu-device.js';
import { pciEmuIoctl, pciEmuOps } from '../../emu/pci-emu-ops.js';
import { pciEmuMigrationOps } from '../../emu/migration-arcs.js';
import { MigratableMemory } from '../../emu/migratable-memory.js';
import { mdpyMigrationInit } from './mdpy-migration.js';
import type { PciEmuRegion } from '../../emu/regions.js';
import { framebufferToPng } from '../../emu/framebuffer-png.js';
import {
  MDPY_DISPLAY_REGION,
  MDPY_PCI_DEVICE_ID,
  MDPY_PCI_SUBDEVICE_ID,
  MDPY_PCI_SUBVENDOR_ID,
  MDPY_PCI_VENDOR_ID,
  MDPY_TYPES,
  MDPY_VENDORCAP_OFFSET,
  MDPY_VENDORCAP_SIZE,
  mdpyFbSize,
} from './mdpy-defs.js';
import type { MdpyType } from './mdpy-defs.js';

/** struct mdev_state of mdpy.c: the PCI device plus its type and framebuffer. */
export class MdpyState extends VfioPciEmuDevice {
  type: MdpyType | null = null;
  /** BAR0 size: the framebuffer rounded up to a power of two. */
  memsize = 0;
  /** The framebuffer's memfd (BAR0's mmap backing); closed in release. */
  memfd = -1;
  /** This process's shared mapping of the memfd: what BAR reads and writes touch. */
  memblk: ArrayBuffer | null = null;

  /** The framebuffer bytes. */
  get memory(): Uint8Array {
    const m = this.memblk;
    if (m === null) throw new Error('mdpy framebuffer used before init or after release');
    return new Uint8Array(m);
  }
}

const RW = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;

/** mdpy_reset(): the framebuffer shows a gray gradient from black (top) to white (bottom). */
export function mdpyReset(dev: MdpyState): void {
  const type = dev.type;
  if (type === null) return;
  const mem = dev.memory;
  const stride = type.width * type.bytepp;
  for (let y = 0; y < type.height; y++) mem.fill(Math.floor((y * 255) / type.height), y * stride, (y + 1) * stride);
}

/** The vendor capability payload after id, next and length: one pad byte, then format, width, height. */
function vendorCapPayload(type: MdpyType): Uint8Array {
  const payload = new Uint8Array(MDPY_VENDORCAP_SIZE - 3);
  const dv = new DataView(payload.buffer);
  dv.setUint32(1, type.format, true);
  dv.setUint32(5, type.width, true);
  dv.setUint32(9, type.height, true);
  return payload;
}

/** mdpy_init_dev(): framebuffer memfd, config space, BAR0 (and its display-region alias), gradient; the type is mdev->type. */
function mdpyInit(dev: MdpyState): void {
  const parent = dev.dev;
  if (!(parent instanceof MdevDevice)) throw new VfioError('EINVAL', 'an mdpy drives an mdev');
  const type = mdpyType(parent.type.sysfsName);
  const fbsize = mdpyFbSize(type);
  const fd = memfdCreate(`mdpy-${type.sysfsName}`, fbsize);
  try {
    dev.memblk = mmap(fd, 0, fbsize, true);
    dev.memfd = fd;
    dev.type = type;
    dev.memsize = fbsize;
    pciEmuInit(dev, {
      ids: {
        vendor: MDPY_PCI_VENDOR_ID,
        device: MDPY_PCI_DEVICE_ID,
        subVendor: MDPY_PCI_SUBVENDOR_ID,
        subDevice: MDPY_PCI_SUBDEVICE_ID,
        revision: 0x01,
        classCode: PCI_CLASS_DISPLAY_OTHER,
      },
      // mdpy has no interrupts.
      interruptPin: 0,
      bars: [{ index: 0, kind: 'mem32', size: fbsize, prefetchable: true }],
      capStart: MDPY_VENDORCAP_OFFSET,
      capabilities: (b) => {
        b.addVendor(vendorCapPayload(type));
        return undefined;
      },
      configure: (c) => c.setWord(PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY),
      onReset: () => mdpyReset(dev),
    });
    // Framebuffer pages written through the BAR are marked for migration; writes through an mmap are found by checksum.
    const migratable = new MigratableMemory(fd, fbsize);
    const bar0: PciEmuRegion = {
      size: fbsize,
      flags: RW,
      read: (off, buf) => buf.set(dev.memory.subarray(off, off + buf.length)),
      write: (off, buf) => {
        dev.memory.set(buf, off);
        migratable.markWritten(off, buf.length);
      },
      mmap: { fd, offset: 0 },
    };
    pciEmuSetRegion(dev, 0, bar0);
    pciEmuSetRegion(dev, MDPY_DISPLAY_REGION, bar0);
    mdpyReset(dev);
    mdpyMigrationInit(dev, migratable);
  } catch (err) {
    // Unwinds the mapping and the memfd: release is not called when init fails.
    if (dev.memblk !== null) munmap(dev.memblk);
    dev.memblk = null;
    dev.memfd = -1;
    close(fd);
    throw err;
  }
  // The device's own host is set after init; its parent's is the same.
  hostOf(parent).logger.info({ type: type.prettyName, width: type.width, height: type.height }, 'mdpy: init');
}

/** mdpy_release_dev(): the mapping and the memfd go (the core gave the instance back already, or will on the mdev's put). */
function mdpyRelease(dev: MdpyState): void {
  if (dev.memblk !== null) munmap(dev.memblk);
  dev.memblk = null;
  if (dev.memfd >= 0) close(dev.memfd);
  dev.memfd = -1;
}

/** VFIO_DEVICE_QUERY_GFX_PLANE (mdpy_query_gfx_plane): the primary plane is the display region. */
function mdpyQueryGfxPlane(dev: MdpyState, arg: Uint8Array): number {
  const plane = decodeVfioDeviceGfxPlaneInfo(arg);
  if ((plane.flags & VFIO_GFX_PLANE_TYPE_PROBE) !== 0) {
    check(plane.flags === (VFIO_GFX_PLANE_TYPE_PROBE | VFIO_GFX_PLANE_TYPE_REGION), 'EINVAL', 'mdpy offers region planes only');
    return 0;
  }
  check(plane.flags === VFIO_GFX_PLANE_TYPE_REGION, 'EINVAL', 'mdpy offers region planes only');
  const type = dev.type;
  if (type === null) throw new VfioError('ENODEV', 'mdpy without a type');
  const out = encodeVfioDeviceGfxPlaneInfo({
    ...plane,
    drmFormat: type.format,
    drmFormatMod: 0n,
    width: type.width,
    height: type.height,
    stride: type.width * type.bytepp,
    size: dev.memsize,
    xPos: 0,
    yPos: 0,
    xHot: 0,
    yHot: 0,
    regionIndex: MDPY_DISPLAY_REGION,
  });
  arg.set(out.subarray(0, VFIO_DEVICE_GFX_PLANE_INFO_MINSZ));
  return 0;
}

export const mdpyOps: VfioDeviceOps<MdpyState> = Object.freeze({
  ...pciEmuOps,
  ...pciEmuMigrationOps,
  name: 'vfio-mdpy',
  init: mdpyInit,
  release: mdpyRelease,
  /** pci-emu's ioctls plus QUERY_GFX_PLANE. */
  ioctl: (dev: MdpyState, cmd: number, arg: Uint8Array) =>
    cmd === VFIO_DEVICE_QUERY_GFX_PLANE ? mdpyQueryGfxPlane(dev, arg) : pciEmuIoctl(dev, cmd, arg),
});

/** The mdpy type named `name` ('vga', 'xga', 'hd'); EINVAL otherwise. */
export function mdpyType(name: string): MdpyType {
  const t = MDPY_TYPES.find((x) => x.sysfsName === name);
  if (t === undefined) throw new VfioError('EINVAL', `no mdpy type '${name}'`);
  return t;
}

/** vfio_alloc_device for mdpy (mdpy_probe): an mdpy for `mdev`, of its type, with one reference; not registered. */
export function mdpyCreate(mdev: MdevDevice): MdpyState {
  return allocDevice(MdpyState, mdev, mdpyOps);
}

/** The current framebuffer as a PNG: what a VMM's display of this device shows. */
export function screenshot(dev: MdpyState): Buffer {
  const type = dev.type;
  if (type === null) throw new VfioError('ENODEV', 'mdpy without a type');
  return framebufferToPng(dev.memory, { width: type.width, height: type.height, stride: type.width * type.bytepp, offset: 0, format: 'xrgb8888' });
}
