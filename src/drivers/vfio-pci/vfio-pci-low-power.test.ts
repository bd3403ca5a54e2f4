// The low-power device features of vfio-pci on a DMA engine whose D3hot -> D0 resets it (No_Soft_Reset clear),
// through the uAPI: LOW_POWER_ENTRY puts it in D3hot once the ioctl returns, any access (a BAR or config read, an
// ioctl) wakes it and, with LOW_POWER_ENTRY_WITH_WAKEUP, fires the eventfd and leaves low power; LOW_POWER_EXIT;
// the kernel's refusals; config space (BARs, COMMAND) survives the hardware's PM reset; a close in low power.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DMA_ID_VALUE, DMA_REG_ID, DMA_REG_INTR_MASK, PcieDmaEngine } from '../../hw/pci/dma-engine.js';
import { fired } from '../../emu/irq.test-kit.js';
import { close, memfdCreate } from '../../native/index.js';
import {
  VFIO_DEVICE_FEATURE_GET,
  VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY,
  VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP,
  VFIO_DEVICE_FEATURE_LOW_POWER_EXIT,
  VFIO_DEVICE_FEATURE_PROBE,
  VFIO_DEVICE_FEATURE_SET,
  encodeVfioDeviceFeature,
  vfioDeviceFeatureOf,
} from '../../uapi/feature.js';
import { VFIO_DEVICE_FEATURE, VFIO_DEVICE_GET_INFO } from '../../uapi/ioctl.js';
import { PCI_COMMAND, PCI_COMMAND_MEMORY, PCI_VENDOR_ID } from '../../uapi/pci-regs.js';
import { VFIO_PCI_CONFIG_REGION_INDEX } from '../../uapi/region-info.js';
import { errno, u32s } from '../../vfio/uapi.test-kit.js';
import { openGroupPath, pciBed, regRead, regWrite } from './vfio-pci.test-kit.js';

const CFG = VFIO_PCI_CONFIG_REGION_INDEX;
const D3HOT = 3;

const feature = (id: number, op: number, data?: Uint8Array): Uint8Array => encodeVfioDeviceFeature(vfioDeviceFeatureOf(id, op, data));
const wakeup = (fd: number): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setInt32(0, fd, true);
  return b;
};

function lowPowerBed(t: { after(fn: () => unknown): void }) {
  const hw = new PcieDmaEngine({ pmNoSoftReset: false });
  const bed = pciBed({ devices: [{ device: 1, hw }] });
  t.after(() => bed.done());
  const vdev = bed.bind('0000:00:01.0');
  const { device } = openGroupPath(bed, vdev);
  regWrite(bed, device, CFG, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
  regWrite(bed, device, 0, DMA_REG_INTR_MASK, 4, 0x2);
  const set = (id: number, data?: Uint8Array): number => bed.proc.ioctl(device, VFIO_DEVICE_FEATURE, feature(id, VFIO_DEVICE_FEATURE_SET, data));
  return { bed, hw, vdev, device, set };
}

test('LOW_POWER_ENTRY: D3hot once the ioctl returns; a BAR read wakes it for the access and it sleeps again; EXIT keeps it in D0', (t) => {
  const { bed, hw, device, set } = lowPowerBed(t);
  const pmResetsBefore = hw.resets.filter((k) => k === 'pm').length;
  assert.equal(set(VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY), 0);
  assert.equal(hw.powerState, D3HOT);
  assert.equal(regRead(bed, device, 0, DMA_REG_ID, 4), DMA_ID_VALUE, 'the read found the device awake');
  assert.equal(hw.powerState, D3HOT, 'and it went back to sleep');
  assert.ok(hw.resets.filter((k) => k === 'pm').length > pmResetsBefore, 'D3hot -> D0 reset the hardware (No_Soft_Reset clear)');
  assert.equal(regRead(bed, device, CFG, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY, PCI_COMMAND_MEMORY);
  assert.equal(regRead(bed, device, 0, DMA_REG_INTR_MASK, 4), 0, 'registers reset by the PM reset; config restored by the PCI core');
  assert.throws(() => set(VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY), errno('EINVAL'), 'already in low power');
  assert.equal(set(VFIO_DEVICE_FEATURE_LOW_POWER_EXIT), 0);
  assert.equal(hw.powerState, 0);
  regRead(bed, device, CFG, PCI_VENDOR_ID, 2);
  assert.equal(hw.powerState, 0, 'stays awake after an access');
});

test('LOW_POWER_ENTRY_WITH_WAKEUP: a config read wakes the device, fires the eventfd and leaves low power', (t) => {
  const { bed, hw, device, set } = lowPowerBed(t);
  const efd = bed.eventfd();
  set(VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP, wakeup(efd));
  assert.equal(hw.powerState, D3HOT);
  assert.equal(fired(efd), 0);
  assert.equal(regRead(bed, device, CFG, PCI_VENDOR_ID, 2), 0x1234);
  assert.equal(fired(efd), 1, 'the wakeup eventfd fired');
  assert.equal(hw.powerState, 0, 'and low power was left');
  // Any ioctl wakes it too: the exit itself (the eventfd fires, the exit then has nothing left to do).
  set(VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP, wakeup(efd));
  assert.equal(set(VFIO_DEVICE_FEATURE_LOW_POWER_EXIT), 0);
  assert.equal(fired(efd), 1);
  set(VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP, wakeup(efd));
  bed.proc.ioctl(device, VFIO_DEVICE_GET_INFO, u32s(16, 0, 0, 0));
  assert.equal(fired(efd), 1, 'GET_INFO woke it');
  assert.equal(hw.powerState, 0);
});

test('refusals as the kernel: GET EINVAL, PROBE answers without entering, bad wakeup fds, a short payload', (t) => {
  const { bed, hw, device, set } = lowPowerBed(t);
  const ioctl = (id: number, op: number, data?: Uint8Array) => bed.proc.ioctl(device, VFIO_DEVICE_FEATURE, feature(id, op, data));
  assert.throws(() => ioctl(VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY, VFIO_DEVICE_FEATURE_GET), errno('EINVAL'));
  assert.equal(ioctl(VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET), 0);
  assert.equal(hw.powerState, 0, 'PROBE did not enter');
  assert.throws(() => set(VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP, wakeup(-1)), errno('EINVAL'));
  assert.throws(() => set(VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP, wakeup(100000)), errno('EBADF'));
  const memfd = memfdCreate('not-an-eventfd', 0);
  t.after(() => close(memfd));
  assert.throws(() => set(VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP, wakeup(memfd)), errno('EINVAL'));
  assert.throws(() => set(VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP, new Uint8Array(4)), errno('EINVAL'), 'payload shorter than the struct');
  assert.equal(hw.powerState, 0, 'nothing entered low power');
  set(VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY);
  assert.throws(() => set(VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP, wakeup(bed.eventfd())), errno('EINVAL'), 'already entered: the eventfd is let go');
  assert.equal(hw.powerState, D3HOT);
});

test('closing the device in low power resumes it without signalling the wakeup, and lets the eventfd go', (t) => {
  const { bed, hw, vdev, device, set } = lowPowerBed(t);
  const efd = bed.eventfd();
  set(VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP, wakeup(efd));
  assert.equal(hw.powerState, D3HOT);
  bed.proc.close(device);
  assert.equal(fired(efd), 0);
  assert.equal(vdev.pmRuntimeEngaged, false);
  assert.equal(vdev.pmWakeEventfd, -1);
  assert.equal(hw.powerState, 0);
});
