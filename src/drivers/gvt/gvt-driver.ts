// The gvt module (i915's GVT-g with kvmgt.c's VFIO side): module init builds the simulated IGD at device 02.0 of
// its own host bridge (the domain and root bus the config's `igd` names; default the lowest free domain, bus 0),
// registers the i915 PCI driver whose probe makes the GPU an mdev parent with the GVTg_V5_* types it can hold
// (intel_gvt_init_device -> mdev_register_parent), and the vGPU mdev driver (intel_vgpu_mdev_driver); exit undoes it.
import type { Host } from '../../base/host.js';
import type { MdevDriver, MdevParent, MdevType } from '../../mdev/mdev-objects.js';
import { mdevRegisterDriver, mdevUnregisterDriver } from '../../mdev/mdev-bus.js';
import { mdevRegisterParent, mdevUnregisterParent } from '../../mdev/mdev-parent.js';
import { mdevVfioDriver } from '../../mdev/mdev-vfio.js';
import { I915Gpu } from '../../hw/i915/i915-gpu.js';
import type { I915GpuOptions } from '../../hw/i915/i915-gpu.js';
import { I915_KBL_GT2_DEVICE_ID, PCI_VENDOR_ID_INTEL } from '../../hw/i915/i915-regs.js';
import { pciRegisterDriver, pciUnregisterDriver } from '../../hw/pci/pci-driver.js';
import type { PciDriver } from '../../hw/pci/pci-bus-type.js';
import type { PciDev } from '../../hw/pci/pci-dev.js';
import { pciFreeDomain, pciRemoveRootBus, pciScanRootBus } from '../../hw/pci/scan.js';
import { VfioError } from '../../uapi/errno.js';
import type { VfioDevice } from '../../vfio/vfio-device.js';
import { z } from 'zod';
import { intRange } from '../../base/config-schema.js';
import type { DriverParams, VfioDriverDescriptor, VfioDriverModule } from '../descriptor.js';
import { parseParams } from '../params.js';
import { gvtDescription, gvtType } from './gvt-defs.js';
import { IntelGvt } from './gvt-resources.js';
import { GvtVgpu, gvtOf, gvtVgpuCreate } from './vgpu.js';
import { gvtScreenshot } from './vgpu-dmabuf.js';

/** intel_vgpu_mdev_driver: available_instances from what is left of the GPU, the description from the type. */
export const gvtMdevDriver: MdevDriver = mdevVfioDriver({
  name: 'intel_vgpu_mdev',
  getAvailable: (type: MdevType) => gvtOf(type.parent.dev).availableInstances(gvtType(type.sysfsName)),
  showDescription: (type: MdevType) => gvtDescription(gvtType(type.sysfsName)),
  create: (mdev) => gvtVgpuCreate(mdev),
});

/** The i915 PCI driver, as far as GVT-g needs it: probe sets up the GVT and the mdev parent, remove tears them down. */
function i915PciDriver(host: Host, parents: Map<PciDev, MdevParent>): PciDriver {
  return {
    name: 'i915',
    idTable: [{ vendor: PCI_VENDOR_ID_INTEL, device: I915_KBL_GT2_DEVICE_ID }],
    probe(pdev: PciDev) {
      if (!(pdev.hw instanceof I915Gpu)) throw new VfioError('ENODEV', `${pdev.bdf} is not a simulated i915`);
      const gvt = new IntelGvt(pdev.hw);
      // dev_set_drvdata(): what kdev_to_i915(dev)->gvt finds.
      pdev.driverData = gvt;
      try {
        parents.set(pdev, mdevRegisterParent(host, pdev, gvtMdevDriver, gvt.types()));
      } catch (err) {
        pdev.driverData = null;
        throw err;
      }
    },
    async remove(pdev: PciDev) {
      const parent = parents.get(pdev);
      parents.delete(pdev);
      // Waits for every vGPU's users; each vGPU's release gives its resources back to the GVT.
      if (parent !== undefined) await mdevUnregisterParent(parent);
      pdev.driverData = null;
    },
  };
}

/** Where the machine places the IGD's host bridge: a PCI domain and its root bus number. */
export interface GvtIgdPlacement {
  /** Default: the lowest domain no root bus of the host uses. */
  readonly domain?: number;
  /** Default 0. */
  readonly bus?: number;
}

/**
 * Module init: the IGD with `opts`' resources at 02.0 of the root bus `igd` names, the vGPU mdev driver and the
 * i915 PCI driver that binds the IGD. A domain and bus some root bus already has is EEXIST.
 */
export function gvtRegister(host: Host, opts: I915GpuOptions = {}, igd: GvtIgdPlacement = {}): VfioDriverModule {
  const gpu = new I915Gpu(opts);
  const undo: (() => unknown)[] = [() => gpu.destroy()];
  const parents = new Map<PciDev, MdevParent>();
  try {
    // The IGD sits at 02.0 of its own host bridge, where the machine puts it (a host bridge of that domain and bus
    // already there refuses the second one with EEXIST).
    const domain = igd.domain ?? pciFreeDomain(host);
    const root = pciScanRootBus(host, { domain, bus: igd.bus ?? 0, devices: [{ device: 2, hw: gpu }] });
    undo.push(() => pciRemoveRootBus(root));
    mdevRegisterDriver(host, gvtMdevDriver);
    undo.push(() => mdevUnregisterDriver(host, gvtMdevDriver));
    const pdrv = i915PciDriver(host, parents);
    pciRegisterDriver(host, pdrv);
    undo.push(() => pciUnregisterDriver(host, pdrv));
  } catch (err) {
    // Nothing was bound yet, so nothing here waits.
    for (const u of undo.reverse()) void u();
    throw err;
  }
  let exiting: Promise<void> | null = null;
  return {
    name: 'gvt',
    parents: () => [...parents.values()],
    unregister: () =>
      (exiting ??= (async () => {
        // The reverse of init: the PCI driver (removing every vGPU), the mdev driver, the bus, the hardware.
        for (const u of undo.reverse()) await u();
      })()),
  };
}

/** `modules.gvt`: the simulated GPU's resources. */
const gvtModuleOptions = z.strictObject({
  apertureMb: z
    .union([z.literal(256), z.literal(512), z.literal(1024), z.literal(2048)])
    .optional()
    .describe('the aperture (mappable graphics memory, BAR2) in MiB: 256, 512, 1024 (default) or 2048'),
  hiddenMb: intRange(512, 6144).optional().describe('hidden (high) graphics memory in MiB (default 3072)'),
  fences: intRange(8, 32).optional().describe('fence registers (default 32)'),
  igd: z
    .strictObject({
      domain: intRange(0, 0xffff).optional().describe('PCI domain of the host bridge (default: the lowest one free)'),
      bus: intRange(0, 255).optional().describe('its root bus number (default 0)'),
    })
    .optional()
    .describe('where the machine places the IGD (device 02.0 of its own host bridge)'),
});

/** The registry's entry for gvt. */
export const driver: VfioDriverDescriptor = Object.freeze({
  name: 'gvt',
  bus: 'mdev',
  summary: 'Intel GVT-g vGPUs (i915-GVTg_V5_*) on a simulated IGD 8086:5912 at 02.0 of its own host bridge (i915/gvt/kvmgt.c)',
  guestHint: "the guest's i915 binds 8086:5912 and finds the GVT-g PVINFO page (dmesg: 'Virtual GPU for Intel GVT-g detected')",
  module: { shape: () => gvtModuleOptions.shape },
  register: (host: Host, options: DriverParams) => {
    const o = parseParams(gvtModuleOptions, options, 'gvt module');
    return gvtRegister(host, {
      ...(o.apertureMb !== undefined ? { apertureMb: o.apertureMb } : {}),
      ...(o.hiddenMb !== undefined ? { hiddenMb: o.hiddenMb } : {}),
      ...(o.fences !== undefined ? { fences: o.fences } : {}),
    }, {
      ...(o.igd?.domain !== undefined ? { domain: o.igd.domain } : {}),
      ...(o.igd?.bus !== undefined ? { bus: o.igd.bus } : {}),
    });
  },
  screenshot: (dev: VfioDevice) => {
    if (!(dev instanceof GvtVgpu)) throw new VfioError('EINVAL', `${dev.name} is not a GVT-g vGPU`);
    return gvtScreenshot(dev);
  },
});
