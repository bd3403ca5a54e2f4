// mbochs, the mediated bochs display (samples/vfio-mdev/mbochs.c) on pci-emu: PCI 1234:1111 with VRAM in BAR0 (a
// sparse memfd the user may mmap), the MMIO BAR2 (EDID block, bochs dispi and QEMU extension registers) and a
// GFX/EDID region through which the VMM sets the monitor's EDID; QUERY_GFX_PLANE / GET_GFX_DMABUF hand out the
// scanout as a dmabuf (mbochs_query_gfx_plane, mbochs_get_gfx_dmabuf). Migration (STOP_COPY, P2P, PRE_COPY with
// VRAM sent page by page) is our addition, in mbochs-migration.ts: the kernel's mbochs does not migrate.
import { hostOf } from '../../base/device.js';
import { MdevDevice } from '../../mdev/mdev-objects.js';
import { close, ftruncate, memfdCreate, mmap, munmap } from '../../native/index.js';
import { VfioError, check } from '../../uapi/errno.js';
import { PCI_CLASS_DISPLAY_OTHER, PCI_COMMAND, PCI_COMMAND_IO, PCI_COMMAND_MEMORY } from '../../uapi/pci-regs.js';
import { VFIO_REGION_SUBTYPE_GFX_EDID, VFIO_REGION_TYPE_GFX, vfioRegionCapType } from '../../uapi/region-caps.js';
import { VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE } from '../../uapi/region-info.js';
import { allocDevice } from '../../vfio/vfio-device.js';
import type { VfioDeviceOps } from '../../vfio/vfio-ops.js';
import { VfioPciEmuDevice, pciEmuInit, pciEmuSetRegion } from '../../emu/pci-emu-device.js';
import { pciEmuCloseDevice, pciEmuIoctl, pciEmuOps } from '../../emu/pci-emu-ops.js';
import { pciEmuMigrationOps } from '../../emu/migration-arcs.js';
import { MigratableMemory } from '../../emu/migratable-memory.js';
import { mbochsMigrationInit } from './mbochs-migration.js';
import { GfxDmabufTable, gfxDmabufExport, gfxDmabufIdArg, gfxPlaneReply } from '../../emu/gfx-dmabuf.js';
import type { GfxPlaneFb } from '../../emu/gfx-dmabuf.js';
import { DRM_FORMAT_XRGB8888 } from '../../emu/framebuffer-png.js';
import { VFIO_DEVICE_GET_GFX_DMABUF, VFIO_DEVICE_QUERY_GFX_PLANE } from '../../uapi/ioctl.js';
import { DRM_PLANE_TYPE_PRIMARY, VFIO_GFX_PLANE_TYPE_DMABUF, VFIO_GFX_PLANE_TYPE_PROBE, decodeVfioDeviceGfxPlaneInfo } from '../../uapi/gfx-plane.js';
import { pciEmuSplitAccess } from '../../emu/regions.js';
import { framebufferToPng } from '../../emu/framebuffer-png.js';
import { BochsDispi } from '../../hw/bochs-dispi.js';
import {
  MBOCHS_EDID_BLOB_OFFSET,
  MBOCHS_EDID_REGION_INDEX,
  MBOCHS_EDID_SIZE,
  MBOCHS_MMIO_BAR_SIZE,
  MBOCHS_MMIO_EDID_SIZE,
  MBOCHS_PCI_DEVICE_ID,
  MBOCHS_PCI_SUBDEVICE_ID,
  MBOCHS_PCI_SUBVENDOR_ID,
  MBOCHS_PCI_VENDOR_ID,
} from './mbochs-defs.js';
import { mbochsBudgetOf, mbochsType } from './mbochs-defs.js';
import type { MbochsBudget, MbochsType } from './mbochs-defs.js';
import { MbochsEdid } from './mbochs-edid-regs.js';

const RW = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
const MIB = 1024 * 1024;

/** struct mdev_state of mbochs.c. */
export class MbochsState extends VfioPciEmuDevice {
  type: MbochsType | null = null;
  /** Where the type's memory came from and goes back to in release (none for a standalone device). */
  budget: MbochsBudget | null = null;
  /** VRAM bytes (BAR0). */
  memsize = 0;
  /** VRAM's memfd: sparse, pages exist once touched; closed in release. */
  memfd = -1;
  /** This process's shared mapping of the memfd. */
  vram: ArrayBuffer | null = null;
  dispi: BochsDispi | null = null;
  edid: MbochsEdid | null = null;
  /** The scanouts handed out by QUERY_GFX_PLANE (mdev_state->dmabufs); forgotten at the last close. */
  readonly dmabufs = new GfxDmabufTable();

  get memory(): Uint8Array {
    const m = this.vram;
    if (m === null) throw new Error('mbochs VRAM used before init or after release');
    return new Uint8Array(m);
  }

  dispiOf(): BochsDispi {
    const d = this.dispi;
    if (d === null) throw new Error('mbochs dispi used before init');
    return d;
  }

  edidOf(): MbochsEdid {
    const e = this.edid;
    if (e === null) throw new Error('mbochs EDID used before init');
    return e;
  }
}

function readLe(chunk: Uint8Array): number {
  let v = 0;
  for (let i = chunk.length - 1; i >= 0; i--) v = v * 256 + (chunk[i] ?? 0);
  return v;
}

function writeLe(chunk: Uint8Array, value: number): void {
  for (let i = 0; i < chunk.length; i++) chunk[i] = Math.floor(value / 2 ** (8 * i)) & 0xff;
}

/** handle_mmio_read/handle_mmio_write: EDID block, dispi and QEMU extension registers; the rest reads 0. */
function mmioAccess(dev: MbochsState, offset: number, chunk: Uint8Array, isWrite: boolean): void {
  const dispi = dev.dispiOf();
  const size = chunk.length === 4 ? 4 : chunk.length === 2 ? 2 : 1;
  if (offset < MBOCHS_MMIO_EDID_SIZE) {
    if (!isWrite) dev.edidOf().mmioRead(offset, chunk);
  } else if (dispi.handles(offset) && dispi.handles(offset + size - 1)) {
    if (isWrite) dispi.mmioWrite(offset, size, readLe(chunk));
    else writeLe(chunk, dispi.mmioRead(offset, size));
  } else {
    // VGA ports (0x400) and holes: unhandled, as in the sample.
    if (!isWrite) chunk.fill(0);
    dev.log.debug({ device: dev.name, offset, size, isWrite }, 'mbochs: unhandled MMIO access');
  }
}

/** The EDID region: registers below MBOCHS_EDID_BLOB_OFFSET, the blob above. */
function edidRegionAccess(dev: MbochsState, offset: number, chunk: Uint8Array, isWrite: boolean): void {
  const edid = dev.edidOf();
  if (offset < MBOCHS_EDID_BLOB_OFFSET) edid.regAccess(offset, chunk, isWrite);
  else edid.blobAccess(offset - MBOCHS_EDID_BLOB_OFFSET, chunk, isWrite);
}

/** mbochs_reset(): the dispi registers back to power-on (ID5, video memory size). */
export function mbochsReset(dev: MbochsState): void {
  dev.dispiOf().reset();
}

/** mbochs_init_dev(): memory from the budget (ENOSPC), VRAM memfd, config space, BARs and the EDID region. */
function mbochsInit(dev: MbochsState): void {
  const parent = dev.dev;
  if (!(parent instanceof MdevDevice)) throw new VfioError('EINVAL', 'an mbochs drives an mdev');
  // The type is mdev->type; the memory comes from the host's budget (the module's mbochs_avail_mbytes).
  const type = mbochsType(parent.type.sysfsName);
  const budget = mbochsBudgetOf(hostOf(parent));
  const undo: (() => void)[] = [];
  try {
    budget.take(type);
    undo.push(() => budget.put(type));
    const memsize = type.mbytes * MIB;
    const fd = memfdCreate(`mbochs-${type.sysfsName}`, memsize);
    undo.push(() => close(fd));
    const vram = mmap(fd, 0, memsize, true);
    undo.push(() => munmap(vram));
    dev.type = type;
    dev.budget = budget;
    dev.memsize = memsize;
    dev.memfd = fd;
    dev.vram = vram;
    dev.dispi = new BochsDispi(memsize);
    dev.edid = new MbochsEdid(type.maxX, type.maxY);
    pciEmuInit(dev, {
      ids: {
        vendor: MBOCHS_PCI_VENDOR_ID,
        device: MBOCHS_PCI_DEVICE_ID,
        subVendor: MBOCHS_PCI_SUBVENDOR_ID,
        subDevice: MBOCHS_PCI_SUBDEVICE_ID,
        revision: 0x01,
        classCode: PCI_CLASS_DISPLAY_OTHER,
      },
      // mbochs has no interrupts.
      interruptPin: 0,
      bars: [
        { index: 0, kind: 'mem32', size: memsize, prefetchable: true },
        { index: 2, kind: 'mem32', size: MBOCHS_MMIO_BAR_SIZE },
      ],
      configure: (c) => c.setWord(PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY),
      onReset: () => mbochsReset(dev),
    });
    // VRAM pages written through the BAR are marked for migration; writes through an mmap are found by checksum.
    const migratable = new MigratableMemory(fd, memsize);
    pciEmuSetRegion(dev, 0, {
      size: memsize,
      flags: RW,
      read: (off, buf) => buf.set(dev.memory.subarray(off, off + buf.length)),
      write: (off, buf) => {
        dev.memory.set(buf, off);
        migratable.markWritten(off, buf.length);
      },
      mmap: { fd, offset: 0 },
    });
    pciEmuSetRegion(dev, 2, {
      size: MBOCHS_MMIO_BAR_SIZE,
      flags: RW,
      read: (off, buf) => pciEmuSplitAccess(off, buf, (at, chunk) => mmioAccess(dev, at, chunk, false)),
      write: (off, buf) => pciEmuSplitAccess(off, buf, (at, chunk) => mmioAccess(dev, at, chunk, true)),
    });
    pciEmuSetRegion(dev, MBOCHS_EDID_REGION_INDEX, {
      size: MBOCHS_EDID_SIZE,
      flags: RW,
      read: (off, buf) => pciEmuSplitAccess(off, buf, (at, chunk) => edidRegionAccess(dev, at, chunk, false)),
      write: (off, buf) => pciEmuSplitAccess(off, buf, (at, chunk) => edidRegionAccess(dev, at, chunk, true)),
      caps: [vfioRegionCapType(VFIO_REGION_TYPE_GFX, VFIO_REGION_SUBTYPE_GFX_EDID)],
    });
    mbochsMigrationInit(dev, migratable);
  } catch (err) {
    // Release is not called when init fails: give back everything taken so far, in reverse.
    for (const u of undo.reverse()) u();
    dev.vram = null;
    dev.memfd = -1;
    throw err;
  }
  hostOf(parent).logger.info({ type: type.prettyName, mbytes: type.mbytes }, 'mbochs: init');
}

/** mbochs_release_dev(): VRAM unmapped and its memfd closed, the memory back to the budget. */
function mbochsRelease(dev: MbochsState): void {
  if (dev.vram !== null) munmap(dev.vram);
  dev.vram = null;
  if (dev.memfd >= 0) close(dev.memfd);
  dev.memfd = -1;
  if (dev.type !== null) dev.budget?.put(dev.type);
}

/**
 * mbochs_close_device(): the VRAM pages are given back (mbochs_put_pages), so the next open starts from
 * zeroed memory; shrinking the memfd to 0 and back frees them and keeps the size (and every mapping valid).
 */
function mbochsCloseDevice(dev: MbochsState): void {
  pciEmuCloseDevice(dev);
  dev.dmabufs.clear();
  if (dev.memfd >= 0) {
    ftruncate(dev.memfd, 0);
    ftruncate(dev.memfd, dev.memsize);
  }
}

/** mbochs_check_framebuffer(): the dispi scanout when it is a 32-bit mode inside VRAM, else null. */
function mbochsFramebuffer(dev: MbochsState): GfxPlaneFb | null {
  const s = dev.dispiOf().scanout();
  if (!s.enabled || s.format !== 'xrgb8888') return null;
  const size = s.stride * s.height;
  if (s.offset + size > dev.memsize) return null;
  return { start: s.offset, drmFormat: DRM_FORMAT_XRGB8888, drmFormatMod: 0n, width: s.width, height: s.height, stride: s.stride, size, xPos: 0, yPos: 0, xHot: 0, yHot: 0 };
}

/** VFIO_DEVICE_QUERY_GFX_PLANE (mbochs_query_gfx_plane): dmabuf planes; no scanout reports zeros and id 0. */
function mbochsQueryGfxPlane(dev: MbochsState, arg: Uint8Array): number {
  const plane = decodeVfioDeviceGfxPlaneInfo(arg);
  if ((plane.flags & VFIO_GFX_PLANE_TYPE_PROBE) !== 0) {
    check(plane.flags === (VFIO_GFX_PLANE_TYPE_PROBE | VFIO_GFX_PLANE_TYPE_DMABUF), 'EINVAL', 'mbochs offers dmabuf planes only');
    return 0;
  }
  check(plane.flags === VFIO_GFX_PLANE_TYPE_DMABUF, 'EINVAL', 'mbochs offers dmabuf planes only');
  const fb = plane.drmPlaneType === DRM_PLANE_TYPE_PRIMARY ? mbochsFramebuffer(dev) : null;
  gfxPlaneReply(arg, plane, fb, fb === null ? 0 : dev.dmabufs.pick(fb).id);
  return 0;
}

/** VFIO_DEVICE_GET_GFX_DMABUF (mbochs_get_gfx_dmabuf): a dma-buf fd of the scanout's VRAM pages; ENOENT for an unknown id. */
function mbochsGetGfxDmabuf(dev: MbochsState, arg: Uint8Array): number {
  const id = gfxDmabufIdArg(arg);
  const obj = dev.dmabufs.get(id);
  if (obj === undefined) throw new VfioError('ENOENT', `mbochs: no dmabuf ${id}`);
  return gfxDmabufExport('mbochs-dmabuf', obj, dev.memfd);
}

export const mbochsOps: VfioDeviceOps<MbochsState> = Object.freeze({
  ...pciEmuOps,
  ...pciEmuMigrationOps,
  name: 'vfio-mbochs',
  init: mbochsInit,
  release: mbochsRelease,
  closeDevice: mbochsCloseDevice,
  /** pci-emu's ioctls plus QUERY_GFX_PLANE and GET_GFX_DMABUF. */
  ioctl: (dev: MbochsState, cmd: number, arg: Uint8Array) =>
    cmd === VFIO_DEVICE_QUERY_GFX_PLANE ? mbochsQueryGfxPlane(dev, arg) : cmd === VFIO_DEVICE_GET_GFX_DMABUF ? mbochsGetGfxDmabuf(dev, arg) : pciEmuIoctl(dev, cmd, arg),
});

/** vfio_alloc_device for mbochs (mbochs_probe): a device for `mdev`, of its type, memory from the host's budget; not registered. */
export function mbochsCreate(mdev: MdevDevice): MbochsState {
  return allocDevice(MbochsState, mdev, mbochsOps);
}

/** The current dispi scanout as a PNG; ENODATA (with the reason) when the display shows nothing. */
export function screenshot(dev: MbochsState): Buffer {
  const s = dev.dispiOf().scanout();
  if (!s.enabled) throw new VfioError('ENODATA', `mbochs scanout: ${s.reason}`);
  return framebufferToPng(dev.memory, {
    width: s.width,
    height: s.height,
    stride: s.stride,
    offset: s.offset,
    format: s.format,
    bigEndian: s.bigEndian,
  });
}
