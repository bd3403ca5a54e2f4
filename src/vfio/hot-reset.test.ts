// PCI hot reset (vfio_pci_core.c): GET_PCI_HOT_RESET_INFO with ENOSPC and group ids, PCI_HOT_RESET ownership through
// group fds with the kernel's errno, and devices without a declared PCI function leaving both to ops.ioctl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, VFIO_DEVICE_PCI_HOT_RESET } from '../uapi/ioctl.js';
import { iommuGroupAddDevice, iommuGroupAlloc, iommuGroupPut, iommuGroupRemoveDevice } from '../base/iommu-group.js';
import { makeHost, makeParent } from './recording-ops.test-kit.js';
import { vfioPciSetHotResetPort } from './hot-reset.js';
import type { PciResetTarget } from './hot-reset.js';
import { errno, groupPath, makeKit, openViaGroup, u32s, view } from './uapi.test-kit.js';

test('hot reset info and reset over a bus of two functions, owned through their group fds', async () => {
  const { host, parent: p0 } = makeHost('0000:00:01.0');
  const p1 = makeParent(host, '0000:00:01.1');
  const groups = [p0, p1].map((p) => {
    const g = iommuGroupAlloc(host);
    iommuGroupAddDevice(g, p);
    return g;
  });
  const k = makeKit({ host, parent: p0, physical: true, devSet: 'bus0' });
  const dev1 = k.addDevice('unused', { parent: p1, physical: true, devSet: 'bus0' });
  const scope: PciResetTarget[] = [
    { address: { segment: 0, bus: 0, devfn: 8 }, dev: p0 },
    { address: { segment: 0, bus: 0, devfn: 9 }, dev: p1 },
  ];
  const resets: string[] = [];
  for (const d of [k.dev, dev1]) {
    vfioPciSetHotResetPort(d, { address: scope[0]?.address ?? { segment: 0, bus: 0, devfn: 0 }, resetScope: () => scope, hotReset: () => resets.push(d.name) });
  }
  const a = openViaGroup(k.proc, k.dev);
  const small = u32s(12, 0, 0);
  assert.throws(() => k.proc.ioctl(a.device, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, small), errno('ENOSPC'));
  assert.equal(view(small).getUint32(8, true), 2, 'count tells the size needed');
  assert.throws(() => k.proc.ioctl(a.device, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, u32s(11, 0, 0)), errno('EINVAL'));
  const info = new Uint8Array(28);
  view(info).setUint32(0, 28, true);
  assert.equal(k.proc.ioctl(a.device, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info), 0);
  assert.deepEqual(
    [0, 1].map((i) => [view(info).getUint32(12 + i * 8, true), view(info).getUint8(19 + i * 8)]),
    [[groups[0]?.id, 8], [groups[1]?.id, 9]],
  );
  const reset = (...fds: number[]): Uint8Array => u32s(12 + fds.length * 4, 0, fds.length, ...fds);
  assert.throws(() => k.proc.ioctl(a.device, VFIO_DEVICE_PCI_HOT_RESET, reset()), errno('EINVAL'), 'group path needs fds');
  assert.throws(() => k.proc.ioctl(a.device, VFIO_DEVICE_PCI_HOT_RESET, u32s(12, 1, 0)), errno('EINVAL'), 'flags');
  assert.throws(() => k.proc.ioctl(a.device, VFIO_DEVICE_PCI_HOT_RESET, reset(a.group, a.group, a.group)), errno('EINVAL'), 'more fds than devices');
  assert.throws(() => k.proc.ioctl(a.device, VFIO_DEVICE_PCI_HOT_RESET, reset(a.container)), errno('EINVAL'), 'a container is no VFIO file');
  assert.throws(() => k.proc.ioctl(a.device, VFIO_DEVICE_PCI_HOT_RESET, reset(99)), errno('EBADF'));
  assert.throws(() => k.proc.ioctl(a.device, VFIO_DEVICE_PCI_HOT_RESET, u32s(12, 0, 2, a.group)), errno('EFAULT'), 'fds past the buffer');
  assert.throws(() => k.proc.ioctl(a.device, VFIO_DEVICE_PCI_HOT_RESET, reset(a.group)), errno('EINVAL'), 'the other function is not owned');
  const g1 = k.proc.open(groupPath(dev1));
  assert.equal(k.proc.ioctl(a.device, VFIO_DEVICE_PCI_HOT_RESET, reset(a.group, g1)), 0);
  assert.deepEqual(resets, [k.dev.name]);
  await k.done();
  for (const [i, p] of [p0, p1].entries()) {
    iommuGroupRemoveDevice(p);
    const g = groups[i];
    if (g !== undefined) iommuGroupPut(g);
  }
});

test('without a declared PCI function the hot reset ioctls go to ops.ioctl (EINVAL without one)', async () => {
  const k = makeKit();
  const { device } = openViaGroup(k.proc, k.dev);
  assert.throws(() => k.proc.ioctl(device, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, u32s(12, 0, 0)), errno('EINVAL'));
  assert.throws(() => k.proc.ioctl(device, VFIO_DEVICE_PCI_HOT_RESET, u32s(12, 0, 0)), errno('EINVAL'));
  await k.done();
});
