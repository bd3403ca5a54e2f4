// vfio-platform through the uAPI (VfioProcess: group + type1 container + device fd): the XGMAC's info and its reset
// observed in its registers (VFIO_DEVICE_RESET and the reset on open), its level IRQ (automasked, mask/unmask), the
// XGBE reset through its two regions, init refused without a reset handler (ENOENT, nothing leaks) and accepted
// with reset_required off (an mmap-able SRAM, RESET then EINVAL), and an unbind while open that waits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import * as X from '../../hw/platform/calxeda-xgmac.js';
import * as G from '../../hw/platform/amd-xgbe.js';
import { fired } from '../../emu/irq.test-kit.js';
import { VFIO_DEVICE_FLAGS_PLATFORM, VFIO_DEVICE_FLAGS_RESET, decodeVfioDeviceInfo } from '../../uapi/device-info.js';
import { VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_IRQ_INFO, VFIO_DEVICE_GET_REGION_INFO, VFIO_DEVICE_RESET, VFIO_DEVICE_SET_IRQS } from '../../uapi/ioctl.js';
import { VFIO_IRQ_INFO_AUTOMASKED, VFIO_IRQ_INFO_EVENTFD, VFIO_IRQ_INFO_MASKABLE, decodeVfioIrqInfo } from '../../uapi/irq-info.js';
import { VFIO_IRQ_SET_ACTION_MASK, VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_ACTION_UNMASK, encodeVfioIrqSet, vfioIrqSetOfEventfds, vfioIrqSetOfNone } from '../../uapi/irq-set.js';
import { VFIO_REGION_INFO_FLAG_MMAP, VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE, decodeVfioRegionInfo } from '../../uapi/region-info.js';
import type { VfioProcess } from '../../vfio/vfio-process.js';
import { errno, openViaGroup, u32s } from '../../vfio/uapi.test-kit.js';
import { vfioPlatformHasResetFor } from '../vfio-platform-common/reset-registry.js';
import { vfioPlatformIndexToOffset } from '../vfio-platform-common/private.js';
import { SRAM, XGBE, XGMAC, rd32, socBed, wr32 } from './platform.test-kit.js';

function deviceInfo(proc: VfioProcess, fd: number) {
  const b = u32s(16, 0, 0, 0);
  proc.ioctl(fd, VFIO_DEVICE_GET_INFO, b);
  return decodeVfioDeviceInfo(b);
}
function regionInfo(proc: VfioProcess, fd: number, index: number) {
  const b = u32s(32, 0, index, 0, 0, 0, 0, 0);
  proc.ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, b);
  return decodeVfioRegionInfo(b);
}
function irqInfo(proc: VfioProcess, fd: number, index: number) {
  const b = u32s(16, 0, index, 0);
  proc.ioctl(fd, VFIO_DEVICE_GET_IRQ_INFO, b);
  return decodeVfioIrqInfo(b);
}

test('XGMAC: device, region and IRQ info; VFIO_DEVICE_RESET observed in its registers', async (t) => {
  const bed = socBed();
  t.after(() => bed.done());
  const vdev = bed.bind('platform', XGMAC);
  assert.equal(vdev.devName, XGMAC);
  assert.equal(vdev.compat, 'calxeda,hb-xgmac');
  assert.ok(bed.host.sysfs.exists(`/sys/bus/platform/devices/${XGMAC}/vfio-dev/${vdev.name}`));
  // The reset on open: start the MAC from the host side first, then watch the open stop it.
  bed.xgmac.write(0, X.XGMAC_CONTROL, 4, X.MAC_ENABLE_TX);
  const { device } = openViaGroup(bed.proc, vdev);
  assert.equal(bed.xgmac.control & X.MAC_ENABLE_TX, 0, 'open reset the device');
  const info = deviceInfo(bed.proc, device);
  assert.equal(info.flags, VFIO_DEVICE_FLAGS_PLATFORM | VFIO_DEVICE_FLAGS_RESET);
  assert.equal(info.numRegions, 1);
  assert.equal(info.numIrqs, 1);
  const r = regionInfo(bed.proc, device, 0);
  assert.equal(r.size, 0x1000n);
  assert.equal(r.offset, BigInt(vfioPlatformIndexToOffset(0)));
  assert.equal(r.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE, 'a register window: trapped, not mmap-able');
  assert.throws(() => regionInfo(bed.proc, device, 1), errno('EINVAL'));
  assert.throws(() => bed.proc.mmap(device, 0, 4096, true), errno('EINVAL'));
  wr32(bed.proc, device, 0, X.XGMAC_FRAME_FILTER, 0x80000001);
  wr32(bed.proc, device, 0, X.XGMAC_CONTROL, X.MAC_ENABLE_TX | X.MAC_ENABLE_RX | 0x100);
  wr32(bed.proc, device, 0, X.XGMAC_DMA_CONTROL, X.DMA_CONTROL_ST | X.DMA_CONTROL_SR | 0x4);
  wr32(bed.proc, device, 0, X.XGMAC_DMA_INTR_ENA, X.DMA_INTR_ENA_TIE | X.DMA_INTR_ENA_NIE);
  wr32(bed.proc, device, 0, X.XGMAC_DMA_TX_POLL, 1);
  assert.equal(rd32(bed.proc, device, 0, X.XGMAC_MMC_TXFRAME), 1, 'a frame went out');
  assert.equal(bed.xgmac.dmaIntrEna, X.DMA_INTR_ENA_TIE | X.DMA_INTR_ENA_NIE, 'the writes reached the model');
  bed.proc.ioctl(device, VFIO_DEVICE_RESET);
  assert.equal(rd32(bed.proc, device, 0, X.XGMAC_DMA_INTR_ENA), 0, 'interrupts off');
  assert.equal(rd32(bed.proc, device, 0, X.XGMAC_DMA_CONTROL), 0x4, 'TX and RX DMA stopped, other bits kept');
  assert.equal(rd32(bed.proc, device, 0, X.XGMAC_CONTROL), 0x100, 'transmitter and receiver off, other bits kept');
  assert.equal(rd32(bed.proc, device, 0, X.XGMAC_FRAME_FILTER), 0x80000001, 'the handler touches nothing else');
  assert.equal(rd32(bed.proc, device, 0, X.XGMAC_MMC_TXFRAME), 1);
  // Byte and halfword accesses go through as the kernel's ioread8/16.
  const b = new Uint8Array(2);
  bed.proc.pread(device, b, vfioPlatformIndexToOffset(0) + X.XGMAC_FRAME_FILTER + 2);
  assert.deepEqual([...b], [0x00, 0x80]);
  assert.throws(() => bed.proc.pread(device, new Uint8Array(4), vfioPlatformIndexToOffset(0) + 0x1000), errno('EINVAL'));
  assert.equal(bed.proc.pread(device, new Uint8Array(8), vfioPlatformIndexToOffset(0) + 0xffc), 4, 'clipped at the end');
  assert.throws(() => bed.proc.ioctl(device, 0x3b7f), errno('ENOTTY'));
});

test('XGMAC level IRQ: MASKABLE|AUTOMASKED, signalled once and masked, re-delivered on unmask while asserted', async (t) => {
  const bed = socBed();
  t.after(() => bed.done());
  const { device } = openViaGroup(bed.proc, bed.bind('platform', XGMAC));
  assert.equal(irqInfo(bed.proc, device, 0).flags, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED);
  assert.equal(irqInfo(bed.proc, device, 0).count, 1);
  assert.throws(() => irqInfo(bed.proc, device, 1), errno('EINVAL'));
  const efd = bed.eventfd();
  bed.proc.ioctl(device, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfEventfds(0, 0, [efd])));
  wr32(bed.proc, device, 0, X.XGMAC_CONTROL, X.MAC_ENABLE_TX);
  wr32(bed.proc, device, 0, X.XGMAC_DMA_CONTROL, X.DMA_CONTROL_ST);
  wr32(bed.proc, device, 0, X.XGMAC_DMA_INTR_ENA, X.DMA_INTR_ENA_TIE);
  wr32(bed.proc, device, 0, X.XGMAC_DMA_TX_POLL, 1);
  assert.equal(fired(efd), 1, 'the TX interrupt reached the eventfd');
  wr32(bed.proc, device, 0, X.XGMAC_DMA_STATUS, X.DMA_STATUS_TI);
  wr32(bed.proc, device, 0, X.XGMAC_DMA_TX_POLL, 1);
  assert.equal(fired(efd), 0, 'automasked: nothing until unmasked');
  const unmask = (): void => void bed.proc.ioctl(device, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfNone(0, 0, 1, VFIO_IRQ_SET_ACTION_UNMASK)));
  unmask();
  assert.equal(fired(efd), 1, 'still asserted: delivered again on unmask (and masked again)');
  wr32(bed.proc, device, 0, X.XGMAC_DMA_STATUS, X.DMA_STATUS_TI);
  unmask();
  assert.equal(fired(efd), 0, 'deasserted: nothing on unmask');
  bed.proc.ioctl(device, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfNone(0, 0, 1, VFIO_IRQ_SET_ACTION_MASK)));
  wr32(bed.proc, device, 0, X.XGMAC_DMA_TX_POLL, 1);
  assert.equal(fired(efd), 0, 'masked by the user');
  unmask();
  assert.equal(fired(efd), 1);
  // A loopback trigger (DATA_NONE) runs the handler by hand: masked now, so nothing.
  bed.proc.ioctl(device, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfNone(0, 0, 1, VFIO_IRQ_SET_ACTION_TRIGGER)));
  assert.equal(fired(efd), 0);
  assert.throws(() => bed.proc.ioctl(device, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfNone(0, 1, 1, VFIO_IRQ_SET_ACTION_UNMASK))), errno('EINVAL'));
  // count 0 with DATA_NONE on TRIGGER: the trigger is torn down.
  bed.proc.ioctl(device, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfNone(0, 0, 0, VFIO_IRQ_SET_ACTION_TRIGGER)));
  assert.equal(vfioPlatformHasResetFor('calxeda,hb-xgmac'), true);
});

test('XGBE: the reset handler resets the PHY through the XPCS, turns AN off and resets the MAC', async (t) => {
  const bed = socBed();
  t.after(() => bed.done());
  const { device } = openViaGroup(bed.proc, bed.bind('platform', XGBE));
  assert.equal(deviceInfo(bed.proc, device).numRegions, 2);
  assert.equal(deviceInfo(bed.proc, device).numIrqs, 2);
  assert.equal(regionInfo(bed.proc, device, 1).size, 0x1000n);
  // The user sets state in both windows: MAC enables and interrupt enables, an AN mask through MMD indirection.
  wr32(bed.proc, device, 0, G.MAC_TCR, G.MAC_TCR_TE);
  wr32(bed.proc, device, 0, G.MAC_IER, 0xff);
  wr32(bed.proc, device, 1, G.PCS_MMD_SELECT << 2, ((G.MDIO_MMD_AN << 16) | G.MDIO_AN_INTMASK) >>> 8);
  wr32(bed.proc, device, 1, (G.MDIO_AN_INTMASK & 0xff) << 2, 0x7);
  bed.xgbe.linkEvent();
  assert.equal(bed.xgbe.mmdRead(G.MDIO_MMD_AN, G.MDIO_AN_INTMASK), 0x7);
  assert.equal(rd32(bed.proc, device, 0, G.MAC_VR), G.XGBE_MAC_VERSION);
  bed.proc.ioctl(device, VFIO_DEVICE_RESET);
  assert.equal(bed.xgbe.mmdRead(G.MDIO_MMD_AN, G.MDIO_CTRL1) & G.MDIO_AN_CTRL1_ENABLE, 0, 'auto-negotiation off');
  assert.equal(bed.xgbe.mmdRead(G.MDIO_MMD_AN, G.MDIO_AN_INTMASK), 0);
  assert.equal(bed.xgbe.mmdRead(G.MDIO_MMD_AN, G.MDIO_AN_INT), 0, 'AN interrupt cleared');
  assert.equal(bed.xgbe.mmdRead(G.MDIO_MMD_PCS, G.MDIO_CTRL1) & G.MDIO_CTRL1_RESET, 0, 'PCS reset complete');
  assert.equal(rd32(bed.proc, device, 0, G.MAC_TCR), 0, 'MAC software reset');
  assert.equal(rd32(bed.proc, device, 0, G.MAC_IER), 0);
  assert.equal(rd32(bed.proc, device, 0, G.DMA_MR) & G.DMA_MR_SWR, 0);
});

test('no reset handler: init refused with ENOENT while reset_required, and nothing leaks', async (t) => {
  const strict = socBed();
  t.after(() => strict.done());
  assert.throws(() => strict.bind('platform', SRAM), errno('ENOENT'));
  assert.equal(strict.host.buses.get('platform')?.find(SRAM)?.driver, null, 'not bound');
  assert.equal(strict.host.sysfs.exists(`/sys/bus/platform/devices/${SRAM}/vfio-dev`), false);
  // Still refused through a second try: nothing half-made stays behind.
  assert.throws(() => strict.host.sysfs.write('/sys/bus/platform/drivers/vfio-platform/bind', SRAM), errno('ENOENT'));
});

test('no reset handler with reset_required off: bound, no RESET flag, RESET is EINVAL, the SRAM region maps', async (t) => {
  const lax = socBed({ resetRequired: false });
  t.after(() => lax.done());
  const vdev = lax.bind('platform', SRAM);
  assert.equal(vdev.resetRef, null);
  const { device } = openViaGroup(lax.proc, vdev);
  assert.equal(deviceInfo(lax.proc, device).flags, VFIO_DEVICE_FLAGS_PLATFORM, 'no RESET flag');
  assert.equal(deviceInfo(lax.proc, device).numIrqs, 0);
  const r = regionInfo(lax.proc, device, 0);
  assert.equal(r.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP, 'page aligned memory: mmap-able');
  assert.throws(() => lax.proc.ioctl(device, VFIO_DEVICE_RESET), errno('EINVAL'));
  wr32(lax.proc, device, 0, 0x1004, 0xcafef00d);
  const map = lax.proc.mmap(device, vfioPlatformIndexToOffset(0) + 4096, 4096, true);
  assert.ok(map.fd >= 0);
  assert.equal(map.offset, 4096, 'the second page of the SRAM backing');
  assert.throws(() => lax.proc.mmap(device, vfioPlatformIndexToOffset(0) + 4096, 8192, true), errno('EINVAL'));
  assert.throws(() => lax.proc.mmap(device, vfioPlatformIndexToOffset(0) + 100, 4096, true), errno('EINVAL'));
  assert.equal(rd32(lax.proc, device, 0, 0x1004), 0xcafef00d);
});

test('unbind while open waits for the user (the core asks at the interval; vfio-platform has no REQ) and finishes on close', async (t) => {
  const bed = socBed();
  t.after(() => bed.done());
  const vdev = bed.bind('platform', XGMAC);
  const label = vdev.name;
  const { device, group, container } = openViaGroup(bed.proc, vdev);
  const requests: number[] = [];
  const onRequest = (m: unknown): void => {
    if (typeof m === 'object' && m !== null && 'value' in m && typeof m.value === 'number') requests.push(m.value);
  };
  subscribe('vfio-ts:device:request', onRequest);
  t.after(() => unsubscribe('vfio-ts:device:request', onRequest));
  bed.host.sysfs.write('/sys/bus/platform/drivers/vfio-platform/unbind', XGMAC);
  const pdev = bed.host.buses.get('platform')?.find(XGMAC);
  assert.equal(pdev?.driver, null, 'unbound at once from the bus view');
  await new Promise((r) => setTimeout(r, 40));
  assert.ok(requests.length >= 2, `the core kept asking (${requests.length} requests)`);
  assert.equal(vdev.regState, 'unregistering', 'waiting for the open device');
  assert.equal(rd32(bed.proc, device, 0, X.XGMAC_CONTROL), 0, 'the open fd still works while the remove waits');
  bed.proc.close(device);
  bed.proc.close(group);
  bed.proc.close(container);
  // The remove finishes (the module exit awaits it) and its last put releases the device.
  const released: string[] = [];
  const onRelease = (m: unknown): void => {
    if (typeof m === 'object' && m !== null && 'name' in m && typeof m.name === 'string') released.push(m.name);
  };
  subscribe('vfio-ts:device:release', onRelease);
  t.after(() => unsubscribe('vfio-ts:device:release', onRelease));
  await bed.platform.unregister();
  assert.deepEqual(released, [label]);
});
