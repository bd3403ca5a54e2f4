// vfio-pci bound to the PCIe DMA engine, opened through its group with a type1 container: MSI-X by SET_IRQS, a copy
// between two memfd buffers the user mapped with VFIO_IOMMU_MAP_DMA ending in the DONE vector's eventfd, a
// fault on unmapped memory ending in the ERROR vector, the MSI-X table fenced off in BAR2, and VFIO_DEVICE_RESET
// (FLR) clearing the engine while the host's vectors keep working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DMA_CMD_COPY,
  DMA_ID_VALUE,
  DMA_REG_CMD,
  DMA_REG_DST_HI,
  DMA_REG_DST_LO,
  DMA_REG_ERR_ADDR_LO,
  DMA_REG_ID,
  DMA_REG_INTR_MASK,
  DMA_REG_LEN,
  DMA_REG_SRC_HI,
  DMA_REG_SRC_LO,
  DMA_REG_STATUS,
  DMA_STATUS_DONE,
  DMA_STATUS_ERROR,
  PcieDmaEngine,
} from '../../hw/pci/dma-engine.js';
import { fired } from '../../emu/irq.test-kit.js';
import { close, memfdCreate, mmap } from '../../native/index.js';
import { VFIO_DEVICE_FLAGS_RESET, decodeVfioDeviceInfo } from '../../uapi/device-info.js';
import { IOMMU_IOAS_MAP, VFIO_IOMMU_MAP_DMA, VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_IRQ_INFO, VFIO_DEVICE_RESET, VFIO_DEVICE_SET_IRQS } from '../../uapi/ioctl.js';
import { VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE, encodeVfioIommuType1DmaMap } from '../../uapi/iommu-type1.js';
import { VFIO_PCI_ERR_IRQ_INDEX, VFIO_PCI_INTX_IRQ_INDEX, VFIO_PCI_MSIX_IRQ_INDEX, decodeVfioIrqInfo } from '../../uapi/irq-info.js';
import { encodeVfioIrqSet, vfioIrqSetOfEventfds } from '../../uapi/irq-set.js';
import { PCI_COMMAND, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY } from '../../uapi/pci-regs.js';
import { VFIO_PCI_CONFIG_REGION_INDEX } from '../../uapi/region-info.js';
import { ArrayBufferBacking } from '../../vfio/dma-space.js';
import { errno, u32s } from '../../vfio/uapi.test-kit.js';
import { openCdevPath, openGroupPath, pciBed, regRead, regWrite } from './vfio-pci.test-kit.js';
import { IOMMU_IOAS_MAP_FIXED_IOVA, IOMMU_IOAS_MAP_READABLE, IOMMU_IOAS_MAP_SIZEOF, IOMMU_IOAS_MAP_WRITEABLE, encodeIommuIoasMap } from '../../uapi/iommufd.js';
import type { PciBed } from './vfio-pci.test-kit.js';

const PAGE = 4096;
const SRC_VA = 0x40000000n;
const DST_VA = 0x50000000n;
const SRC_IOVA = 0x100000n;
const DST_IOVA = 0x200000n;

/** A memfd page mapped into the bed's process at `va`; returns the fd and a second view of the same memory. */
function memfdPage(t: { after(fn: () => void): void }, bed: PciBed, va: bigint, name: string): { fd: number; bytes: Uint8Array } {
  const fd = memfdCreate(name, PAGE);
  t.after(() => close(fd));
  bed.proc.mm.map(va, new ArrayBufferBacking(new Uint8Array(mmap(fd, 0, PAGE, true))));
  return { fd, bytes: new Uint8Array(mmap(fd, 0, PAGE, true)) };
}

function dmaMap(bed: PciBed, container: number, iova: bigint, va: bigint): void {
  const flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
  bed.proc.ioctl(container, VFIO_IOMMU_MAP_DMA, encodeVfioIommuType1DmaMap({ argsz: 32, flags, vaddr: va, iova, size: BigInt(PAGE) }));
}

const reg = (bed: PciBed, fd: number, off: number, v?: number): number => {
  if (v === undefined) return regRead(bed, fd, 0, off, 4);
  regWrite(bed, fd, 0, off, 4, v);
  return v;
};

function copy(bed: PciBed, device: number, src: bigint, dst: bigint, len: number): void {
  reg(bed, device, DMA_REG_SRC_LO, Number(src & 0xffffffffn));
  reg(bed, device, DMA_REG_SRC_HI, Number(src >> 32n));
  reg(bed, device, DMA_REG_DST_LO, Number(dst & 0xffffffffn));
  reg(bed, device, DMA_REG_DST_HI, Number(dst >> 32n));
  reg(bed, device, DMA_REG_LEN, len);
  reg(bed, device, DMA_REG_CMD, DMA_CMD_COPY);
}

test('DMA engine: MSI-X vectors by SET_IRQS, a copy between mapped memfds signals DONE, a fault signals ERROR', async (t) => {
  const engine = new PcieDmaEngine();
  const bed = pciBed({ devices: [{ device: 1, hw: engine }] });
  t.after(() => bed.done());
  const vdev = bed.bind('0000:00:01.0');
  const { container, device } = openGroupPath(bed, vdev);
  const src = memfdPage(t, bed, SRC_VA, 'src');
  const dst = memfdPage(t, bed, DST_VA, 'dst');
  dmaMap(bed, container, SRC_IOVA, SRC_VA);
  dmaMap(bed, container, DST_IOVA, DST_VA);
  src.bytes.set(new TextEncoder().encode('hello through the IOMMU'));

  const irqInfo = (index: number) => {
    const b = u32s(16, 0, index, 0);
    bed.proc.ioctl(device, VFIO_DEVICE_GET_IRQ_INFO, b);
    return decodeVfioIrqInfo(b).count;
  };
  assert.equal(irqInfo(VFIO_PCI_MSIX_IRQ_INDEX), 2);
  assert.equal(irqInfo(VFIO_PCI_ERR_IRQ_INDEX), 1, 'a PCI Express function has ERR');
  assert.equal(irqInfo(VFIO_PCI_INTX_IRQ_INDEX), 1);

  const cfg = VFIO_PCI_CONFIG_REGION_INDEX;
  regWrite(bed, device, cfg, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
  assert.equal(reg(bed, device, DMA_REG_ID), DMA_ID_VALUE);
  const done = bed.eventfd();
  const error = bed.eventfd();
  bed.proc.ioctl(device, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfEventfds(VFIO_PCI_MSIX_IRQ_INDEX, 0, [done, error])));
  // The MSI-X table in BAR2 is the host's: the user reads all ones and cannot write it.
  assert.equal(regRead(bed, device, 2, 0, 4), 0xffffffff);
  regWrite(bed, device, 2, 12, 4, 1);
  assert.equal(regRead(bed, device, 2, 0x800, 4), 0, 'the PBA is readable');
  assert.throws(() => bed.proc.ioctl(device, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfEventfds(VFIO_PCI_INTX_IRQ_INDEX, 0, [done]))), errno('EINVAL'), 'INTx while MSI-X is on');

  reg(bed, device, DMA_REG_INTR_MASK, DMA_STATUS_DONE | DMA_STATUS_ERROR);
  copy(bed, device, SRC_IOVA, DST_IOVA, 23);
  assert.equal(new TextDecoder().decode(dst.bytes.subarray(0, 23)), 'hello through the IOMMU', 'the bytes are in the destination memfd');
  assert.equal(fired(done), 1);
  assert.equal(fired(error), 0);
  assert.equal(reg(bed, device, DMA_REG_STATUS) & DMA_STATUS_DONE, DMA_STATUS_DONE);

  copy(bed, device, 0x900000n, DST_IOVA, 16);
  assert.equal(fired(error), 1, 'unmapped IOVA: the ERROR vector');
  assert.equal(reg(bed, device, DMA_REG_ERR_ADDR_LO), 0x900000);
  assert.equal(fired(done), 0);

  // Without bus mastering (the user's COMMAND reaches the function) nothing moves.
  regWrite(bed, device, cfg, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
  dst.bytes.fill(0);
  copy(bed, device, SRC_IOVA, DST_IOVA, 4);
  assert.equal(dst.bytes[0], 0);
  assert.equal(fired(error), 1);
});

test('VFIO_DEVICE_RESET really resets the engine (FLR); the MSI-X vectors still deliver after it', async (t) => {
  const engine = new PcieDmaEngine();
  const bed = pciBed({ devices: [{ device: 1, hw: engine }] });
  t.after(() => bed.done());
  const vdev = bed.bind('0000:00:01.0');
  const { container, device } = openGroupPath(bed, vdev);
  const src = memfdPage(t, bed, SRC_VA, 'src');
  const dst = memfdPage(t, bed, DST_VA, 'dst');
  dmaMap(bed, container, SRC_IOVA, SRC_VA);
  dmaMap(bed, container, DST_IOVA, DST_VA);
  const info = new Uint8Array(24);
  new DataView(info.buffer).setUint32(0, 24, true);
  bed.proc.ioctl(device, VFIO_DEVICE_GET_INFO, info);
  assert.equal(decodeVfioDeviceInfo(info).flags & VFIO_DEVICE_FLAGS_RESET, VFIO_DEVICE_FLAGS_RESET);
  assert.deepEqual(engine.resets, ['flr'], 'the open reset the function');

  regWrite(bed, device, VFIO_PCI_CONFIG_REGION_INDEX, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
  const done = bed.eventfd();
  bed.proc.ioctl(device, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfEventfds(VFIO_PCI_MSIX_IRQ_INDEX, 0, [done])));
  reg(bed, device, DMA_REG_SRC_LO, 0x1234);
  reg(bed, device, DMA_REG_INTR_MASK, DMA_STATUS_DONE);
  bed.proc.ioctl(device, VFIO_DEVICE_RESET);
  assert.deepEqual(engine.resets, ['flr', 'flr']);
  assert.equal(reg(bed, device, DMA_REG_SRC_LO), 0, 'registers back to power-on');
  assert.equal(reg(bed, device, DMA_REG_INTR_MASK), 0);
  // pci_reset_function restored COMMAND (memory, bus master) and the host reprograms its MSI-X vectors.
  src.bytes[0] = 0x77;
  reg(bed, device, DMA_REG_INTR_MASK, DMA_STATUS_DONE);
  copy(bed, device, SRC_IOVA, DST_IOVA, 1);
  assert.equal(dst.bytes[0], 0x77);
  assert.equal(fired(done), 1);
  // The virtual Initiate FLR in DEVCTL resets too (vfio_exp_config_write) and reads back 0.
  const devctl = 0x40 + 8 + 8; // PM at 0x40 (8 bytes), PCIe capability next: DEVCTL at +8.
  assert.equal(regRead(bed, device, VFIO_PCI_CONFIG_REGION_INDEX, 0x48, 1), 0x10, 'the PCI Express capability follows PM');
  regWrite(bed, device, VFIO_PCI_CONFIG_REGION_INDEX, devctl, 2, regRead(bed, device, VFIO_PCI_CONFIG_REGION_INDEX, devctl, 2) | 0x8000);
  assert.deepEqual(engine.resets, ['flr', 'flr', 'flr']);
  assert.equal(regRead(bed, device, VFIO_PCI_CONFIG_REGION_INDEX, devctl, 2) & 0x8000, 0);
  bed.proc.close(device);
  assert.deepEqual(engine.resets, ['flr', 'flr', 'flr', 'flr'], 'the last close reset the function again');
});

test('the cdev path: a function bound through iommufd and attached to an IOAS does its DMA through that IOAS', async (t) => {
  const engine = new PcieDmaEngine();
  const bed = pciBed({ devices: [{ device: 1, hw: engine }] });
  t.after(() => bed.done());
  const vdev = bed.bind('0000:00:01.0');
  const { iommufd, device, ioas } = openCdevPath(bed, vdev);
  const src = memfdPage(t, bed, SRC_VA, 'src');
  const dst = memfdPage(t, bed, DST_VA, 'dst');
  const map = (iova: bigint, va: bigint): void => {
    const flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
    bed.proc.ioctl(iommufd, IOMMU_IOAS_MAP, encodeIommuIoasMap({ size: IOMMU_IOAS_MAP_SIZEOF, flags, ioasId: ioas, userVa: va, length: BigInt(PAGE), iova }));
  };
  map(SRC_IOVA, SRC_VA);
  map(DST_IOVA, DST_VA);
  src.bytes.set(new TextEncoder().encode('through the IOAS'));
  regWrite(bed, device, VFIO_PCI_CONFIG_REGION_INDEX, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
  copy(bed, device, SRC_IOVA, DST_IOVA, 16);
  assert.equal(new TextDecoder().decode(dst.bytes.subarray(0, 16)), 'through the IOAS');
  assert.equal(reg(bed, device, DMA_REG_STATUS) & DMA_STATUS_DONE, DMA_STATUS_DONE);
  // An IOVA the IOAS does not map faults, as behind a real IOMMU domain.
  copy(bed, device, 0x900000n, DST_IOVA, 4);
  assert.equal(reg(bed, device, DMA_REG_STATUS) & DMA_STATUS_ERROR, DMA_STATUS_ERROR);
  bed.proc.close(device);
  bed.proc.close(iommufd);
});
