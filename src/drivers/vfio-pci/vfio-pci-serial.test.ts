// vfio-pci bound to QEMU's pci-serial card (1b36:0002), driven through the uAPI on the group path: binding and
// drvdata, the virtual config space (ids, BAR sizing, INTx pin, dropped writes), the UART in BAR0, INTx eventfds with
// the kernel's DisINTx masking and unmasking, VFIO_DEVICE_RESET resetting the card.
import { test } from 'node:test';
import { pciPendingRemoval } from '../../hw/pci/pci-bus-type.js';
import assert from 'node:assert/strict';
import { PciSerialCard } from '../../hw/pci/serial-card.js';
import { pciReadConfig } from '../../hw/pci/pci-dev.js';
import { fired } from '../../emu/irq.test-kit.js';
import { vfioIrqSetOfEventfds, vfioIrqSetOfNone, encodeVfioIrqSet, VFIO_IRQ_SET_ACTION_MASK, VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_ACTION_UNMASK } from '../../uapi/irq-set.js';
import { VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_IRQ_INFO, VFIO_DEVICE_GET_REGION_INFO, VFIO_DEVICE_RESET, VFIO_DEVICE_SET_IRQS } from '../../uapi/ioctl.js';
import { VFIO_DEVICE_FLAGS_PCI, VFIO_DEVICE_FLAGS_RESET, decodeVfioDeviceInfo } from '../../uapi/device-info.js';
import { decodeVfioRegionInfo, VFIO_PCI_CONFIG_REGION_INDEX, VFIO_PCI_ROM_REGION_INDEX, VFIO_PCI_VGA_REGION_INDEX, VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE } from '../../uapi/region-info.js';
import { decodeVfioIrqInfo, VFIO_PCI_ERR_IRQ_INDEX, VFIO_PCI_INTX_IRQ_INDEX, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_REQ_IRQ_INDEX } from '../../uapi/irq-info.js';
import {
  PCI_BASE_ADDRESS_0,
  PCI_BASE_ADDRESS_1,
  PCI_BASE_ADDRESS_SPACE_IO,
  PCI_CLASS_DEVICE,
  PCI_COMMAND,
  PCI_COMMAND_INTX_DISABLE,
  PCI_COMMAND_IO,
  PCI_DEVICE_ID,
  PCI_INTERRUPT_LINE,
  PCI_INTERRUPT_PIN,
  PCI_STATUS,
  PCI_STATUS_INTERRUPT,
  PCI_VENDOR_ID,
} from '../../uapi/pci-regs.js';
import { UART_IER, UART_IER_RDI, UART_IIR, UART_IIR_NO_INT, UART_LSR, UART_LSR_DR, UART_RX, UART_SCR, UART_TX } from '../../uapi/serial-reg.js';
import { errno, u32s } from '../../vfio/uapi.test-kit.js';
import { openGroupPath, pciBed, regRead, regWrite } from './vfio-pci.test-kit.js';

const CFG = VFIO_PCI_CONFIG_REGION_INDEX;

function serialBed() {
  const card = new PciSerialCard();
  const bed = pciBed({ devices: [{ device: 3, hw: card }] });
  return { bed, card };
}

test('binding by driver_override: drvdata is the vfio-pci device while bound, cleared after unbind', async (t) => {
  const { bed } = serialBed();
  t.after(() => bed.done());
  const pdev = bed.pdev('0000:00:03.0');
  assert.equal(pdev.driverData, null, 'vfio-pci has an empty id table: nothing bound by itself');
  const vdev = bed.bind('0000:00:03.0');
  assert.equal(pdev.driverData, vdev);
  assert.equal(vdev.pdev, pdev);
  assert.equal(vdev.dev, pdev);
  assert.ok(pdev.iommuGroup !== null && vdev.group !== null, 'registered behind the function\'s IOMMU group');
  assert.ok(bed.host.sysfs.exists(`/dev/vfio/${pdev.iommuGroup.id}`) || vdev.group.devPath.endsWith(String(pdev.iommuGroup.id)));
  assert.ok(bed.host.sysfs.exists(`/sys/bus/pci/devices/0000:00:03.0/vfio-dev/${vdev.name}`));
  assert.equal(bed.host.sysfs.exists('/sys/bus/pci/drivers/vfio-pci/0000:00:03.0'), true);
  bed.host.sysfs.write('/sys/bus/pci/drivers/vfio-pci/unbind', '0000:00:03.0');
  assert.equal(pdev.driverData, vdev, 'drvdata is the driver\'s until its remove has finished');
  await pciPendingRemoval(pdev);
  await bed.module.unregister();
  assert.equal(pdev.driverData, null);
  assert.equal(pdev.driver, null);
});

test('config space: ids from the card, BARs sized by the virtualization, INTx pin, read-only writes dropped', async (t) => {
  const { bed } = serialBed();
  t.after(() => bed.done());
  const vdev = bed.bind('0000:00:03.0');
  const { device } = openGroupPath(bed, vdev);
  const pdev = bed.pdev('0000:00:03.0');
  assert.equal(regRead(bed, device, CFG, PCI_VENDOR_ID, 2), 0x1b36);
  assert.equal(regRead(bed, device, CFG, PCI_DEVICE_ID, 2), 0x0002);
  assert.equal(regRead(bed, device, CFG, PCI_CLASS_DEVICE, 2), 0x0700);
  assert.equal(regRead(bed, device, CFG, PCI_INTERRUPT_PIN, 1), 1);
  // The user's BAR0 starts as the host's address, reads back with the I/O type bit, and sizes as 8 bytes.
  const hostBar = pciReadConfig(pdev, PCI_BASE_ADDRESS_0, 4);
  assert.equal(regRead(bed, device, CFG, PCI_BASE_ADDRESS_0, 4), hostBar);
  regWrite(bed, device, CFG, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
  assert.equal(regRead(bed, device, CFG, PCI_BASE_ADDRESS_0, 4), (0xfffffff8 | PCI_BASE_ADDRESS_SPACE_IO) >>> 0);
  assert.equal(pciReadConfig(pdev, PCI_BASE_ADDRESS_0, 4), hostBar, 'the real BAR is untouched');
  regWrite(bed, device, CFG, PCI_BASE_ADDRESS_0, 4, 0x1230);
  assert.equal(regRead(bed, device, CFG, PCI_BASE_ADDRESS_0, 4), 0x1231);
  regWrite(bed, device, CFG, PCI_BASE_ADDRESS_1, 4, 0xffffffff);
  assert.equal(regRead(bed, device, CFG, PCI_BASE_ADDRESS_1, 4), 0, 'an unimplemented BAR sizes as 0');
  // Read-only fields: the write is accepted and dropped.
  regWrite(bed, device, CFG, PCI_VENDOR_ID, 2, 0xdead);
  regWrite(bed, device, CFG, PCI_INTERRUPT_PIN, 1, 4);
  assert.equal(regRead(bed, device, CFG, PCI_VENDOR_ID, 2), 0x1b36);
  assert.equal(regRead(bed, device, CFG, PCI_INTERRUPT_PIN, 1), 1);
  // INTERRUPT_LINE is virtual: the user's value, the host's stays.
  const hostLine = pciReadConfig(pdev, PCI_INTERRUPT_LINE, 1);
  regWrite(bed, device, CFG, PCI_INTERRUPT_LINE, 1, 0x55);
  assert.equal(regRead(bed, device, CFG, PCI_INTERRUPT_LINE, 1), 0x55);
  assert.equal(pciReadConfig(pdev, PCI_INTERRUPT_LINE, 1), hostLine);
  // Past the end of config space: EFAULT, as the kernel's vfio_config_do_rw.
  assert.throws(() => bed.proc.pread(device, new Uint8Array(4), 7 * 2 ** 40 + 254), errno('EFAULT'));
});

test('device info, region info and IRQ info as vfio-pci reports them for a conventional PCI function', async (t) => {
  const { bed } = serialBed();
  t.after(() => bed.done());
  const { device } = openGroupPath(bed, bed.bind('0000:00:03.0'));
  const info = new Uint8Array(24);
  new DataView(info.buffer).setUint32(0, 24, true);
  bed.proc.ioctl(device, VFIO_DEVICE_GET_INFO, info);
  const di = decodeVfioDeviceInfo(info);
  assert.equal(di.flags, VFIO_DEVICE_FLAGS_PCI, 'no reset method on the card: no FLAGS_RESET');
  assert.equal(di.flags & VFIO_DEVICE_FLAGS_RESET, 0);
  assert.equal(di.numRegions, 9);
  assert.equal(di.numIrqs, 5);
  const region = (index: number) => {
    const b = u32s(32, 0, index, 0, 0, 0, 0, 0);
    bed.proc.ioctl(device, VFIO_DEVICE_GET_REGION_INFO, b);
    return decodeVfioRegionInfo(b);
  };
  assert.equal(region(0).size, 8n);
  assert.equal(region(0).flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE);
  assert.equal(region(1).size, 0n);
  assert.equal(region(VFIO_PCI_ROM_REGION_INDEX).size, 0n);
  assert.equal(region(CFG).size, 256n);
  assert.throws(() => region(VFIO_PCI_VGA_REGION_INDEX), errno('EINVAL'));
  assert.throws(() => region(9), errno('EINVAL'));
  const irq = (index: number) => {
    const b = u32s(16, 0, index, 0);
    bed.proc.ioctl(device, VFIO_DEVICE_GET_IRQ_INFO, b);
    return decodeVfioIrqInfo(b);
  };
  assert.equal(irq(VFIO_PCI_INTX_IRQ_INDEX).count, 1);
  assert.equal(irq(VFIO_PCI_MSIX_IRQ_INDEX).count, 0);
  assert.equal(irq(VFIO_PCI_REQ_IRQ_INDEX).count, 1);
  assert.throws(() => irq(VFIO_PCI_ERR_IRQ_INDEX), errno('EINVAL'), 'ERR only for PCI Express');
  assert.throws(() => bed.proc.ioctl(device, VFIO_DEVICE_RESET), errno('EINVAL'), 'no reset method');
});

test('BAR0 is the UART: scratch register, loopback TX to RX, line status', async (t) => {
  const { bed, card } = serialBed();
  t.after(() => bed.done());
  const { device } = openGroupPath(bed, bed.bind('0000:00:03.0'));
  regWrite(bed, device, 0, UART_SCR, 1, 0x5a);
  assert.equal(regRead(bed, device, 0, UART_SCR, 1), 0x5a);
  assert.equal(card.uart.read(UART_SCR), 0x5a, 'the write reached the card');
  regWrite(bed, device, 0, UART_TX, 1, 0x41);
  assert.equal(regRead(bed, device, 0, UART_LSR, 1) & UART_LSR_DR, UART_LSR_DR);
  assert.equal(regRead(bed, device, 0, UART_RX, 1), 0x41);
  // With I/O decoding off (the user's COMMAND), the card does not answer: all ones.
  regWrite(bed, device, CFG, PCI_COMMAND, 2, regRead(bed, device, CFG, PCI_COMMAND, 2) & ~PCI_COMMAND_IO);
  assert.equal(regRead(bed, device, 0, UART_SCR, 1), 0xff);
  assert.throws(() => bed.proc.pread(device, new Uint8Array(1), 8), errno('EINVAL'), 'past BAR0');
});

test('INTx: the UART interrupt signals the eventfd and masks with DisINTx; unmask re-signals while still asserted', async (t) => {
  const { bed } = serialBed();
  t.after(() => bed.done());
  const { device } = openGroupPath(bed, bed.bind('0000:00:03.0'));
  const pdev = bed.pdev('0000:00:03.0');
  const efd = bed.eventfd();
  const set = (x: Parameters<typeof encodeVfioIrqSet>[0]) => bed.proc.ioctl(device, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(x));
  set(vfioIrqSetOfEventfds(VFIO_PCI_INTX_IRQ_INDEX, 0, [efd]));
  assert.equal(fired(efd), 0);
  regWrite(bed, device, 0, UART_IER, 1, UART_IER_RDI);
  regWrite(bed, device, 0, UART_TX, 1, 0x42);
  assert.equal(fired(efd), 1, 'RX data raised INTx');
  assert.equal(pciReadConfig(pdev, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE, PCI_COMMAND_INTX_DISABLE, 'masked at the function');
  assert.equal(regRead(bed, device, CFG, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE, 0, "the user's INTx Disable is virtual and clear");
  assert.equal(regRead(bed, device, CFG, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, PCI_STATUS_INTERRUPT);
  // Unmasking while the card still asserts: stays masked, the user hears it again.
  set(vfioIrqSetOfNone(VFIO_PCI_INTX_IRQ_INDEX, 0, 1, VFIO_IRQ_SET_ACTION_UNMASK));
  assert.equal(fired(efd), 1);
  // Service the interrupt (read RX), then unmask: DisINTx clears and nothing fires.
  assert.equal(regRead(bed, device, 0, UART_RX, 1), 0x42);
  assert.equal(regRead(bed, device, 0, UART_IIR, 1) & UART_IIR_NO_INT, UART_IIR_NO_INT);
  set(vfioIrqSetOfNone(VFIO_PCI_INTX_IRQ_INDEX, 0, 1, VFIO_IRQ_SET_ACTION_UNMASK));
  assert.equal(fired(efd), 0);
  assert.equal(pciReadConfig(pdev, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE, 0, 'unmasked at the function');
  // A user MASK holds the next interrupt back until UNMASK.
  set(vfioIrqSetOfNone(VFIO_PCI_INTX_IRQ_INDEX, 0, 1, VFIO_IRQ_SET_ACTION_MASK));
  regWrite(bed, device, 0, UART_TX, 1, 0x43);
  assert.equal(fired(efd), 0, 'masked: no signal');
  set(vfioIrqSetOfNone(VFIO_PCI_INTX_IRQ_INDEX, 0, 1, VFIO_IRQ_SET_ACTION_UNMASK));
  assert.equal(fired(efd), 1, 'the pending interrupt arrives on unmask');
  // The user's INTx Disable in the virtual COMMAND masks too (vfio_pci_intx_mask), clearing it unmasks.
  regRead(bed, device, 0, UART_RX, 1);
  set(vfioIrqSetOfNone(VFIO_PCI_INTX_IRQ_INDEX, 0, 1, VFIO_IRQ_SET_ACTION_UNMASK));
  const cmd = regRead(bed, device, CFG, PCI_COMMAND, 2);
  regWrite(bed, device, CFG, PCI_COMMAND, 2, cmd | PCI_COMMAND_INTX_DISABLE);
  regWrite(bed, device, 0, UART_TX, 1, 0x44);
  assert.equal(fired(efd), 0);
  regWrite(bed, device, CFG, PCI_COMMAND, 2, cmd);
  assert.equal(fired(efd), 1);
  // Errno of refusals: MSI-X on a card without it, INTx mask with count 2, a second trigger index.
  assert.throws(() => set(vfioIrqSetOfEventfds(VFIO_PCI_MSIX_IRQ_INDEX, 0, [efd])), errno('EINVAL'));
  assert.throws(() => set(vfioIrqSetOfNone(VFIO_PCI_INTX_IRQ_INDEX, 0, 2, VFIO_IRQ_SET_ACTION_MASK)), errno('EINVAL'));
  set(vfioIrqSetOfNone(VFIO_PCI_INTX_IRQ_INDEX, 0, 0, VFIO_IRQ_SET_ACTION_TRIGGER));
  regRead(bed, device, 0, UART_RX, 1);
  regWrite(bed, device, 0, UART_TX, 1, 0x45);
  assert.equal(fired(efd), 0, 'INTx disabled');
});
