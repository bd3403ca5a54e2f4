// Binding PCI drivers: id tables with PCI_ANY_ID and class masks, driver_override first, new_id/remove_id,
// bind/unbind files, and a remove that waits (the device stays until its driver lets go).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Host } from '../../base/host.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { VfioError } from '../../uapi/errno.js';
import { PciSerialCard } from './serial-card.js';
import { PcieDmaEngine } from './dma-engine.js';
import { pciGetDevice, pciRemoveRootBus, pciScanRootBus } from './scan.js';
import { PCI_ANY_ID } from './pci-bus-type.js';
import { pciDriverOf, pciRegisterDriver, pciUnregisterDriver } from './pci-driver.js';
import { pciStopAndRemoveBusDevice, pciWaitRemoved } from './remove.js';
import { recordingPciDriver } from './pci.test-kit.js';

const isErr = (code: Parameters<typeof VfioError.is>[1]) => (e: unknown) => VfioError.is(e, code);

function machine(host: Host) {
  return pciScanRootBus(host, { devices: [{ device: 1, hw: new PciSerialCard() }, { device: 2, hw: new PcieDmaEngine() }] });
}

test('id tables match by vendor/device, PCI_ANY_ID and class/mask; a driver registered later binds what matches', async (t) => {
  const host = new Host();
  const log: string[] = [];
  const serial = recordingPciDriver('serial', [{ vendor: PCI_ANY_ID, device: PCI_ANY_ID, class: 0x070002, classMask: 0xffffff }], log);
  pciRegisterDriver(host, serial);
  const root = machine(host);
  t.after(async () => {
    await pciRemoveRootBus(root);
  });
  assert.deepEqual(log, ['serial probe 0000:00:01.0']);
  const other = recordingPciDriver('dmadrv', [{ vendor: 0x1234, device: 0x10d0, subvendor: 0x9999 }], log);
  pciRegisterDriver(host, other);
  assert.equal(pciGetDevice(host, '0000:00:02.0')?.driver, null, 'the subvendor does not match');
  assert.equal(host.sysfs.readlink('/sys/bus/pci/devices/0000:00:01.0/driver'), '/sys/bus/pci/drivers/serial');
  await pciUnregisterDriver(host, other);
  await pciUnregisterDriver(host, serial);
  assert.deepEqual(log, ['serial probe 0000:00:01.0', 'serial remove 0000:00:01.0']);
  await assert.rejects(pciUnregisterDriver(host, serial), isErr('ENODEV'));
});

test('new_id binds matching devices, EEXIST for ids already matched, remove_id ENODEV for unknown ids', async (t) => {
  const host = new Host();
  const root = machine(host);
  const log: string[] = [];
  const drv = recordingPciDriver('stubby', [{ vendor: 0x1b36, device: 0x0002, driverData: 7 }], log);
  pciRegisterDriver(host, drv);
  t.after(async () => {
    await pciUnregisterDriver(host, drv);
    await pciRemoveRootBus(root);
  });
  const dir = '/sys/bus/pci/drivers/stubby';
  assert.deepEqual(host.sysfs.ls(dir), ['0000:00:01.0', 'bind', 'new_id', 'remove_id', 'unbind']);
  assert.throws(() => host.sysfs.write(`${dir}/new_id`, '1b36 0002'), isErr('EEXIST'));
  assert.throws(() => host.sysfs.write(`${dir}/new_id`, '1234'), isErr('EINVAL'));
  assert.throws(() => host.sysfs.write(`${dir}/new_id`, '1234 10d0 ffffffff ffffffff 0 0 5'), isErr('EINVAL'), 'driver_data not in the table');
  host.sysfs.write(`${dir}/new_id`, '1234 10d0');
  assert.equal(pciDriverOf(pciGetDevice(host, '0000:00:02.0') ?? assert.fail()), drv);
  assert.throws(() => host.sysfs.write(`${dir}/remove_id`, '1234 10d1'), isErr('ENODEV'));
  host.sysfs.write(`${dir}/remove_id`, '1234 10d0');
  assert.deepEqual(log, ['stubby probe 0000:00:01.0', 'stubby probe 0000:00:02.0']);
});

test('driver_override wins over id tables; bind refuses a bound device (EBUSY) and a non-matching driver (ENODEV)', async (t) => {
  const host = new Host();
  const log: string[] = [];
  const serial = recordingPciDriver('serial', [{ vendor: 0x1b36, device: 0x0002 }], log);
  const vfio = recordingPciDriver('vfio-pci', [], log);
  pciRegisterDriver(host, serial);
  pciRegisterDriver(host, vfio);
  const root = machine(host);
  t.after(async () => {
    await pciUnregisterDriver(host, vfio);
    await pciUnregisterDriver(host, serial);
    await pciRemoveRootBus(root);
  });
  const d = '/sys/bus/pci/devices/0000:00:01.0';
  assert.throws(() => host.sysfs.write('/sys/bus/pci/drivers/vfio-pci/bind', '0000:00:02.0'), isErr('ENODEV'));
  host.sysfs.write(`${d}/driver_override`, 'vfio-pci\n');
  assert.throws(() => host.sysfs.write('/sys/bus/pci/drivers/vfio-pci/bind', '0000:00:01.0'), isErr('EBUSY'));
  host.sysfs.write('/sys/bus/pci/drivers/serial/unbind', '0000:00:01.0');
  assert.throws(() => host.sysfs.write('/sys/bus/pci/drivers/serial/bind', '0000:00:01.0'), isErr('ENODEV'));
  host.sysfs.write('/sys/bus/pci/drivers/vfio-pci/bind', '0000:00:01.0');
  assert.equal(host.sysfs.readlink(`${d}/driver`), '/sys/bus/pci/drivers/vfio-pci');
  assert.deepEqual(log, ['serial probe 0000:00:01.0', 'serial remove 0000:00:01.0', 'vfio-pci probe 0000:00:01.0']);
});

test('removing a device waits for its driver\'s remove; the node leaves sysfs at once; nothing leaks', async (t) => {
  const mark = sanitizer.mark();
  const host = new Host();
  const log: string[] = [];
  let letGo: () => void = () => {};
  const users = new Promise<void>((r) => (letGo = r));
  const drv = recordingPciDriver('slow', [{ vendor: 0x1234, device: 0x10d0 }], log, { removeWait: () => users });
  pciRegisterDriver(host, drv);
  const root = machine(host);
  t.after(() => sanitizer.assertNoLeaks(mark));
  const pdev = pciGetDevice(host, '0000:00:02.0');
  assert.ok(pdev);
  const group = pdev.iommuGroup?.id;
  host.sysfs.write('/sys/bus/pci/devices/0000:00:02.0/remove', '1');
  assert.equal(host.sysfs.exists('/sys/bus/pci/devices/0000:00:02.0'), false);
  let gone = false;
  const done = pciWaitRemoved(pdev).then(() => (gone = true));
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(gone, false, 'still waiting for the driver');
  assert.ok(host.sysfs.exists(`/sys/kernel/iommu_groups/${group}`), 'the group stays while the driver is using the device');
  letGo();
  await done;
  assert.equal(host.sysfs.exists(`/sys/kernel/iommu_groups/${group}`), false);
  assert.deepEqual(log, ['slow probe 0000:00:02.0', 'slow remove 0000:00:02.0', 'slow removed 0000:00:02.0']);
  assert.throws(() => pciStopAndRemoveBusDevice(pdev), /freed|UseAfterFree/i);
  await pciUnregisterDriver(host, drv);
  await pciRemoveRootBus(root);
});
