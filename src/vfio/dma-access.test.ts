// vfio_dma_rw for memory served asynchronously: a DmaBacking with readAsync/writeAsync in the process's address
// space, reached by vfioDmaRwAsync through the device's iommufd access (cdev path) and its type1 container
// (group path), mixed with ordinary memory in one transfer; the synchronous path faults on it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioError } from '../uapi/errno.js';
import {
  IOMMU_IOAS_ALLOC,
  IOMMU_IOAS_MAP,
  VFIO_DEVICE_ATTACH_IOMMUFD_PT,
  VFIO_DEVICE_BIND_IOMMUFD,
  VFIO_IOMMU_MAP_DMA,
} from '../uapi/ioctl.js';
import { IOMMU_IOAS_MAP_FIXED_IOVA, IOMMU_IOAS_MAP_READABLE, IOMMU_IOAS_MAP_WRITEABLE, encodeIommuIoasMap } from '../uapi/iommufd.js';
import { VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE, encodeVfioIommuType1DmaMap } from '../uapi/iommu-type1.js';
import { ArrayBufferBacking, UserAddressSpace, type DmaBacking } from './dma-space.js';
import { vfioDmaRw, vfioDmaRwAsync } from './dma-access.js';
import { VfioIommuType1 } from './iommu-type1.js';
import { errno, makeKit, openViaGroup, u32s, view } from './uapi.test-kit.js';

/** Ordinary memory the kit maps at 0x10000000 (1 MiB); the served memory goes here. */
const SERVED_VA = 0x20000000n;

/**
 * Memory whose bytes arrive later (as a userfaultfd handler or a remote peer would serve them): the synchronous
 * accessors fault, the asynchronous ones complete on a later turn of the event loop and are recorded.
 */
class ServedBacking implements DmaBacking {
  readonly bytes: Uint8Array;
  readonly calls: string[] = [];
  failWith: VfioError | undefined;

  constructor(readonly size: number) {
    this.bytes = new Uint8Array(size);
  }

  read(): void {
    throw new VfioError('EFAULT', 'not resident');
  }

  write(): void {
    throw new VfioError('EFAULT', 'not resident');
  }

  async readAsync(offset: number, dst: Uint8Array): Promise<void> {
    this.calls.push(`read ${offset}+${dst.length}`);
    await new Promise((r) => setImmediate(r));
    if (this.failWith !== undefined) throw this.failWith;
    dst.set(this.bytes.subarray(offset, offset + dst.length));
  }

  async writeAsync(offset: number, src: Uint8Array): Promise<void> {
    this.calls.push(`write ${offset}+${src.length}`);
    await new Promise((r) => setImmediate(r));
    if (this.failWith !== undefined) throw this.failWith;
    this.bytes.set(src, offset);
  }
}

function ioasMap(ioasId: number, iova: bigint, userVa: bigint, length: bigint, write = true): Uint8Array {
  const flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | (write ? IOMMU_IOAS_MAP_WRITEABLE : 0);
  return encodeIommuIoasMap({ size: 40, flags, ioasId, userVa, length, iova });
}

test('iommufd access: vfioDmaRwAsync reads and writes served memory through its async accessors, ordinary memory directly', async () => {
  const k = makeKit();
  const served = new ServedBacking(0x3000);
  served.bytes.set([0xa0, 0xa1, 0xa2, 0xa3], 0);
  k.proc.mm.map(SERVED_VA, served);
  const ictx = k.proc.open('/dev/iommu');
  const alloc = u32s(12, 0, 0);
  k.proc.ioctl(ictx, IOMMU_IOAS_ALLOC, alloc);
  const ioas = view(alloc).getUint32(8, true);
  // iova 0x600000: 8 KiB of ordinary memory, then 8 KiB served, then 4 KiB served read-only.
  k.proc.ioctl(ictx, IOMMU_IOAS_MAP, ioasMap(ioas, 0x600000n, 0x10000000n, 0x2000n));
  k.proc.ioctl(ictx, IOMMU_IOAS_MAP, ioasMap(ioas, 0x602000n, SERVED_VA, 0x2000n));
  k.proc.ioctl(ictx, IOMMU_IOAS_MAP, ioasMap(ioas, 0x604000n, SERVED_VA + 0x2000n, 0x1000n, false));
  const cdev = k.proc.open(k.dev.cdevPath ?? '');
  k.proc.ioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, u32s(16, 0, ictx, 0));
  k.proc.ioctl(cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, u32s(12, 0, ioas));
  k.proc.mm.write(0x10001ffcn, Uint8Array.of(1, 2, 3, 4));

  assert.throws(() => vfioDmaRw(k.dev, 0x602000n, new Uint8Array(4), false), errno('EFAULT'), 'the CPU cannot touch served memory synchronously');
  const buf = new Uint8Array(8);
  const p = vfioDmaRwAsync(k.dev, 0x601ffcn, buf, false);
  assert.deepEqual([...buf.subarray(0, 4)], [1, 2, 3, 4], 'the ordinary part is copied at once');
  await p;
  assert.deepEqual([...buf], [1, 2, 3, 4, 0xa0, 0xa1, 0xa2, 0xa3]);
  assert.deepEqual(served.calls, ['read 0+4']);

  await vfioDmaRwAsync(k.dev, 0x601ffen, Uint8Array.of(9, 8, 7, 6), true);
  const back = new Uint8Array(2);
  k.proc.mm.read(0x10001ffen, back);
  assert.deepEqual([...back], [9, 8]);
  assert.deepEqual([...served.bytes.subarray(0, 2)], [7, 6]);
  assert.deepEqual(served.calls.slice(1), ['write 0+2']);

  // The access checks the whole range before anything moves: a read-only area or a hole fails the transfer.
  await assert.rejects(vfioDmaRwAsync(k.dev, 0x603ff0n, new Uint8Array(32), true), errno('EPERM'));
  await assert.rejects(vfioDmaRwAsync(k.dev, 0x604ff0n, new Uint8Array(32), false), errno('ENOENT'));
  assert.equal(served.calls.length, 2, 'nothing was copied for the refused transfers');
  await vfioDmaRwAsync(k.dev, 0x604000n, new Uint8Array(4), false);
  assert.deepEqual(served.calls.slice(2), ['read 8192+4'], 'a read-only area is readable');
  // The backing's failure is the transfer's.
  served.failWith = new VfioError('ECONNRESET', 'peer gone');
  await assert.rejects(vfioDmaRwAsync(k.dev, 0x602000n, new Uint8Array(4), false), errno('ECONNRESET'));
  await assert.rejects(vfioDmaRwAsync(k.dev, 0x602000n, new Uint8Array(0), false), errno('EINVAL'));
  k.proc.close(cdev);
  await assert.rejects(vfioDmaRwAsync(k.dev, 0x602000n, new Uint8Array(4), false), errno('EINVAL'), 'device not open');
  await k.done();
});

test('type1 container: vfioDmaRwAsync reaches served memory with type1 permission rules', async () => {
  const k = makeKit();
  const served = new ServedBacking(0x2000);
  served.bytes.set([5, 6, 7, 8], 0x1000);
  k.proc.mm.map(SERVED_VA, served);
  const { container } = openViaGroup(k.proc, k.dev);
  const rw = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
  k.proc.ioctl(container, VFIO_IOMMU_MAP_DMA, encodeVfioIommuType1DmaMap({ argsz: 32, flags: rw, vaddr: SERVED_VA, iova: 0x200000n, size: 0x1000n }));
  k.proc.ioctl(container, VFIO_IOMMU_MAP_DMA, encodeVfioIommuType1DmaMap({ argsz: 32, flags: VFIO_DMA_MAP_FLAG_READ, vaddr: SERVED_VA + 0x1000n, iova: 0x201000n, size: 0x1000n }));
  assert.throws(() => vfioDmaRw(k.dev, 0x200000n, new Uint8Array(4), false), errno('EFAULT'));
  const buf = new Uint8Array(4);
  await vfioDmaRwAsync(k.dev, 0x201000n, buf, false);
  assert.deepEqual([...buf], [5, 6, 7, 8]);
  await vfioDmaRwAsync(k.dev, 0x200ffen, Uint8Array.of(1, 2), true);
  assert.deepEqual([...served.bytes.subarray(0xffe, 0x1000)], [1, 2]);
  await assert.rejects(vfioDmaRwAsync(k.dev, 0x200ffen, new Uint8Array(4), true), errno('EPERM'), 'the second mapping is read-only');
  await assert.rejects(vfioDmaRwAsync(k.dev, 0x300000n, new Uint8Array(4), false), errno('EINVAL'), 'type1 says EINVAL for an unmapped iova');
  assert.deepEqual(served.calls, ['read 4096+4', 'write 4094+2']);
  await k.done();
});

test('type1 dmaSegments: a write is dirty-logged like dma_rw; EBUSY while a vaddr is invalid', () => {
  const mm = new UserAddressSpace();
  mm.map(0x10000000n, new ArrayBufferBacking(16 * 4096));
  const iommu = new VfioIommuType1({ mm });
  iommu.attachGroup({}, 'emulated');
  const rw = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
  iommu.mapDma({ iova: 0x100000n, vaddr: 0x10000000n, size: 0x8000n, flags: rw });
  iommu.mapDma({ iova: 0x108000n, vaddr: 0x10008000n, size: 0x8000n, flags: rw });
  iommu.dirtyStart();
  const segs = iommu.dmaSegments(0x107ff0n, 0x2000, true);
  assert.deepEqual(segs.map((s) => [s.offset, s.length]), [[0x7ff0, 0x10], [0x8000, 0x1ff0]]);
  iommu.dmaSegments(0x100000n, 16, false);
  const data = new Uint8Array(8);
  iommu.dirtyGetBitmap(0x100000n, 0x10000n, { pgsize: 0x1000n, size: 8n, data });
  assert.deepEqual([...data.subarray(0, 2)], [0x80, 0x03], 'pages 7, 8 and 9 written; the read marks nothing');
  assert.throws(() => iommu.dmaSegments(0x100000n, 0, false), errno('EINVAL'));
});
