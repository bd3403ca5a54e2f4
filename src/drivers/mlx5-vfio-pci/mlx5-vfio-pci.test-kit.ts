// Test support for mlx5-vfio-pci: a host whose PCI machine has a ConnectX PF with VFs enabled, the module loaded,
// VFs bound through driver_override + bind, a VfioProcess with guest memory in a memfd, VFs opened through their
// group with a type1 container and driven through pread/pwrite, and the migration feature ioctls.
import { Host } from '../../base/host.js';
import { Mlx5Pf } from '../../hw/mlx5/pf.js';
import type { Mlx5PfOptions } from '../../hw/mlx5/pf.js';
import { GUEST_SIZE, Mlx5Guest } from '../../hw/mlx5/mlx5.test-kit.js';
import { pciEnableSriov } from '../../hw/pci/iov.js';
import { pciGetDevice, pciRemoveRootBus, pciScanRootBus } from '../../hw/pci/scan.js';
import type { PciRootBus } from '../../hw/pci/scan.js';
import { EFD_NONBLOCK, close, eventfd, memfdCreate, mmap } from '../../native/index.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { VFIO_DEVICE_FEATURE_GET, VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, VFIO_DEVICE_FEATURE_SET } from '../../uapi/feature.js';
import { VFIO_DEVICE_FEATURE, VFIO_DEVICE_SET_IRQS, VFIO_IOMMU_MAP_DMA } from '../../uapi/ioctl.js';
import { VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE, encodeVfioIommuType1DmaMap } from '../../uapi/iommu-type1.js';
import { VFIO_PCI_MSIX_IRQ_INDEX } from '../../uapi/irq-info.js';
import { encodeVfioIrqSet, vfioIrqSetOfEventfds } from '../../uapi/irq-set.js';
import { PCI_COMMAND, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY } from '../../uapi/pci-regs.js';
import { VFIO_PCI_CONFIG_REGION_INDEX, vfioPciIndexToOffset } from '../../uapi/region-info.js';
import { ArrayBufferBacking } from '../../vfio/dma-space.js';
import { openViaGroup, view } from '../../vfio/uapi.test-kit.js';
import { VfioProcess } from '../../vfio/vfio-process.js';
import type { Mlx5VfPciCoreDevice } from './device.js';
import { MLX5_VFIO_PCI_DRIVER, mlx5VfioPciRegister, mlx5vfDeviceOf } from './mlx5-vfio-pci.js';
import type { Mlx5VfioPciModule, Mlx5VfioPciOptions } from './mlx5-vfio-pci.js';

/** Where the guest memory sits in the process and behind the IOMMU. */
export const GUEST_VA = 0x40000000n;
export const GUEST_IOVA = 0x100000n;
export const VF0 = '0000:00:01.1';
export const VF1 = '0000:00:01.2';

/** Guest memory: a memfd both a process and a test can see. */
export interface GuestMemory {
  readonly fd: number;
  readonly bytes: Uint8Array;
}

export function guestMemory(): GuestMemory {
  const fd = memfdCreate('guest', GUEST_SIZE);
  return { fd, bytes: new Uint8Array(mmap(fd, 0, GUEST_SIZE, true)) };
}

/** An opened VF: its fds, the guest driving it, and its MSI-X eventfds. */
export interface OpenVf {
  readonly vdev: Mlx5VfPciCoreDevice;
  readonly device: number;
  readonly container: number;
  readonly guest: Mlx5Guest;
  readonly vectors: number[];
}

export interface Mlx5Bed {
  readonly host: Host;
  readonly pf: Mlx5Pf;
  readonly root: PciRootBus;
  readonly module: Mlx5VfioPciModule;
  readonly proc: VfioProcess;
  /** driver_override + bind, as a user does; the VF's device. */
  bind(bdf: string): Mlx5VfPciCoreDevice;
  /** Opens a bound VF through its group, maps `mem` at GUEST_IOVA, turns on memory and bus mastering, MSI-X to eventfds. */
  open(vdev: Mlx5VfPciCoreDevice, mem: GuestMemory): OpenVf;
  done(): Promise<void>;
}

export function mlx5Bed(pfOpts: Mlx5PfOptions = {}, modOpts: Mlx5VfioPciOptions = {}): Mlx5Bed {
  const mark = sanitizer.mark();
  const host = new Host();
  const pf = new Mlx5Pf({ totalVfs: 2, ...pfOpts });
  const root = pciScanRootBus(host, { devices: [{ device: 1, hw: pf }] });
  const module = mlx5VfioPciRegister(host, { requestIntervalMs: 5, ...modOpts });
  const proc = new VfioProcess(host);
  const fds: number[] = [];
  let mapped = false;
  const pfDev = pciGetDevice(host, '0000:00:01.0');
  if (pfDev === undefined) throw new Error('no PF');
  const ready = pciEnableSriov(pfDev, 2);
  return {
    host,
    pf,
    root,
    module,
    proc,
    bind(bdf) {
      host.sysfs.write(`/sys/bus/pci/devices/${bdf}/driver_override`, MLX5_VFIO_PCI_DRIVER);
      host.sysfs.write(`/sys/bus/pci/drivers/${MLX5_VFIO_PCI_DRIVER}/bind`, bdf);
      const pdev = pciGetDevice(host, bdf);
      const vdev = pdev === undefined ? null : mlx5vfDeviceOf(pdev);
      if (vdev === null) throw new Error(`${bdf} did not bind`);
      return vdev;
    },
    open(vdev, mem) {
      const { container, device } = openViaGroup(proc, vdev);
      if (!mapped) {
        proc.mm.map(GUEST_VA, new ArrayBufferBacking(new Uint8Array(mmap(mem.fd, 0, GUEST_SIZE, true))));
        mapped = true;
      }
      const flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
      try {
        proc.ioctl(container, VFIO_IOMMU_MAP_DMA, encodeVfioIommuType1DmaMap({ argsz: 32, flags, vaddr: GUEST_VA, iova: GUEST_IOVA, size: BigInt(GUEST_SIZE) }));
      } catch (err) {
        // A second VF in the same container: the mapping is already there.
        if (!(err instanceof Error && 'code' in err && err.code === 'EEXIST')) throw err;
      }
      const cmd = new Uint8Array(2);
      view(cmd).setUint16(0, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, true);
      proc.pwrite(device, cmd, Number(vfioPciIndexToOffset(VFIO_PCI_CONFIG_REGION_INDEX)) + PCI_COMMAND);
      const vectors = [0, 1, 2, 3].map(() => {
        const fd = eventfd(0, EFD_NONBLOCK);
        fds.push(fd);
        return fd;
      });
      proc.ioctl(device, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfEventfds(VFIO_PCI_MSIX_IRQ_INDEX, 0, vectors)));
      const bar0 = Number(vfioPciIndexToOffset(0));
      const guest = new Mlx5Guest(
        mem.bytes,
        GUEST_IOVA,
        (off) => {
          const b = new Uint8Array(4);
          proc.pread(device, b, bar0 + off);
          return view(b).getUint32(0, true);
        },
        (off, v) => {
          const b = new Uint8Array(4);
          view(b).setUint32(0, v >>> 0, true);
          proc.pwrite(device, b, bar0 + off);
        },
      );
      return { vdev, device, container, guest, vectors };
    },
    async done() {
      await ready;
      proc.closeAll();
      await module.unregister();
      await pciRemoveRootBus(root);
      for (const fd of fds) close(fd);
      sanitizer.assertNoLeaks(mark);
    },
  };
}

/** SET of MIG_DEVICE_STATE: returns the data fd (-1 when the arc opened none). */
export function migSet(proc: VfioProcess, device: number, state: number): number {
  const b = new Uint8Array(16);
  view(b).setUint32(0, 16, true);
  view(b).setUint32(4, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, true);
  view(b).setUint32(8, state, true);
  proc.ioctl(device, VFIO_DEVICE_FEATURE, b);
  return view(b).getInt32(12, true);
}

export function migGet(proc: VfioProcess, device: number): number {
  const b = new Uint8Array(16);
  view(b).setUint32(0, 16, true);
  view(b).setUint32(4, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, true);
  proc.ioctl(device, VFIO_DEVICE_FEATURE, b);
  return view(b).getUint32(8, true);
}

/** Reads a data fd until it says 0 (or ENOMSG in PRE_COPY), in reads of `chunk` bytes. */
export function readStream(proc: VfioProcess, fd: number, chunk = 4096): Uint8Array {
  const parts: Uint8Array[] = [];
  for (;;) {
    const b = new Uint8Array(chunk);
    let n: number;
    try {
      n = proc.read(fd, b);
    } catch (err) {
      if (err instanceof Error && 'code' in err && err.code === 'ENOMSG') break;
      throw err;
    }
    if (n === 0) break;
    parts.push(b.subarray(0, n));
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Writes all of `bytes` to a data fd in writes of `chunk` bytes. */
export function writeStream(proc: VfioProcess, fd: number, bytes: Uint8Array, chunk = 1000): void {
  for (let at = 0; at < bytes.length; at += chunk) proc.write(fd, bytes.subarray(at, Math.min(bytes.length, at + chunk)));
}
