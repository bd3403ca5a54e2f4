// Test support for vfio-ccw: a host with the module loaded on its default machine (disk 0.0.0100, console
// 0.0.0101), an mdev of type io on a subchannel, a process that opens it through a container with 1 MiB of its
// memory mapped at iova 0, and helpers that drive the I/O region as QEMU's vfio-ccw does.
import { randomUUID } from 'node:crypto';
import { Host } from '../../base/host.js';
import { close, eventfd } from '../../native/index.js';
import { mdevCreate } from '../../mdev/mdev-device.js';
import { mdevParentType } from '../../mdev/mdev-parent.js';
import type { MdevDevice } from '../../mdev/mdev-objects.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { CCW_IO_REGION_IRB, CCW_IO_REGION_SIZE, encodeCcwCmdRegion, encodeCcwIoRegion, vfioCcwIndexToOffset } from '../../uapi/ccw.js';
import { VFIO_IOMMU_MAP_DMA } from '../../uapi/ioctl.js';
import { VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE, encodeVfioIommuType1DmaMap } from '../../uapi/iommu-type1.js';
import { vfioIrqSetOfEventfds } from '../../uapi/irq-set.js';
import { encodeVfioIrqSet } from '../../uapi/irq-set.js';
import { VFIO_DEVICE_SET_IRQS } from '../../uapi/ioctl.js';
import { IRB_SIZE, SCSW_FCTL_START_FUNC, decodeIrb, emptyScsw, encodeCmdOrb, encodeScsw } from '../../uapi/s390-cio.js';
import type { CmdOrb, Irb } from '../../uapi/s390-cio.js';
import { vfioConfigure } from '../../vfio/core-state.js';
import { ArrayBufferBacking } from '../../vfio/dma-space.js';
import { VfioProcess } from '../../vfio/vfio-process.js';
import { openViaGroup } from '../../vfio/uapi.test-kit.js';
import type { VfioCcwModuleOptions } from './vfio-ccw-options.js';
import { vfioCcwRegister } from './vfio-ccw-drv.js';
import type { VfioCcwModule } from './vfio-ccw-drv.js';
import { VfioCcwPrivate } from './vfio-ccw-private.js';

/** Where the process's guest memory is (user VA) and its size; it is mapped at iova 0. */
export const GUEST_VA = 0x10000000n;
export const GUEST_SIZE = 1 << 20;

export interface CcwRig {
  readonly host: Host;
  readonly mod: VfioCcwModule;
  readonly proc: VfioProcess;
  readonly guest: Uint8Array;
  /** An mdev of type io on subchannel `sch`; its private (the vfio device). */
  create(sch: string): { mdev: MdevDevice; priv: VfioCcwPrivate };
  /** Opens `priv` through a container with the guest memory mapped at iova 0; IO/CRW/REQ eventfds set. */
  open(priv: VfioCcwPrivate): OpenCcw;
  /** Unloads the module and checks for leaks. */
  done(): Promise<void>;
}

export interface OpenCcw {
  readonly fd: number;
  readonly container: number;
  readonly ioEfd: number;
  readonly crwEfd: number;
  readonly reqEfd: number;
  /** pwrite of the I/O region with `orb` and a start-function SCSW (throws the ret_code's errno). */
  start(orb: CmdOrb): void;
  /** pwrite of the async region with `command` (HSCH/CSCH). */
  async(command: number): void;
  /** The IRB in the I/O region. */
  irb(): Irb;
  /** Region pread at index, offset. */
  read(index: number, offset: number, len: number): Uint8Array;
  close(): void;
}

/** Resolves once `fd` (an eventfd) has been signalled; the count is consumed. */
export async function signalled(fd: number, what = 'eventfd', timeoutMs = 2000): Promise<void> {
  const { eventfdRead } = await import('../../native/index.js');
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (typeof eventfdRead(fd) === 'bigint') return;
    if (Date.now() > until) throw new Error(`${what} not signalled`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

export function ccwRig(opts: VfioCcwModuleOptions = {}): CcwRig {
  const mark = sanitizer.mark();
  const host = new Host();
  vfioConfigure(host, { requestIntervalMs: 10 });
  const mod = vfioCcwRegister(host, opts);
  const proc = new VfioProcess(host);
  const backing = new ArrayBufferBacking(GUEST_SIZE);
  proc.mm.map(GUEST_VA, backing);
  const efds: number[] = [];
  return {
    host,
    mod,
    proc,
    guest: backing.bytes,
    create: (sch) => {
      const parent = mod.parents().find((p) => p.dev.name === sch);
      if (parent === undefined) throw new Error(`no parent ${sch}`);
      const type = mdevParentType(parent, 'io');
      if (type === undefined) throw new Error('no type io');
      const mdev = mdevCreate(type, randomUUID());
      if (!(mdev.driverData instanceof VfioCcwPrivate)) throw new Error('probe made no private');
      return { mdev, priv: mdev.driverData };
    },
    open: (priv) => {
      const { container, device } = openViaGroup(proc, priv);
      const rw = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
      proc.ioctl(container, VFIO_IOMMU_MAP_DMA, encodeVfioIommuType1DmaMap({ argsz: 32, flags: rw, vaddr: GUEST_VA, iova: 0n, size: BigInt(GUEST_SIZE) }));
      const [ioEfd, crwEfd, reqEfd] = [eventfd(), eventfd(), eventfd()];
      efds.push(ioEfd, crwEfd, reqEfd);
      [ioEfd, crwEfd, reqEfd].forEach((fd, index) => proc.ioctl(device, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfEventfds(index, 0, [fd]))));
      return {
        fd: device,
        container,
        ioEfd,
        crwEfd,
        reqEfd,
        start: (orb) => {
          const region = encodeCcwIoRegion({ orb: encodeCmdOrb(orb), scsw: encodeScsw({ ...emptyScsw(), fctl: SCSW_FCTL_START_FUNC }), irb: new Uint8Array(IRB_SIZE), retCode: 0 });
          proc.pwrite(device, region.subarray(0, CCW_IO_REGION_IRB), vfioCcwIndexToOffset(0));
        },
        async: (command) => {
          proc.pwrite(device, encodeCcwCmdRegion({ command, retCode: 0 }), vfioCcwIndexToOffset(1));
        },
        irb: () => {
          const b = new Uint8Array(CCW_IO_REGION_SIZE);
          proc.pread(device, b, 0);
          return decodeIrb(b.subarray(CCW_IO_REGION_IRB, CCW_IO_REGION_IRB + IRB_SIZE));
        },
        read: (index, offset, len) => {
          const b = new Uint8Array(len);
          proc.pread(device, b, vfioCcwIndexToOffset(index) + offset);
          return b;
        },
        close: () => proc.closeAll(),
      };
    },
    done: async () => {
      proc.closeAll();
      await mod.unregister();
      for (const fd of efds) close(fd);
      sanitizer.assertNoLeaks(mark);
    },
  };
}
