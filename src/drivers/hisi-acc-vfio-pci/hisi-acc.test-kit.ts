// Test support for hisi-acc-vfio-pci: a machine of accelerator PFs (each below its own ACS root port) with VFs
// enabled through their PF drivers, the module loaded, VFs bound by driver_override + bind, a VfioProcess whose
// guest memory is one memfd every opened VF maps at the same IOVA, a guest QM driving a VF through its device fd,
// the migration uAPI, and a cleanup that checks for leaks.
import { Host } from '../../base/host.js';
import { HisiAccPf } from '../../hw/hisi-qm/hisi-acc-pf.js';
import type { HisiAccPfOptions } from '../../hw/hisi-qm/hisi-acc-pf.js';
import { GUEST_MEM_SIZE, GuestQm } from '../../hw/hisi-qm/guest-qm.test-kit.js';
import { HISI_ACC_KINDS, PCI_VENDOR_ID_HUAWEI } from '../../hw/hisi-qm/qm-regs.js';
import { pciSriovSetNumVfs } from '../../hw/pci/iov.js';
import type { PciDev } from '../../hw/pci/pci-dev.js';
import { pciRegisterDriver, pciUnregisterDriver } from '../../hw/pci/pci-driver.js';
import { pciPfStubDriver } from '../../hw/pci/pf-stub.js';
import { pciGetDevice, pciRemoveRootBus, pciScanRootBus } from '../../hw/pci/scan.js';
import { EFD_NONBLOCK, close, eventfd, memfdCreate, mmap } from '../../native/index.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, VFIO_DEVICE_FEATURE_SET, VFIO_DEVICE_FEATURE_GET } from '../../uapi/feature.js';
import { VFIO_DEVICE_FEATURE, VFIO_IOMMU_MAP_DMA } from '../../uapi/ioctl.js';
import { VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE, encodeVfioIommuType1DmaMap } from '../../uapi/iommu-type1.js';
import { PCI_COMMAND, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY } from '../../uapi/pci-regs.js';
import { VFIO_PCI_CONFIG_REGION_INDEX, vfioPciIndexToOffset } from '../../uapi/region-info.js';
import { ArrayBufferBacking } from '../../vfio/dma-space.js';
import { openViaGroup, view } from '../../vfio/uapi.test-kit.js';
import { VfioProcess } from '../../vfio/vfio-process.js';
import type { HisiAccVfCoreDevice } from './hisi-acc-device.js';
import { hisiAccDeviceOf, hisiAccVfioPciRegister } from './hisi-acc-vfio-pci.js';
import type { HisiAccVfioPciModule } from './hisi-acc-vfio-pci.js';

/** One PF of the bed: its model's options, the VFs to enable, and whether pci-pf-stub drives it instead. */
export interface PfSpec extends HisiAccPfOptions {
  readonly numVfs: number;
  readonly stub?: boolean;
}

export const GUEST_VA = 0x40000000n;
export const GUEST_IOVA = 0x100000n;

export interface OpenVf {
  readonly container: number;
  readonly device: number;
  readonly guest: GuestQm;
}

export interface HisiBed {
  readonly host: Host;
  readonly proc: VfioProcess;
  readonly module: HisiAccVfioPciModule;
  readonly pfHw: readonly HisiAccPf[];
  /** The guest memory (the memfd every open VF reaches at GUEST_IOVA). */
  readonly mem: Uint8Array;
  readonly memfd: number;
  pf(i: number): PciDev;
  /** VF `n` of PF `i`, bound to hisi_acc_vfio_pci (driver_override + bind, as a user does). */
  bind(i: number, n: number): HisiAccVfCoreDevice;
  /** Opens `vdev` through its group and a new type1 container mapping the guest memory; memory and bus master on. */
  open(vdev: HisiAccVfCoreDevice): OpenVf;
  eventfd(): number;
  done(): Promise<void>;
}

/** PF `i` sits at 0000:0(i+1):00.0, its VF n at function n + 1. */
export async function hisiBed(specs: readonly PfSpec[]): Promise<HisiBed> {
  const mark = sanitizer.mark();
  const host = new Host();
  const pfHw = specs.map((s) => new HisiAccPf(s));
  const root = pciScanRootBus(host, { devices: pfHw.map((hw, i) => ({ device: 2 + i, bridge: 'root-port' as const, acs: true, below: [{ device: 0, hw }] })) });
  const pf = (i: number): PciDev => {
    const d = pciGetDevice(host, `0000:0${i + 1}:00.0`);
    if (d === undefined) throw new Error(`no PF ${i}`);
    return d;
  };
  const stubIds = specs.filter((s) => s.stub === true).map((s) => ({ vendor: PCI_VENDOR_ID_HUAWEI, device: HISI_ACC_KINDS[s.kind].pfDevice }));
  specs.forEach((s, i) => {
    if (s.stub === true) host.sysfs.write(`/sys/bus/pci/devices/${pf(i).bdf}/driver_override`, 'pci-pf-stub');
  });
  const stub = pciPfStubDriver(stubIds);
  if (stubIds.length > 0) pciRegisterDriver(host, stub);
  const module = hisiAccVfioPciRegister(host, { requestIntervalMs: 5 });
  for (const [i, s] of specs.entries()) await pciSriovSetNumVfs(pf(i), s.numVfs);
  const proc = new VfioProcess(host);
  const memfd = memfdCreate('guest', GUEST_MEM_SIZE);
  proc.mm.map(GUEST_VA, new ArrayBufferBacking(new Uint8Array(mmap(memfd, 0, GUEST_MEM_SIZE, true))));
  const mem = new Uint8Array(mmap(memfd, 0, GUEST_MEM_SIZE, true));
  const fds: number[] = [memfd];
  return {
    host,
    proc,
    module,
    pfHw,
    mem,
    memfd,
    pf,
    bind(i, n) {
      const bdf = `0000:0${i + 1}:00.${n + 1}`;
      host.sysfs.write(`/sys/bus/pci/devices/${bdf}/driver_override`, 'hisi_acc_vfio_pci');
      host.sysfs.write('/sys/bus/pci/drivers/hisi_acc_vfio_pci/bind', bdf);
      const d = pciGetDevice(host, bdf);
      const vdev = d === undefined ? null : hisiAccDeviceOf(d);
      if (vdev === null) throw new Error(`${bdf} did not bind to hisi_acc_vfio_pci`);
      return vdev;
    },
    open(vdev) {
      const { container, device } = openViaGroup(proc, vdev);
      const flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
      proc.ioctl(container, VFIO_IOMMU_MAP_DMA, encodeVfioIommuType1DmaMap({ argsz: 32, flags, vaddr: GUEST_VA, iova: GUEST_IOVA, size: BigInt(GUEST_MEM_SIZE) }));
      const cmd = new Uint8Array([PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 0]);
      proc.pwrite(device, cmd, Number(vfioPciIndexToOffset(VFIO_PCI_CONFIG_REGION_INDEX)) + PCI_COMMAND);
      return { container, device, guest: new GuestQm(vfQmIo(proc, device), mem, GUEST_IOVA) };
    },
    eventfd() {
      const fd = eventfd(0, EFD_NONBLOCK);
      fds.push(fd);
      return fd;
    },
    async done() {
      proc.closeAll();
      await module.unregister();
      if (stubIds.length > 0) await pciUnregisterDriver(host, stub);
      await pciRemoveRootBus(root);
      for (const fd of fds) close(fd);
      sanitizer.assertNoLeaks(mark);
    },
  };
}

/** The guest's dword access to the VF's QM: pread/pwrite of BAR2 through the device fd. */
export function vfQmIo(proc: VfioProcess, device: number): { readl(off: number): number; writel(off: number, v: number): void } {
  const bar2 = Number(vfioPciIndexToOffset(2));
  return {
    readl(off) {
      const b = new Uint8Array(4);
      proc.pread(device, b, bar2 + off);
      return view(b).getUint32(0, true);
    },
    writel(off, v) {
      const b = new Uint8Array(4);
      view(b).setUint32(0, v >>> 0, true);
      proc.pwrite(device, b, bar2 + off);
    },
  };
}

/** VFIO_DEVICE_FEATURE MIG_DEVICE_STATE SET: the data fd, or -1. */
export function migSet(proc: VfioProcess, device: number, state: number): number {
  const b = new Uint8Array(16);
  view(b).setUint32(0, 16, true);
  view(b).setUint32(4, (VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE) >>> 0, true);
  view(b).setUint32(8, state, true);
  proc.ioctl(device, VFIO_DEVICE_FEATURE, b);
  return view(b).getInt32(12, true);
}

/** VFIO_DEVICE_FEATURE MIG_DEVICE_STATE GET. */
export function migGet(proc: VfioProcess, device: number): number {
  const b = new Uint8Array(16);
  view(b).setUint32(0, 16, true);
  view(b).setUint32(4, (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE) >>> 0, true);
  proc.ioctl(device, VFIO_DEVICE_FEATURE, b);
  return view(b).getUint32(8, true);
}

/** Reads a data fd to its end in `chunk`-byte reads. */
export function readAll(proc: VfioProcess, fd: number, chunk = 64): Uint8Array {
  const parts: number[] = [];
  for (;;) {
    const b = new Uint8Array(chunk);
    const n = proc.read(fd, b);
    if (n === 0) return Uint8Array.from(parts);
    parts.push(...b.subarray(0, n));
  }
}
