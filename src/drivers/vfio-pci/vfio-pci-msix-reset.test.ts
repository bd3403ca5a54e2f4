// What a reset does to the MSI-X table of a function the user drives with MSI-X (PCIe 6.6.2: FLR returns the table
// to its reset state, every vector masked, nothing pending; drivers/pci/pci.c: pci_restore_state ends in
// pci_restore_msi_state, which rewrites the entries of the vectors the host holds). Every reset path vfio-pci
// takes (VFIO_DEVICE_RESET, the virtual FLR in DEVCTL, a hot reset of the bus) leaves the user's vectors working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PcieDmaEngine } from '../../hw/pci/dma-engine.js';
import { fired } from '../../emu/irq.test-kit.js';
import { VFIO_IRQ_SET_ACTION_TRIGGER, encodeVfioIrqSet, vfioIrqSetOfEventfds, vfioIrqSetOfNone } from '../../uapi/irq-set.js';
import { VFIO_PCI_MSIX_IRQ_INDEX } from '../../uapi/irq-info.js';
import { VFIO_DEVICE_PCI_HOT_RESET, VFIO_DEVICE_RESET, VFIO_DEVICE_SET_IRQS } from '../../uapi/ioctl.js';
import { PCI_COMMAND, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY } from '../../uapi/pci-regs.js';
import { VFIO_PCI_CONFIG_REGION_INDEX } from '../../uapi/region-info.js';
import { u32s } from '../../vfio/uapi.test-kit.js';
import { openGroupPath, pciBed, regRead, regWrite } from './vfio-pci.test-kit.js';
import type { PciBed } from './vfio-pci.test-kit.js';

const CFG = VFIO_PCI_CONFIG_REGION_INDEX;

/** Vector `v`'s control dword as the table in the hardware holds it (bit 0: masked). */
function vectorCtrl(engine: PcieDmaEngine, v: number): number {
  const b = new Uint8Array(4);
  engine.irq.msi.readMsixTable(v * 16 + 12, b);
  return new DataView(b.buffer).getUint32(0, true);
}

function pba(engine: PcieDmaEngine): number {
  const b = new Uint8Array(4);
  engine.irq.msi.readMsixPba(0, b);
  return new DataView(b.buffer).getUint32(0, true);
}

/** MSI-X with two vectors on eventfds; returns them. */
function msixOn(bed: PciBed, device: number): [number, number] {
  regWrite(bed, device, CFG, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
  const fds: [number, number] = [bed.eventfd(), bed.eventfd()];
  bed.proc.ioctl(device, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfEventfds(VFIO_PCI_MSIX_IRQ_INDEX, 0, fds)));
  return fds;
}

test('the model: an FLR masks every MSI-X vector and clears the PBA; a masked vector that fires sets its pending bit', () => {
  const engine = new PcieDmaEngine();
  const entry = new Uint8Array(16);
  new DataView(entry.buffer).setUint32(0, 0xfee00000, true);
  engine.config.write(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
  engine.irq.msi.writeMsixTable(0, entry);
  assert.equal(vectorCtrl(engine, 0), 0, 'unmasked as programmed');
  engine.hardwareReset('flr');
  assert.equal(vectorCtrl(engine, 0) & 1, 1, 'masked after the FLR');
  assert.equal(vectorCtrl(engine, 1) & 1, 1);
  assert.equal(pba(engine), 0);
});

test('VFIO_DEVICE_RESET and the virtual FLR: pci_restore_state rewrites the host\'s vectors, so they still deliver', (t) => {
  const engine = new PcieDmaEngine();
  const bed = pciBed({ devices: [{ device: 1, hw: engine }] });
  t.after(() => bed.done());
  const vdev = bed.bind('0000:00:01.0');
  const { device } = openGroupPath(bed, vdev);
  const [v0, v1] = msixOn(bed, device);
  assert.equal(vectorCtrl(engine, 0), 0);
  bed.proc.ioctl(device, VFIO_DEVICE_RESET);
  assert.equal(engine.resets.at(-1), 'flr');
  assert.equal(vectorCtrl(engine, 0), 0, 'unmasked again by the restore');
  assert.equal(vectorCtrl(engine, 1), 0);
  assert.equal(pba(engine), 0, 'nothing pending');
  engine.irq.raise(1);
  assert.equal(fired(v1), 1, 'vector 1 reaches the user');
  // The virtual Initiate FLR (DEVCTL at PCIe cap 0x48 + 8).
  const devctl = 0x50;
  const resets = engine.resets.length;
  regWrite(bed, device, CFG, devctl, 2, regRead(bed, device, CFG, devctl, 2) | 0x8000);
  assert.equal(engine.resets.length, resets + 1);
  assert.equal(vectorCtrl(engine, 0), 0);
  engine.irq.raise(0);
  assert.equal(fired(v0), 1);
  // With MSI-X disabled by the user, a reset leaves the table at its reset state: the host holds no vectors.
  bed.proc.ioctl(device, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfNone(VFIO_PCI_MSIX_IRQ_INDEX, 0, 0, VFIO_IRQ_SET_ACTION_TRIGGER)));
  bed.proc.ioctl(device, VFIO_DEVICE_RESET);
  assert.equal(vectorCtrl(engine, 0) & 1, 1);
});

test('a hot reset of the bus restores every member\'s vectors too', (t) => {
  const engine = new PcieDmaEngine({ flr: false });
  const bed = pciBed({ devices: [{ device: 1, bridge: 'root-port', acs: true, below: [{ device: 0, hw: engine }] }] });
  t.after(() => bed.done());
  const vdev = bed.bind('0000:01:00.0');
  const { device, group } = openGroupPath(bed, vdev);
  const [v0] = msixOn(bed, device);
  bed.proc.ioctl(device, VFIO_DEVICE_PCI_HOT_RESET, u32s(16, 0, 1, group));
  assert.equal(engine.resets.at(-1), 'bus');
  assert.equal(vectorCtrl(engine, 0), 0);
  assert.equal(pba(engine), 0);
  engine.irq.raise(0);
  assert.equal(fired(v0), 1);
});
