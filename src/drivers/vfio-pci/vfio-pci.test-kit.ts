// Test support for vfio-pci: a simulated PCI machine with the vfio-pci module loaded, functions bound through
// driver_override + bind as a user would, a VfioProcess to open them, and a cleanup that checks for leaks.
import { Host } from '../../base/host.js';
import { pciGetDevice, pciRemoveRootBus, pciScanRootBus } from '../../hw/pci/scan.js';
import type { PciRootBus } from '../../hw/pci/scan.js';
import type { PciDev } from '../../hw/pci/pci-dev.js';
import type { PciRootSpec } from '../../hw/pci/topology.js';
import { EFD_NONBLOCK, eventfd, close } from '../../native/index.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { VFIO_DEVICE_BIND_IOMMUFD, VFIO_DEVICE_ATTACH_IOMMUFD_PT, IOMMU_IOAS_ALLOC } from '../../uapi/ioctl.js';
import { vfioPciIndexToOffset } from '../../uapi/region-info.js';
import { ArrayBufferBacking } from '../../vfio/dma-space.js';
import { VfioProcess } from '../../vfio/vfio-process.js';
import { openViaGroup, u32s, view } from '../../vfio/uapi.test-kit.js';
import type { VfioPciCoreDevice } from '../vfio-pci-core/core-device.js';
import { vfioPciDeviceOf, vfioPciRegister } from './vfio-pci.js';
import type { VfioPciModule, VfioPciOptions } from './vfio-pci.js';

export interface PciBed {
  readonly host: Host;
  readonly root: PciRootBus;
  readonly module: VfioPciModule;
  readonly proc: VfioProcess;
  pdev(bdf: string): PciDev;
  /** driver_override + bind, as `echo vfio-pci > driver_override; echo BDF > bind`; returns the vfio device. */
  bind(bdf: string): VfioPciCoreDevice;
  /** An eventfd closed with the bed. */
  eventfd(): number;
  done(): Promise<void>;
}

/** User memory the bed's process has at this address (1 MiB). */
export const USER_VA = 0x10000000n;

/** `opts` are the vfio-pci module's (the request interval is 5 ms unless given). */
export function pciBed(spec: PciRootSpec, opts: VfioPciOptions = {}): PciBed {
  const mark = sanitizer.mark();
  const host = new Host();
  const root = pciScanRootBus(host, spec);
  const module = vfioPciRegister(host, { requestIntervalMs: 5, ...opts });
  const proc = new VfioProcess(host);
  proc.mm.map(USER_VA, new ArrayBufferBacking(1 << 20));
  const fds: number[] = [];
  const pdev = (bdf: string): PciDev => {
    const d = pciGetDevice(host, bdf);
    if (d === undefined) throw new Error(`no function ${bdf}`);
    return d;
  };
  return {
    host,
    root,
    module,
    proc,
    pdev,
    bind(bdf) {
      host.sysfs.write(`/sys/bus/pci/devices/${bdf}/driver_override`, 'vfio-pci');
      host.sysfs.write('/sys/bus/pci/drivers/vfio-pci/bind', bdf);
      const vdev = vfioPciDeviceOf(pdev(bdf));
      if (vdev === null) throw new Error(`${bdf} did not bind to vfio-pci`);
      return vdev;
    },
    eventfd() {
      const fd = eventfd(0, EFD_NONBLOCK);
      fds.push(fd);
      return fd;
    },
    async done() {
      proc.closeAll();
      await module.unregister();
      await pciRemoveRootBus(root);
      for (const fd of fds) close(fd);
      sanitizer.assertNoLeaks(mark);
    },
  };
}

/** Opens `vdev` through its group and a type1 container; returns the fds. */
export function openGroupPath(bed: PciBed, vdev: VfioPciCoreDevice): { container: number; group: number; device: number } {
  return openViaGroup(bed.proc, vdev);
}

/** Opens `vdev`'s cdev bound to a fresh iommufd attached to a new IOAS; returns the fds and the IOAS id. */
export function openCdevPath(bed: PciBed, vdev: VfioPciCoreDevice): { iommufd: number; device: number; ioas: number } {
  const iommufd = bed.proc.open('/dev/iommu');
  const alloc = u32s(12, 0, 0);
  bed.proc.ioctl(iommufd, IOMMU_IOAS_ALLOC, alloc);
  const ioas = view(alloc).getUint32(8, true);
  const device = bed.proc.open(vdev.cdevPath ?? '');
  bed.proc.ioctl(device, VFIO_DEVICE_BIND_IOMMUFD, u32s(16, 0, iommufd, 0));
  bed.proc.ioctl(device, VFIO_DEVICE_ATTACH_IOMMUFD_PT, u32s(12, 0, ioas));
  return { iommufd, device, ioas };
}

/** pread of `n` bytes (1, 2 or 4) at `offset` of region `index`, little-endian. */
export function regRead(bed: PciBed, fd: number, index: number, offset: number, n: 1 | 2 | 4): number {
  const b = new Uint8Array(n);
  bed.proc.pread(fd, b, Number(vfioPciIndexToOffset(index)) + offset);
  let v = 0;
  for (let i = n - 1; i >= 0; i--) v = v * 256 + (b[i] ?? 0);
  return v;
}

/** pwrite of `n` bytes (1, 2 or 4) of `value` at `offset` of region `index`. */
export function regWrite(bed: PciBed, fd: number, index: number, offset: number, n: 1 | 2 | 4, value: number): void {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor((value >>> 0) / 2 ** (8 * i)) & 0xff;
  bed.proc.pwrite(fd, b, Number(vfioPciIndexToOffset(index)) + offset);
}
