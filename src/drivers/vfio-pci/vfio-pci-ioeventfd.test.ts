// VFIO_DEVICE_IOEVENTFD on the DMA engine (drivers/vfio/pci/vfio_pci_core.c vfio_pci_ioctl_ioeventfd,
// vfio_pci_rdwr.c vfio_pci_ioeventfd): a signal on the eventfd performs the registered BAR write, with the data the
// ioeventfd was registered with; one per (offset, width, data); the kernel's errno for every refusal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { DMA_REG_FILL, DMA_REG_LEN, DMA_REG_SRC_LO, PcieDmaEngine } from '../../hw/pci/dma-engine.js';
import { eventfdWrite } from '../../native/index.js';
import { VFIO_DEVICE_IOEVENTFD } from '../../uapi/ioctl.js';
import {
  VFIO_DEVICE_IOEVENTFD_16,
  VFIO_DEVICE_IOEVENTFD_32,
  VFIO_DEVICE_IOEVENTFD_64,
  VFIO_DEVICE_IOEVENTFD_8,
  encodeVfioDeviceIoeventfd,
} from '../../uapi/ioeventfd.js';
import { PCI_COMMAND, PCI_COMMAND_MEMORY } from '../../uapi/pci-regs.js';
import { VFIO_PCI_CONFIG_REGION_INDEX, vfioPciIndexToOffset } from '../../uapi/region-info.js';
import { errno } from '../../vfio/uapi.test-kit.js';
import { openGroupPath, pciBed, regRead, regWrite } from './vfio-pci.test-kit.js';
import type { PciBed } from './vfio-pci.test-kit.js';

const ioeventfd = (bar: number, offset: number, flags: number, data: bigint, fd: number): Uint8Array =>
  encodeVfioDeviceIoeventfd({ argsz: 32, flags, offset: vfioPciIndexToOffset(bar) + BigInt(offset), data, fd });

/** Lets the event loop run until `cond` holds (the ioeventfd's watcher runs from it), at most ~1 s. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await tick();
}

function setup(bed: PciBed): number {
  const { device } = openGroupPath(bed, bed.bind('0000:00:01.0'));
  regWrite(bed, device, VFIO_PCI_CONFIG_REGION_INDEX, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
  return device;
}

test('a signal on an ioeventfd performs its BAR write; each (offset, width, data) is its own ioeventfd', async (t) => {
  const engine = new PcieDmaEngine();
  const bed = pciBed({ devices: [{ device: 1, hw: engine }] });
  t.after(() => bed.done());
  const device = setup(bed);
  const a = bed.eventfd();
  const b = bed.eventfd();
  bed.proc.ioctl(device, VFIO_DEVICE_IOEVENTFD, ioeventfd(0, DMA_REG_SRC_LO, VFIO_DEVICE_IOEVENTFD_32, 0x1234n, a));
  // Same offset and width, other data: a second ioeventfd (the data is part of what identifies one).
  bed.proc.ioctl(device, VFIO_DEVICE_IOEVENTFD, ioeventfd(0, DMA_REG_SRC_LO, VFIO_DEVICE_IOEVENTFD_32, 0x5678n, b));
  assert.equal(regRead(bed, device, 0, DMA_REG_SRC_LO, 4), 0, 'nothing written before a signal');
  eventfdWrite(a, 1n);
  await until(() => regRead(bed, device, 0, DMA_REG_SRC_LO, 4) !== 0);
  assert.equal(regRead(bed, device, 0, DMA_REG_SRC_LO, 4), 0x1234);
  eventfdWrite(b, 3n);
  await until(() => regRead(bed, device, 0, DMA_REG_SRC_LO, 4) !== 0x1234);
  assert.equal(regRead(bed, device, 0, DMA_REG_SRC_LO, 4), 0x5678, 'one write per wakeup, whatever the count');

  // Registering the same one again: EEXIST. fd -1 removes it; removing it twice: ENODEV.
  assert.throws(() => bed.proc.ioctl(device, VFIO_DEVICE_IOEVENTFD, ioeventfd(0, DMA_REG_SRC_LO, VFIO_DEVICE_IOEVENTFD_32, 0x1234n, b)), errno('EEXIST'));
  bed.proc.ioctl(device, VFIO_DEVICE_IOEVENTFD, ioeventfd(0, DMA_REG_SRC_LO, VFIO_DEVICE_IOEVENTFD_32, 0x1234n, -1));
  assert.throws(() => bed.proc.ioctl(device, VFIO_DEVICE_IOEVENTFD, ioeventfd(0, DMA_REG_SRC_LO, VFIO_DEVICE_IOEVENTFD_32, 0x1234n, -1)), errno('ENODEV'));
  eventfdWrite(a, 1n);
  regWrite(bed, device, 0, DMA_REG_LEN, 4, 7);
  // A second ioeventfd on a register the engine takes, to know the loop ran after a's signal.
  const c = bed.eventfd();
  bed.proc.ioctl(device, VFIO_DEVICE_IOEVENTFD, ioeventfd(0, DMA_REG_FILL, VFIO_DEVICE_IOEVENTFD_32, 0xabcdn, c));
  eventfdWrite(c, 1n);
  await until(() => regRead(bed, device, 0, DMA_REG_FILL, 4) === 0xabcd);
  assert.equal(regRead(bed, device, 0, DMA_REG_SRC_LO, 4), 0x5678, 'the removed ioeventfd wrote nothing');

  // While the user has memory decoding off the write is dropped (vfio_pci_ioeventfd_thread).
  regWrite(bed, device, VFIO_PCI_CONFIG_REGION_INDEX, PCI_COMMAND, 2, 0);
  bed.proc.ioctl(device, VFIO_DEVICE_IOEVENTFD, ioeventfd(0, DMA_REG_FILL, VFIO_DEVICE_IOEVENTFD_32, 0x1111n, a));
  eventfdWrite(a, 1n);
  for (let i = 0; i < 20; i++) await tick();
  regWrite(bed, device, VFIO_PCI_CONFIG_REGION_INDEX, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
  assert.equal(regRead(bed, device, 0, DMA_REG_FILL, 4), 0xabcd);
});

test('VFIO_DEVICE_IOEVENTFD refusals: size flags, BAR index and range, the MSI-X table, 64-bit, bad fds', async (t) => {
  const engine = new PcieDmaEngine();
  const bed = pciBed({ devices: [{ device: 1, hw: engine }] });
  t.after(() => bed.done());
  const device = setup(bed);
  const fd = bed.eventfd();
  const refuse = (arg: Uint8Array, code: Parameters<typeof errno>[0], why: string): void =>
    assert.throws(() => bed.proc.ioctl(device, VFIO_DEVICE_IOEVENTFD, arg), errno(code), why);
  refuse(ioeventfd(0, 0, 0, 0n, fd), 'EINVAL', 'no size flag');
  refuse(ioeventfd(0, 0, VFIO_DEVICE_IOEVENTFD_8 | VFIO_DEVICE_IOEVENTFD_16, 0n, fd), 'EINVAL', 'two size flags');
  refuse(ioeventfd(0, 0, 0x10 | VFIO_DEVICE_IOEVENTFD_32, 0n, fd), 'EINVAL', 'an unknown flag');
  refuse(ioeventfd(0, 0, VFIO_DEVICE_IOEVENTFD_32, 0n, -2), 'EINVAL', 'fd < -1');
  const short = ioeventfd(0, 0, VFIO_DEVICE_IOEVENTFD_32, 0n, fd);
  new DataView(short.buffer).setUint32(0, 24, true);
  refuse(short, 'EINVAL', 'argsz below offsetofend(fd)');
  refuse(ioeventfd(VFIO_PCI_CONFIG_REGION_INDEX, 0, VFIO_DEVICE_IOEVENTFD_32, 0n, fd), 'EINVAL', 'config space is not a BAR');
  refuse(ioeventfd(1, 0, VFIO_DEVICE_IOEVENTFD_32, 0n, fd), 'EINVAL', 'BAR1 is not implemented');
  refuse(ioeventfd(0, 4094, VFIO_DEVICE_IOEVENTFD_32, 0n, fd), 'EINVAL', 'past the end of BAR0');
  refuse(ioeventfd(2, 0x10, VFIO_DEVICE_IOEVENTFD_32, 0n, fd), 'EINVAL', 'inside the MSI-X table (BAR2 0..0x20)');
  refuse(ioeventfd(2, 0x1c, VFIO_DEVICE_IOEVENTFD_64, 0n, fd), 'EINVAL', 'straddling the table end');
  refuse(ioeventfd(0, 0, VFIO_DEVICE_IOEVENTFD_64, 0n, fd), 'EINVAL', 'no 64-bit accesses (no iowrite64 here)');
  refuse(ioeventfd(0, 0, VFIO_DEVICE_IOEVENTFD_32, 0n, -1), 'ENODEV', 'removing one that does not exist');
  // Outside the table in the same BAR is fine (the PBA page).
  bed.proc.ioctl(device, VFIO_DEVICE_IOEVENTFD, ioeventfd(2, 0x800, VFIO_DEVICE_IOEVENTFD_32, 0n, fd));
  // The ioeventfds go with the close (vfio_pci_core_disable), the dups with them: the bed's leak check sees none.
  bed.proc.close(device);
});
