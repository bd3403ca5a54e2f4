// Resets of vfio-pci devices beyond PCIe FLR (drivers/vfio/pci/vfio_pci_core.c vfio_pci_ioctl_reset,
// vfio_pci_ioctl_pci_hot_reset and vfio_pci_dev_set_hot_reset; vfio_pci_config.c vfio_af_config_write): the
// Advanced Features FLR of a conventional function, and the cdev/iommufd form of VFIO_DEVICE_PCI_HOT_RESET, where
// the caller passes no group fds and owns the set through its iommufd context.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DMA_REG_SRC_LO, PcieDmaEngine } from '../../hw/pci/dma-engine.js';
import { VFIO_DEVICE_FLAGS_RESET, decodeVfioDeviceInfo } from '../../uapi/device-info.js';
import { VFIO_DEVICE_BIND_IOMMUFD, VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, VFIO_DEVICE_PCI_HOT_RESET, VFIO_DEVICE_RESET } from '../../uapi/ioctl.js';
import { PCI_COMMAND, PCI_COMMAND_MEMORY } from '../../uapi/pci-regs.js';
import { PCI_AF_CTRL, PCI_AF_CTRL_FLR } from '../../uapi/pci-regs-ext.js';
import { VFIO_PCI_CONFIG_REGION_INDEX } from '../../uapi/region-info.js';
import { VFIO_PCI_DEVID_NOT_OWNED, VFIO_PCI_HOT_RESET_FLAG_DEV_ID, VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED, decodeVfioPciHotResetInfo } from '../../uapi/reset-info.js';
import { errno, u32s } from '../../vfio/uapi.test-kit.js';
import { CAPFN_REG_SCRATCH, CapFunction } from './cap-function.test-kit.js';
import { openCdevPath, openGroupPath, pciBed, regRead, regWrite } from './vfio-pci.test-kit.js';
import type { PciBed } from './vfio-pci.test-kit.js';

const CFG = VFIO_PCI_CONFIG_REGION_INDEX;

test('AF FLR: the reset method of a conventional function with the Advanced Features capability; the virtual FLR bit resets too', async (t) => {
  const hw = new CapFunction({ afFlr: true });
  const bed = pciBed({ devices: [{ device: 1, hw }] });
  t.after(() => bed.done());
  const vdev = bed.bind('0000:00:01.0');
  assert.equal(bed.host.sysfs.read('/sys/bus/pci/devices/0000:00:01.0/reset_method').trim(), 'af_flr');
  const { device } = openGroupPath(bed, vdev);
  assert.deepEqual(hw.resets, ['af-flr'], 'the open reset the function');
  const info = u32s(24, 0, 0, 0, 0, 0);
  bed.proc.ioctl(device, VFIO_DEVICE_GET_INFO, info);
  assert.equal(decodeVfioDeviceInfo(info).flags & VFIO_DEVICE_FLAGS_RESET, VFIO_DEVICE_FLAGS_RESET);

  regWrite(bed, device, CFG, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
  regWrite(bed, device, 0, CAPFN_REG_SCRATCH, 4, 0x5a5a);
  bed.proc.ioctl(device, VFIO_DEVICE_RESET);
  assert.deepEqual(hw.resets, ['af-flr', 'af-flr']);
  assert.equal(regRead(bed, device, 0, CAPFN_REG_SCRATCH, 4), 0, 'the register file is back to power-on');
  assert.equal(regRead(bed, device, CFG, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY, PCI_COMMAND_MEMORY, 'the user\'s COMMAND survives (restored)');

  // vfio_af_config_write: the user's FLR bit is virtual, starts pci_try_reset_function and reads back 0.
  const af = hw.layout.af;
  regWrite(bed, device, 0, CAPFN_REG_SCRATCH, 4, 0x77);
  regWrite(bed, device, CFG, af + PCI_AF_CTRL, 1, PCI_AF_CTRL_FLR);
  assert.deepEqual(hw.resets, ['af-flr', 'af-flr', 'af-flr']);
  assert.equal(regRead(bed, device, CFG, af + PCI_AF_CTRL, 1) & PCI_AF_CTRL_FLR, 0);
  assert.equal(regRead(bed, device, 0, CAPFN_REG_SCRATCH, 4), 0);
});

/** Two DMA engines as functions 0 and 1 of one device behind a root port; each isolated by its own ACS. */
function twoIsolatedFunctions(): { bed: PciBed; f0: PcieDmaEngine; f1: PcieDmaEngine } {
  // ACS Source Validation, Request and Completion Redirect, Upstream Forwarding.
  const acs = { extCaps: (b: { addAcs(cap: number): number }) => void b.addAcs(0x1f) };
  const f0 = new PcieDmaEngine(acs);
  const f1 = new PcieDmaEngine(acs);
  const bed = pciBed({ devices: [{ device: 1, bridge: 'root-port', acs: true, below: [{ device: 0, function: 0, hw: f0 }, { device: 0, function: 1, hw: f1 }] }] });
  return { bed, f0, f1 };
}

const hotResetInfo = (bed: PciBed, fd: number) => {
  const b = u32s(12 + 16 * 4, 0, 0, ...new Array<number>(16).fill(0));
  bed.proc.ioctl(fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, b);
  return decodeVfioPciHotResetInfo(b);
};

test('cdev hot reset: no group fds; the iommufd context must own every function of the set (EINVAL otherwise)', async (t) => {
  const { bed, f0, f1 } = twoIsolatedFunctions();
  t.after(() => bed.done());
  const v0 = bed.bind('0000:01:00.0');
  const v1 = bed.bind('0000:01:00.1');
  assert.notEqual(bed.pdev('0000:01:00.0').iommuGroup, bed.pdev('0000:01:00.1').iommuGroup, 'ACS: one group each');
  assert.equal(v0.devSet, v1.devSet, 'no slot: the bus is the device set');

  const { device: d0, iommufd } = openCdevPath(bed, v0);
  let info = hotResetInfo(bed, d0);
  assert.equal(info.flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID, VFIO_PCI_HOT_RESET_FLAG_DEV_ID, 'a cdev-opened device reports dev ids');
  assert.equal(info.flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED, 0, 'function 1 is not bound to this iommufd');
  assert.ok((info.devices[0]?.groupId ?? 0) > 0, 'function 0: its iommufd device id');
  assert.equal(info.devices[1]?.groupId, VFIO_PCI_DEVID_NOT_OWNED);

  const before = [f0.resets.length, f1.resets.length];
  assert.throws(() => bed.proc.ioctl(d0, VFIO_DEVICE_PCI_HOT_RESET, u32s(16, 0, 0, 0)), errno('EINVAL'), 'function 1 is not owned');
  assert.throws(() => bed.proc.ioctl(d0, VFIO_DEVICE_PCI_HOT_RESET, u32s(16, 0, 1, iommufd)), errno('EINVAL'), 'a cdev device passes no fds');
  assert.deepEqual([f0.resets.length, f1.resets.length], before, 'nothing was reset');

  // Function 1 bound to the same iommufd: the context owns both; the bus reset reaches both functions.
  const d1 = bed.proc.open(v1.cdevPath ?? '');
  bed.proc.ioctl(d1, VFIO_DEVICE_BIND_IOMMUFD, u32s(16, 0, iommufd, 0));
  info = hotResetInfo(bed, d0);
  assert.equal(info.flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED, VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED);
  assert.ok(info.devices.every((d) => d.groupId > 0 && d.groupId !== VFIO_PCI_DEVID_NOT_OWNED));
  regWrite(bed, d0, CFG, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
  regWrite(bed, d0, 0, DMA_REG_SRC_LO, 4, 0x99);
  bed.proc.ioctl(d0, VFIO_DEVICE_PCI_HOT_RESET, u32s(16, 0, 0, 0));
  assert.equal(f0.resets.at(-1), 'bus');
  assert.equal(f1.resets.at(-1), 'bus');
  assert.equal(regRead(bed, d0, 0, DMA_REG_SRC_LO, 4), 0, 'the engine is back to power-on');
});

test('group hot reset: the group fds must cover every function of the set', async (t) => {
  const { bed, f1 } = twoIsolatedFunctions();
  t.after(() => bed.done());
  const v0 = bed.bind('0000:01:00.0');
  const v1 = bed.bind('0000:01:00.1');
  const { device: d0, group: g0 } = openGroupPath(bed, v0);
  const info = hotResetInfo(bed, d0);
  assert.equal(info.flags, 0, 'group ids, not dev ids');
  assert.deepEqual(info.devices.map((d) => d.groupId), [bed.pdev('0000:01:00.0').iommuGroup?.id, bed.pdev('0000:01:00.1').iommuGroup?.id]);
  assert.throws(() => bed.proc.ioctl(d0, VFIO_DEVICE_PCI_HOT_RESET, u32s(16, 0, 1, g0)), errno('EINVAL'), 'function 1\'s group is missing');
  assert.throws(() => bed.proc.ioctl(d0, VFIO_DEVICE_PCI_HOT_RESET, u32s(12, 0, 0)), errno('EINVAL'), 'a group-opened device must pass fds');
  const g1 = bed.proc.open(`/dev/vfio/${bed.pdev('0000:01:00.1').iommuGroup?.id ?? -1}`);
  assert.throws(() => bed.proc.ioctl(d0, VFIO_DEVICE_PCI_HOT_RESET, u32s(20, 0, 3, g0, g1, g1)), errno('EINVAL'), 'more fds than functions');
  assert.throws(() => bed.proc.ioctl(d0, VFIO_DEVICE_PCI_HOT_RESET, u32s(20, 0, 2, g0, 999)), errno('EBADF'));
  bed.proc.ioctl(d0, VFIO_DEVICE_PCI_HOT_RESET, u32s(20, 0, 2, g0, g1));
  assert.equal(f1.resets.at(-1), 'bus');
  assert.ok(v1.devSet !== null);
});
