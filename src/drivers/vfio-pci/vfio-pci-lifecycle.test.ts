// vfio-pci's life cycle on the simulated bus: the device set it joins (slot, bus or alone, as
// vfio_pci_core_register_device chooses), hot reset info and reset across a set, the try-reset of the set on the last
// close, and the 2021 rule: removing the function (remove, unbind) waits for the user, sending REQ meanwhile, and
// drvdata points at the vfio-pci device until the driver lets go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PcieDmaEngine } from '../../hw/pci/dma-engine.js';
import { PciSerialCard } from '../../hw/pci/serial-card.js';
import { pciStopAndRemoveBusDevice } from '../../hw/pci/remove.js';
import { pciPendingRemoval } from '../../hw/pci/pci-bus-type.js';
import { fired } from '../../emu/irq.test-kit.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { VFIO_GROUP_GET_DEVICE_FD, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, VFIO_DEVICE_PCI_HOT_RESET, VFIO_DEVICE_SET_IRQS } from '../../uapi/ioctl.js';
import { decodeVfioPciHotResetInfo } from '../../uapi/reset-info.js';
import { encodeVfioIrqSet, vfioIrqSetOfEventfds } from '../../uapi/irq-set.js';
import { VFIO_PCI_REQ_IRQ_INDEX } from '../../uapi/irq-info.js';
import { PCI_VENDOR_ID } from '../../uapi/pci-regs.js';
import { VFIO_PCI_CONFIG_REGION_INDEX } from '../../uapi/region-info.js';
import { cstr, errno, u32s } from '../../vfio/uapi.test-kit.js';
import { subscribeLifecycle } from '../../vfio/events.js';
import { openCdevPath, openGroupPath, pciBed, regRead } from './vfio-pci.test-kit.js';

test('device sets: a hot-plug slot, a resettable bus, and a function alone on the root bus', async (t) => {
  const hw = { slotted: new PcieDmaEngine(), a: new PciSerialCard(), b: new PciSerialCard(), root: new PcieDmaEngine() };
  const bed = pciBed({
    devices: [
      { device: 1, hw: hw.root },
      { device: 2, bridge: 'root-port', acs: true, slot: { number: 2, hotplug: true }, below: [{ device: 0, hw: hw.slotted }] },
      { device: 3, bridge: 'pcie-to-pci', below: [{ device: 1, hw: hw.a }, { device: 2, hw: hw.b }] },
    ],
  });
  t.after(() => bed.done());
  const root = bed.bind('0000:00:01.0');
  const slotted = bed.bind('0000:01:00.0');
  const a = bed.bind('0000:02:01.0');
  const b = bed.bind('0000:02:02.0');
  assert.equal(slotted.devSet?.setId, bed.pdev('0000:01:00.0').slot, 'the slot resets as a whole');
  assert.equal(a.devSet?.setId, bed.pdev('0000:02:01.0').pciBus, 'no slot: the bus behind the bridge');
  assert.equal(a.devSet, b.devSet, 'both functions of the bus share one set');
  assert.equal(root.devSet?.setId, root, 'on the root bus nothing but the function itself resets');
  assert.deepEqual(a.devSet?.devices, [a, b]);

  // Hot reset info on the bus set: both functions with their (shared, behind a PCIe-to-PCI bridge) group.
  const { device: fa, group: ga } = openGroupPath(bed, a);
  const info = u32s(12 + 16 * 4, 0, 0, ...new Array<number>(16).fill(0));
  bed.proc.ioctl(fa, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info);
  const hi = decodeVfioPciHotResetInfo(info);
  assert.deepEqual(hi.devices.map((d) => d.devfn), [0x08, 0x10]);
  assert.equal(hi.devices[0]?.groupId, bed.pdev('0000:02:01.0').iommuGroup?.id);
  assert.throws(() => bed.proc.ioctl(fa, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, u32s(12, 0, 0)), errno('ENOSPC'));
  // The group fd proves ownership of both (one group): the bridge's secondary bus reset resets both cards.
  const resetsBefore = [...hw.a.resets];
  bed.proc.ioctl(fa, VFIO_DEVICE_PCI_HOT_RESET, u32s(16, 0, 1, ga));
  assert.deepEqual(hw.a.resets, [...resetsBefore, 'bus']);
  assert.equal(hw.b.resets.at(-1), 'bus');
  // The root-bus function cannot hot reset.
  const { device: fr } = openCdevPath(bed, root);
  assert.throws(() => bed.proc.ioctl(fr, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, u32s(12 + 16, 0, 0, 0, 0, 0, 0)), errno('ENODEV'));
  assert.equal(regRead(bed, fr, VFIO_PCI_CONFIG_REGION_INDEX, PCI_VENDOR_ID, 2), 0x1234, 'the cdev path reads the virtual config too');
});

test('the last close of a function without a reset method resets its set when nobody else uses it', async (t) => {
  const hw = { a: new PciSerialCard(), b: new PciSerialCard() };
  const bed = pciBed({ devices: [{ device: 3, bridge: 'pcie-to-pci', below: [{ device: 1, hw: hw.a }, { device: 2, hw: hw.b }] }] });
  t.after(() => bed.done());
  const a = bed.bind('0000:01:01.0');
  const b = bed.bind('0000:01:02.0');
  const { device: fa, group } = openGroupPath(bed, a);
  // One group behind the PCIe-to-PCI bridge: the second device comes from the same group fd.
  const fb = bed.proc.ioctl(group, VFIO_GROUP_GET_DEVICE_FD, cstr('0000:01:02.0'));
  bed.proc.close(fa);
  assert.equal(a.needsReset, true, 'the card has no function reset');
  assert.deepEqual(hw.a.resets, [], 'b is still open: no bus reset');
  bed.proc.close(fb);
  assert.deepEqual(hw.a.resets, ['bus']);
  assert.deepEqual(hw.b.resets, ['bus']);
  assert.equal(a.needsReset, false);
  assert.equal(b.needsReset, false);
});

test('the 2021 rule: removing an open function waits for the user, sending REQ; the vfio device lives until then', async (t) => {
  const bed = pciBed({ devices: [{ device: 3, hw: new PciSerialCard() }] });
  t.after(() => bed.done());
  const pdev = bed.pdev('0000:00:03.0');
  const vdev = bed.bind('0000:00:03.0');
  assert.equal(pdev.driverData, vdev, 'drvdata is the vfio-pci device while bound');
  const { device } = openGroupPath(bed, vdev);
  const req = bed.eventfd();
  bed.proc.ioctl(device, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfEventfds(VFIO_PCI_REQ_IRQ_INDEX, 0, [req])));
  const requests: number[] = [];
  const unsubscribe = subscribeLifecycle((e) => {
    if (e.event === 'request' && e.name === vdev.name) requests.push(e.value ?? -1);
  });
  t.after(unsubscribe);
  let removed = false;
  const removal = pciStopAndRemoveBusDevice(pdev).then(() => {
    removed = true;
  });
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(removed, false, 'remove blocks while the device file is open');
  assert.ok(requests.length >= 2, `requests sent meanwhile (${requests.length})`);
  assert.ok(fired(req) >= 1, 'the REQ eventfd was signalled');
  // The driver core (src/base/dd.ts) has already unlinked driver and drvdata when remove returned its promise; the
  // vfio device is still whole and still drives the function until its users let go.
  assert.equal(vdev.pdev, pdev);
  assert.equal(vdev.regState, 'unregistering');
  assert.equal(regRead(bed, device, VFIO_PCI_CONFIG_REGION_INDEX, PCI_VENDOR_ID, 2), 0x1b36, 'the open file still works');
  bed.proc.close(device);
  await removal;
  assert.equal(removed, true);
  assert.equal(sanitizer.isFreed(vdev), true, 'remove put the vfio device once its user let go');
  assert.equal(sanitizer.isFreed(pdev), true, 'then the function went away');
});

test('unbind through sysfs waits for the user too; the driver can be bound again afterwards', async (t) => {
  const bed = pciBed({ devices: [{ device: 3, hw: new PciSerialCard() }] });
  t.after(() => bed.done());
  const vdev = bed.bind('0000:00:03.0');
  const { device } = openGroupPath(bed, vdev);
  const pdev = bed.pdev('0000:00:03.0');
  bed.host.sysfs.write('/sys/bus/pci/drivers/vfio-pci/unbind', '0000:00:03.0');
  let done = false;
  const unbound = pciPendingRemoval(pdev).then(() => {
    done = true;
  });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(done, false, 'the unbind waits for the user');
  bed.proc.close(device);
  await unbound;
  assert.equal(done, true);
  const again = bed.bind('0000:00:03.0');
  assert.notEqual(again, vdev);
  assert.equal(pdev.driverData, again);
});

test('probe refuses what vfio_pci_core_register_device refuses; ops.match takes the name and rejects a vf_token', async (t) => {
  const bed = pciBed({ devices: [{ device: 3, hw: new PciSerialCard() }, { device: 4, bridge: 'pci-bridge' }] });
  t.after(() => bed.done());
  bed.host.sysfs.write('/sys/bus/pci/devices/0000:00:04.0/driver_override', 'vfio-pci');
  assert.throws(() => bed.host.sysfs.write('/sys/bus/pci/drivers/vfio-pci/bind', '0000:00:04.0'), errno('EINVAL'), 'a bridge has a type 1 header');
  assert.equal(bed.pdev('0000:00:04.0').driverData, null);
  const vdev = bed.bind('0000:00:03.0');
  const ops = vdev.ops;
  assert.ok(ops?.match);
  assert.equal(ops.match(vdev, '0000:00:03.0'), 1);
  assert.equal(ops.match(vdev, '0000:00:03.1'), 0);
  assert.equal(ops.match(vdev, '0000:00:03.0x'), 0);
  assert.throws(() => ops.match?.(vdev, '0000:00:03.0 vf_token=bd8d9d2b-5a5f-4f5a-a211-f591514ba1f3'), errno('EINVAL'));
  assert.throws(() => ops.match?.(vdev, '0000:00:03.0 foo=1'), errno('EINVAL'));
});
