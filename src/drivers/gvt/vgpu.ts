// A GVT-g vGPU as a VFIO device (drivers/gpu/drm/i915/gvt/kvmgt.c intel_vgpu_ops after the series: init_dev creates
// the vGPU from its type, release_dev destroys it): Intel IGD config space, BAR0 registers and GTT, BAR2 the
// aperture (mmap of the vGPU's slice), the OpRegion and EDID regions, INTx and MSI, the dmabuf plane queries.
import type { Device } from '../../base/device.js';
import { hostOf } from '../../base/device.js';
import { MdevDevice } from '../../mdev/mdev-objects.js';
import { VfioError, check } from '../../uapi/errno.js';
import { PCI_COMMAND, PCI_COMMAND_IO, PCI_COMMAND_MEMORY } from '../../uapi/pci-regs.js';
import { PCI_VENDOR_ID_INTEL, I915_GMADR_BAR, I915_GTTMMADR_SIZE } from '../../hw/i915/i915-regs.js';
import { I915Gpu, dwordAccess } from '../../hw/i915/i915-gpu.js';
import { VFIO_REGION_SUBTYPE_GFX_EDID, VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION, VFIO_REGION_TYPE_GFX, VFIO_REGION_TYPE_PCI_VENDOR_TYPE, vfioRegionCapType } from '../../uapi/region-caps.js';
import { VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE } from '../../uapi/region-info.js';
import { VFIO_DEVICE_GET_GFX_DMABUF, VFIO_DEVICE_QUERY_GFX_PLANE } from '../../uapi/ioctl.js';
import { allocDevice } from '../../vfio/vfio-device.js';
import type { VfioDeviceOps } from '../../vfio/vfio-ops.js';
import { VfioPciEmuDevice, pciEmuInit, pciEmuSetRegion } from '../../emu/pci-emu-device.js';
import { pciEmuCloseDevice, pciEmuIoctl, pciEmuOps } from '../../emu/pci-emu-ops.js';
import { pciEmuSplitAccess } from '../../emu/regions.js';
import { VfioGfxEdid } from '../../emu/gfx-edid.js';
import { GfxDmabufTable } from '../../emu/gfx-dmabuf.js';
import { GVT_EDID_BLOB_OFFSET, GVT_EDID_REGION_INDEX, GVT_EDID_SIZE, GVT_OPREGION_REGION_INDEX, GVT_OPREGION_SIZE, gvtEdidResolution, gvtType } from './gvt-defs.js';
import type { GvtVgpuType } from './gvt-defs.js';
import { IntelGvt } from './gvt-resources.js';
import type { GvtVgpuResources } from './gvt-resources.js';
import { GvtVgpuMmio } from './vgpu-mmio.js';
import { gvtBuildOpregion } from './opregion.js';
import { gvtGetDmabuf, gvtQueryPlane } from './vgpu-dmabuf.js';

const R = VFIO_REGION_INFO_FLAG_READ;
const RW = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
/** The ASL storage register: the guest writes its OpRegion's address here. */
const PCI_ASLS = 0xfc;

/** struct intel_vgpu: the vfio device, its GVT, type, resources and virtual hardware. */
export class GvtVgpu extends VfioPciEmuDevice {
  gvt: IntelGvt | null = null;
  type: GvtVgpuType | null = null;
  res: GvtVgpuResources | null = null;
  mmio: GvtVgpuMmio | null = null;
  edid: VfioGfxEdid | null = null;
  opregion: Uint8Array | null = null;
  /** The planes handed out by QUERY_GFX_PLANE (dmabuf_obj_list_head); forgotten at the last close. */
  readonly dmabufs = new GfxDmabufTable();

  /** The GVT, resources and virtual registers, which exist from init to release. */
  live(): { gvt: IntelGvt; res: GvtVgpuResources; mmio: GvtVgpuMmio; gpu: I915Gpu } {
    const { gvt, res, mmio } = this;
    if (gvt === null || res === null || mmio === null) throw new VfioError('ENODEV', 'vGPU used before init or after release');
    return { gvt, res, mmio, gpu: gvt.gpu };
  }
}

/** kdev_to_i915(dev)->gvt: the GVT state the i915 driver keeps in the GPU's drvdata; ENODEV when there is none. */
export function gvtOf(dev: Device): IntelGvt {
  const gvt = dev.driverData;
  if (!(gvt instanceof IntelGvt)) throw new VfioError('ENODEV', `${dev.name} is not a GVT-g capable GPU`);
  return gvt;
}

/** BAR2: the aperture; only the vGPU's slice reads and writes (intel_vgpu_aperture_rw: EINVAL elsewhere). */
function apertureRw(dev: GvtVgpu, offset: number, buf: Uint8Array, write: boolean): void {
  const { res, gpu } = dev.live();
  check(offset >= res.lowBase && offset + buf.length <= res.lowBase + res.lowSize, 'EINVAL', `aperture offset 0x${offset.toString(16)} outside the vGPU`);
  if (write) gpu.gmWrite(offset, buf);
  else gpu.gmRead(offset, buf);
}

/** intel_vgpu_init_dev -> intel_gvt_create_vgpu: resources from the type (ENOSPC, nothing taken), then the device. */
function gvtVgpuInit(dev: GvtVgpu): void {
  const mdev = dev.dev;
  if (!(mdev instanceof MdevDevice)) throw new VfioError('EINVAL', 'a vGPU drives an mdev');
  const gvt = gvtOf(mdev.type.parent.dev);
  const type = gvtType(mdev.type.sysfsName);
  const res = gvt.alloc(type);
  try {
    const gpu = gvt.gpu;
    dev.gvt = gvt;
    dev.type = type;
    dev.res = res;
    // The virtual display's line drives INTx or MSI once config space exists (it is low until then).
    dev.mmio = new GvtVgpuMmio(res, hostOf(mdev).logger, (level) => {
      if (dev.pciIrq !== null) dev.setIrqLevel(level);
    });
    const { xres, yres } = gvtEdidResolution(type.edid);
    dev.edid = new VfioGfxEdid(xres, yres, GVT_EDID_BLOB_OFFSET, GVT_EDID_SIZE);
    dev.opregion = gvtBuildOpregion();
    // intel_vgpu_init_cfg_space: the physical GPU's identity, its BAR sizes, MSI.
    const phys = gpu.config;
    pciEmuInit(dev, {
      ids: {
        vendor: PCI_VENDOR_ID_INTEL,
        device: phys.getWord(0x02),
        subVendor: phys.getWord(0x2c),
        subDevice: phys.getWord(0x2e),
        revision: phys.getByte(0x08),
        classCode: phys.getWord(0x0a),
      },
      bars: [
        { index: 0, kind: 'mem64', size: I915_GTTMMADR_SIZE },
        { index: I915_GMADR_BAR, kind: 'mem64', size: gpu.apertureSize, prefetchable: true },
      ],
      capStart: 0xac,
      capabilities: (b) => ({ msi: b.addMsi({ vectors: 1 }) }),
      configure: (c) => {
        c.setWord(PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
        c.setWritable(PCI_ASLS, 4, 0xffffffff);
      },
      onReset: () => dev.live().mmio.reset(),
    });
    pciEmuSetRegion(dev, 0, {
      size: I915_GTTMMADR_SIZE,
      flags: RW,
      read: (off, buf) => dwordAccess(off, buf, (at) => dev.live().mmio.read(at), null),
      write: (off, buf) => dwordAccess(off, buf, (at) => dev.live().mmio.read(at), (at, v) => dev.live().mmio.write(at, v)),
    });
    pciEmuSetRegion(dev, I915_GMADR_BAR, {
      size: gpu.apertureSize,
      flags: RW,
      read: (off, buf) => apertureRw(dev, off, buf, false),
      write: (off, buf) => apertureRw(dev, off, buf, true),
      // intel_vgpu_mmap: the aperture's pages, only inside the vGPU's slice.
      mmap: { fd: gpu.gmFd, offset: 0, areas: [{ offset: BigInt(res.lowBase), size: BigInt(res.lowSize) }] },
    });
    const opregion = dev.opregion;
    pciEmuSetRegion(dev, GVT_OPREGION_REGION_INDEX, {
      size: GVT_OPREGION_SIZE,
      flags: R,
      read: (off, buf) => buf.set(opregion.subarray(off, off + buf.length)),
      caps: [vfioRegionCapType(VFIO_REGION_TYPE_PCI_VENDOR_TYPE | PCI_VENDOR_ID_INTEL, VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION)],
    });
    const edid = dev.edid;
    pciEmuSetRegion(dev, GVT_EDID_REGION_INDEX, {
      size: edid.regionSize,
      flags: RW,
      read: (off, buf) => pciEmuSplitAccess(off, buf, (at, chunk) => edid.regionAccess(at, chunk, false)),
      write: (off, buf) => pciEmuSplitAccess(off, buf, (at, chunk) => edid.regionAccess(at, chunk, true)),
      caps: [vfioRegionCapType(VFIO_REGION_TYPE_GFX, VFIO_REGION_SUBTYPE_GFX_EDID)],
    });
  } catch (err) {
    // Release is not called when init fails: the resources go back here.
    gvt.free(res);
    dev.gvt = null;
    dev.res = null;
    throw err;
  }
  hostOf(mdev).logger.info({ vgpu: res.id, type: type.sysfsName }, 'gvt: vGPU created');
}

/** intel_vgpu_release_dev -> intel_gvt_destroy_vgpu: the resources go back to the GPU. */
function gvtVgpuRelease(dev: GvtVgpu): void {
  if (dev.gvt !== null && dev.res !== null) dev.gvt.free(dev.res);
  dev.res = null;
  dev.mmio = null;
}

/** intel_vgpu_close_device: IRQ triggers dropped and the dmabuf objects forgotten (intel_vgpu_dmabuf_cleanup). */
function gvtVgpuCloseDevice(dev: GvtVgpu): void {
  pciEmuCloseDevice(dev);
  dev.dmabufs.clear();
}

export const gvtVgpuOps: VfioDeviceOps<GvtVgpu> = Object.freeze({
  ...pciEmuOps,
  name: 'intel_vgpu',
  init: gvtVgpuInit,
  release: gvtVgpuRelease,
  closeDevice: gvtVgpuCloseDevice,
  /** pci-emu's ioctls plus QUERY_GFX_PLANE and GET_GFX_DMABUF (intel_vgpu_ioctl). */
  ioctl: (dev: GvtVgpu, cmd: number, arg: Uint8Array) =>
    cmd === VFIO_DEVICE_QUERY_GFX_PLANE ? gvtQueryPlane(dev, arg) : cmd === VFIO_DEVICE_GET_GFX_DMABUF ? gvtGetDmabuf(dev, arg) : pciEmuIoctl(dev, cmd, arg),
});

/** vfio_alloc_device for a vGPU (intel_vgpu_probe): a vGPU for `mdev`, of its type, from its parent's GVT. */
export function gvtVgpuCreate(mdev: MdevDevice): GvtVgpu {
  return allocDevice(GvtVgpu, mdev, gvtVgpuOps);
}
