// SR-IOV: the sriov_* files and sriov_numvfs_store's errno, VFs created at their routing IDs with physfn /
// virtfnN links and their own IOMMU groups, VF drivers (autoprobe), removal waiting for VF drivers,
// VF FLR, a PF reset bringing VFs back through restore, and nothing leaked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { Host } from '../../base/host.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { VfioError } from '../../uapi/errno.js';
import { PCI_COMMAND, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY } from '../../uapi/pci-regs.js';
import { DMA_CMD_FILL, DMA_REG_CMD, DMA_REG_DST_LO, DMA_REG_LEN, DMA_REG_SRC_LO, DMA_REG_STATUS, DMA_STATUS_DONE } from './dma-engine.js';
import { SriovDmaPf } from './sriov-dma-pf.js';
import { pciGetDevice, pciRemoveRootBus, pciScanRootBus } from './scan.js';
import { pciBarRead, pciBarWrite, pciSetDmaPort, pciWriteConfig } from './pci-dev.js';
import type { PciDev } from './pci-dev.js';
import { pciRegisterDriver, pciUnregisterDriver } from './pci-driver.js';
import { pciPfStubDriver } from './pf-stub.js';
import { pciSriovSetNumVfs } from './iov.js';
import { pciResetFunction } from './reset.js';
import { FakeIommuMemory, le32, readLe32, recordingPciDriver } from './pci.test-kit.js';

const isErr = (code: Parameters<typeof VfioError.is>[1]) => (e: unknown) => VfioError.is(e, code);
const PF = '/sys/bus/pci/devices/0000:01:00.0';

function setup() {
  const host = new Host();
  const pfHw = new SriovDmaPf({ totalVfs: 4 });
  const root = pciScanRootBus(host, { devices: [{ device: 2, bridge: 'root-port', acs: true, below: [{ device: 0, hw: pfHw }] }] });
  const pf = pciGetDevice(host, '0000:01:00.0');
  assert.ok(pf);
  return { host, pfHw, root, pf };
}

function get(host: Host, bdf: string): PciDev {
  const d = pciGetDevice(host, bdf);
  assert.ok(d, bdf);
  return d;
}

test('sriov files and sriov_numvfs refusals: ENOENT without a PF driver, ERANGE above TotalVFs, EINVAL for junk', async (t) => {
  const mark = sanitizer.mark();
  const { host, root } = setup();
  t.after(() => sanitizer.assertNoLeaks(mark));
  assert.equal(host.sysfs.read(`${PF}/sriov_totalvfs`), '4\n');
  assert.equal(host.sysfs.read(`${PF}/sriov_numvfs`), '0\n');
  assert.equal(host.sysfs.read(`${PF}/sriov_offset`), '1\n');
  assert.equal(host.sysfs.read(`${PF}/sriov_stride`), '1\n');
  assert.equal(host.sysfs.read(`${PF}/sriov_vf_device`), '10d1\n');
  assert.throws(() => host.sysfs.write(`${PF}/sriov_numvfs`, '2'), isErr('ENOENT'));
  const log: string[] = [];
  const plain = recordingPciDriver('plain', [{ vendor: 0x1234, device: 0x10d0 }], log);
  pciRegisterDriver(host, plain);
  assert.throws(() => host.sysfs.write(`${PF}/sriov_numvfs`, '2'), isErr('ENOENT'), 'driver without sriov_configure');
  await pciUnregisterDriver(host, plain);
  const stub = pciPfStubDriver([{ vendor: 0x1234, device: 0x10d0 }]);
  pciRegisterDriver(host, stub);
  assert.throws(() => host.sysfs.write(`${PF}/sriov_numvfs`, '5'), isErr('ERANGE'));
  assert.throws(() => host.sysfs.write(`${PF}/sriov_numvfs`, 'two'), isErr('EINVAL'));
  assert.throws(() => host.sysfs.write(`${PF}/sriov_numvfs`, '70000'), isErr('EINVAL'));
  assert.equal(host.sysfs.exists('/sys/bus/pci/devices/0000:01:00.1/sriov_numvfs'), false);
  await pciUnregisterDriver(host, stub);
  await pciRemoveRootBus(root);
});

test('enabling VFs adds them at PF + offset + n * stride with links and groups; NumVFs change while enabled is EBUSY', async (t) => {
  const mark = sanitizer.mark();
  const { host, pfHw, root, pf } = setup();
  t.after(() => sanitizer.assertNoLeaks(mark));
  const stub = pciPfStubDriver([{ vendor: 0x1234, device: 0x10d0 }]);
  pciRegisterDriver(host, stub);
  const log: string[] = [];
  let letGo: () => void = () => {};
  const users = new Promise<void>((r) => (letGo = r));
  const vfDrv = recordingPciDriver('vfdrv', [{ vendor: 0x1234, device: 0x10d1 }], log, { removeWait: () => users });
  pciRegisterDriver(host, vfDrv);
  host.sysfs.write(`${PF}/sriov_numvfs`, '2');
  await tick();
  assert.equal(host.sysfs.read(`${PF}/sriov_numvfs`), '2\n');
  assert.deepEqual(log, ['vfdrv probe 0000:01:00.1', 'vfdrv probe 0000:01:00.2']);
  const vf0 = get(host, '0000:01:00.1');
  assert.equal(vf0.isVirtfn, true);
  assert.equal(vf0.physfn, pf);
  assert.equal(host.sysfs.read('/sys/bus/pci/devices/0000:01:00.2/device'), '0x10d1\n');
  assert.equal(host.sysfs.readlink('/sys/bus/pci/devices/0000:01:00.1/physfn'), '/sys/devices/pci0000:00/0000:00:02.0/0000:01:00.0');
  assert.equal(host.sysfs.readlink(`${PF}/virtfn1`), '/sys/devices/pci0000:00/0000:00:02.0/0000:01:00.2');
  assert.notEqual(vf0.iommuGroup?.id, pf.iommuGroup?.id, 'a VF behind an ACS path has its own group');
  assert.equal(host.sysfs.read('/sys/bus/pci/devices/0000:01:00.1/reset_method'), 'flr\n');
  assert.throws(() => host.sysfs.write(`${PF}/sriov_numvfs`, '3'), isErr('EBUSY'));
  // A VF is a DMA engine of its own.
  const mem = new FakeIommuMemory();
  const page = mem.map(0x4000n, 4096);
  pciSetDmaPort(vf0, mem);
  pciWriteConfig(vf0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
  pciBarWrite(vf0, 0, DMA_REG_DST_LO, le32(0x4000));
  pciBarWrite(vf0, 0, DMA_REG_LEN, le32(2));
  pciBarWrite(vf0, 0, DMA_REG_CMD, le32(DMA_CMD_FILL));
  assert.equal(readLe32((b) => pciBarRead(vf0, 0, DMA_REG_STATUS, b)), DMA_STATUS_DONE);
  assert.deepEqual([...page.subarray(0, 3)], [0, 0, 0], 'fill pattern 0');
  pciBarWrite(vf0, 0, DMA_REG_SRC_LO, le32(0x77));
  pciResetFunction(vf0);
  assert.deepEqual(pfHw.vf(0)?.resets, ['flr']);
  assert.equal(readLe32((b) => pciBarRead(vf0, 0, DMA_REG_SRC_LO, b)), 0);
  // Disabling waits for the VF driver to let go.
  const done = pciSriovSetNumVfs(pf, 0);
  await tick();
  assert.equal(host.sysfs.exists('/sys/bus/pci/devices/0000:01:00.2'), false, 'the last VF left sysfs first');
  assert.ok(pfHw.vf(0) !== undefined, 'VF Enable is still set while VF drivers hold on');
  letGo();
  await done;
  assert.equal(host.sysfs.read(`${PF}/sriov_numvfs`), '0\n');
  assert.equal(pfHw.vf(0), undefined);
  assert.equal(host.sysfs.exists(`${PF}/virtfn0`), false);
  assert.deepEqual(log.slice(2), ['vfdrv remove 0000:01:00.2', 'vfdrv removed 0000:01:00.2', 'vfdrv remove 0000:01:00.1', 'vfdrv removed 0000:01:00.1']);
  await pciUnregisterDriver(host, vfDrv);
  await pciUnregisterDriver(host, stub);
  await pciRemoveRootBus(root);
});

test('sriov_drivers_autoprobe 0 keeps VFs unbound except by driver_override; a PF reset brings VFs back reset', async (t) => {
  const mark = sanitizer.mark();
  const { host, pfHw, root, pf } = setup();
  t.after(() => sanitizer.assertNoLeaks(mark));
  const stub = pciPfStubDriver([{ vendor: 0x1234, device: 0x10d0 }]);
  pciRegisterDriver(host, stub);
  const log: string[] = [];
  const vfDrv = recordingPciDriver('vfdrv', [{ vendor: 0x1234, device: 0x10d1 }], log);
  pciRegisterDriver(host, vfDrv);
  host.sysfs.write(`${PF}/sriov_drivers_autoprobe`, '0');
  await pciSriovSetNumVfs(pf, 1);
  const vf = get(host, '0000:01:00.1');
  assert.equal(vf.driver, null);
  host.sysfs.write('/sys/bus/pci/devices/0000:01:00.1/driver_override', 'vfdrv');
  host.sysfs.write('/sys/bus/pci/drivers/vfdrv/bind', '0000:01:00.1');
  assert.deepEqual(log, ['vfdrv probe 0000:01:00.1']);
  pciWriteConfig(vf, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
  pciBarWrite(vf, 0, DMA_REG_SRC_LO, le32(0x99));
  const vfHw = pfHw.vf(0);
  pciResetFunction(pf);
  assert.deepEqual(pfHw.resets, ['flr']);
  assert.equal(pfHw.vf(0), vfHw, 'restore re-enabled the same VF');
  assert.deepEqual(vfHw?.resets, ['power-on'], 'its state did not survive');
  pciWriteConfig(vf, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
  assert.equal(readLe32((b) => pciBarRead(vf, 0, DMA_REG_SRC_LO, b)), 0);
  // Removing the whole bus with VFs enabled removes them too.
  await pciRemoveRootBus(root);
  await pciUnregisterDriver(host, vfDrv);
  await pciUnregisterDriver(host, stub);
  assert.deepEqual(host.sysfs.ls('/sys/bus/pci/devices'), []);
});
