// SR-IOV under vfio-pci (drivers/vfio/pci/vfio_pci.c vfio_pci_sriov_configure, vfio_pci_core.c
// vfio_pci_core_sriov_configure, vfio_pci_bus_notifier, vfio_pci_validate_vf_token, vfio_pci_core_feature_token):
// sriov_numvfs of a PF bound to vfio-pci (module option enable_sriov) creates VFs that bind to vfio-pci too; the
// PF's user sets the VF token with VFIO_DEVICE_FEATURE_PCI_VF_TOKEN, and a VF's user must name it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pciSriovSetNumVfs } from '../../hw/pci/iov.js';
import { pciPendingRemoval } from '../../hw/pci/pci-bus-type.js';
import { SriovDmaPf } from '../../hw/pci/sriov-dma-pf.js';
import { VFIO_DEVICE_BIND_IOMMUFD, VFIO_DEVICE_FEATURE, VFIO_GROUP_GET_DEVICE_FD, VFIO_GROUP_SET_CONTAINER, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU } from '../../uapi/ioctl.js';
import {
  VFIO_DEVICE_FEATURE_GET,
  VFIO_DEVICE_FEATURE_PCI_VF_TOKEN,
  VFIO_DEVICE_FEATURE_PROBE,
  VFIO_DEVICE_FEATURE_SET,
  encodeVfioDeviceFeature,
  vfioDeviceFeatureOf,
} from '../../uapi/feature.js';
import { PCI_VENDOR_ID } from '../../uapi/pci-regs.js';
import { VFIO_PCI_CONFIG_REGION_INDEX } from '../../uapi/region-info.js';
import { cstr, errno, groupPath, openViaGroup, u32s } from '../../vfio/uapi.test-kit.js';
import { ArrayBufferBacking } from '../../vfio/dma-space.js';
import { PcieDmaEngine } from '../../hw/pci/dma-engine.js';
import { vfioPciDeviceOf } from './vfio-pci.js';
import { pciBed, regRead } from './vfio-pci.test-kit.js';
import type { PciBed } from './vfio-pci.test-kit.js';
import type { VfioPciCoreDevice } from '../vfio-pci-core/core-device.js';

const TOKEN = '5d2e3f4a-1b2c-4d5e-8f90-a1b2c3d4e5f6';

/** The 16 bytes of a UUID string, as uuid_t holds them. */
function uuidBytes(u: string): Uint8Array {
  const hex = u.replaceAll('-', '');
  return Uint8Array.from({ length: 16 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
}

const feature = (op: number, data?: Uint8Array): Uint8Array => encodeVfioDeviceFeature(vfioDeviceFeatureOf(VFIO_DEVICE_FEATURE_PCI_VF_TOKEN, op, data));

/** Opens a VF's group into its own container; returns the group fd (the device comes by name from it). */
function openGroup(bed: PciBed, vdev: VfioPciCoreDevice): number {
  const group = bed.proc.open(groupPath(vdev));
  const container = bed.proc.open('/dev/vfio/vfio');
  bed.proc.ioctl(group, VFIO_GROUP_SET_CONTAINER, u32s(container));
  bed.proc.ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
  return group;
}

test('sriov_numvfs on a PF bound to vfio-pci: VFs appear, steered to vfio-pci; refused without enable_sriov', async (t) => {
  const pfHw = new SriovDmaPf({ totalVfs: 4 });
  const bed = pciBed({ devices: [{ device: 1, hw: pfHw }] }, { enableSriov: true });
  t.after(() => bed.done());
  const pf = bed.bind('0000:00:01.0');
  const pfDev = bed.pdev('0000:00:01.0');
  await pciSriovSetNumVfs(pfDev, 2);
  assert.equal(pfDev.sriov?.numVfs, 2);
  const vfs = pfDev.sriov?.vfs ?? [];
  assert.deepEqual(vfs.map((v) => v.driverOverride), ['vfio-pci', 'vfio-pci'], 'vfio_pci_bus_notifier set driver_override');
  const vf0 = vfioPciDeviceOf(vfs[0] ?? pfDev);
  assert.ok(vf0 !== null && vf0 !== pf, 'the VF bound to vfio-pci at once');
  assert.equal(vf0.sriovPfCoreDev, pf, 'the VF found its vfio-pci PF');
  assert.ok(pf.vfToken !== null, 'a PF has a token from its registration');
  assert.throws(() => pciSriovSetNumVfs(pfDev, 3), errno('EBUSY'), 'VFs exist: disable first (sriov_numvfs_store)');
  await pciSriovSetNumVfs(pfDev, 0);
  assert.equal(pfDev.sriov?.numVfs, 0);
  assert.equal(pf.sriovPfsItem, false);
  // Enabled again, then the PF's unbind removes its VFs first (vfio_pci_core_unregister_device).
  await pciSriovSetNumVfs(pfDev, 1);
  bed.host.sysfs.write('/sys/bus/pci/drivers/vfio-pci/unbind', '0000:00:01.0');
  await pciPendingRemoval(pfDev);
  assert.equal(pfDev.sriov?.numVfs, 0, 'no VFs left behind');
  assert.equal(pfDev.driverData, null);
});

test('without enable_sriov vfio-pci refuses sriov_configure with ENOENT', async (t) => {
  const bed = pciBed({ devices: [{ device: 1, hw: new SriovDmaPf({ totalVfs: 2 }) }] });
  t.after(() => bed.done());
  const pf = bed.bind('0000:00:01.0');
  await assert.rejects(pciSriovSetNumVfs(bed.pdev('0000:00:01.0'), 1), errno('ENOENT'));
  assert.equal(pf.sriovPfsItem, false);
  assert.equal(bed.pdev('0000:00:01.0').sriov?.numVfs, 0);
});

test('the VF token: SET on the PF, required (EACCES) from a VF user, required from the PF user while VFs are open', async (t) => {
  const bed = pciBed({ devices: [{ device: 1, hw: new SriovDmaPf({ totalVfs: 2 }) }] }, { enableSriov: true });
  t.after(() => bed.done());
  const pf = bed.bind('0000:00:01.0');
  const pfDev = bed.pdev('0000:00:01.0');
  const { device: pfFd, group: pfGroup } = openViaGroup(bed.proc, pf);
  // PROBE says SET is there; GET is not (it would expose the previous user's token); a short payload is EINVAL.
  assert.equal(bed.proc.ioctl(pfFd, VFIO_DEVICE_FEATURE, feature(VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET)), 0);
  assert.throws(() => bed.proc.ioctl(pfFd, VFIO_DEVICE_FEATURE, feature(VFIO_DEVICE_FEATURE_GET, new Uint8Array(16))), errno('EINVAL'));
  assert.throws(() => bed.proc.ioctl(pfFd, VFIO_DEVICE_FEATURE, feature(VFIO_DEVICE_FEATURE_SET, new Uint8Array(8))), errno('EINVAL'));
  bed.proc.ioctl(pfFd, VFIO_DEVICE_FEATURE, feature(VFIO_DEVICE_FEATURE_SET, uuidBytes(TOKEN)));
  assert.equal(pf.vfToken?.uuid, TOKEN);

  await pciSriovSetNumVfs(pfDev, 1);
  const vfPdev = pfDev.sriov?.vfs[0];
  assert.ok(vfPdev !== undefined);
  const vf = vfioPciDeviceOf(vfPdev);
  assert.ok(vf !== null);
  const vfGroup = openGroup(bed, vf);
  const getFd = (name: string): number => bed.proc.ioctl(vfGroup, VFIO_GROUP_GET_DEVICE_FD, cstr(name));
  assert.throws(() => getFd(vfPdev.bdf), errno('EACCES'), 'VF token required');
  assert.throws(() => getFd(`${vfPdev.bdf} vf_token=00000000-0000-0000-0000-000000000000`), errno('EACCES'), 'incorrect token');
  assert.throws(() => getFd(`${vfPdev.bdf} vf_token=${TOKEN} vf_token=${TOKEN}`), errno('EINVAL'), 'duplicate option');
  assert.throws(() => getFd(`${vfPdev.bdf} vf_token=not-a-uuid`), errno('EINVAL'));
  const vfFd = getFd(`${vfPdev.bdf} vf_token=${TOKEN.toUpperCase()}`);
  assert.equal(regRead(bed, vfFd, VFIO_PCI_CONFIG_REGION_INDEX, PCI_VENDOR_ID, 2), 0x1234, 'the VF is open');
  assert.equal(pf.vfToken?.users, 1);

  // The PF while a VF is in use: a second open of it must prove the current token; it cannot change it.
  const pfName = pfDev.bdf;
  assert.throws(() => bed.proc.ioctl(pfGroup, VFIO_GROUP_GET_DEVICE_FD, cstr(pfName)), errno('EACCES'));
  assert.throws(() => bed.proc.ioctl(pfGroup, VFIO_GROUP_GET_DEVICE_FD, cstr(`${pfName} vf_token=11111111-2222-4333-8444-555555555555`)), errno('EACCES'));
  const pf2 = bed.proc.ioctl(pfGroup, VFIO_GROUP_GET_DEVICE_FD, cstr(`${pfName} vf_token=${TOKEN}`));
  bed.proc.close(pf2);
  bed.proc.close(vfFd);
  assert.equal(pf.vfToken?.users, 0, 'the VF user let go');
  // No VF users: a token given with the PF's name becomes the new token.
  const other = '11111111-2222-4333-8444-555555555555';
  bed.proc.close(bed.proc.ioctl(pfGroup, VFIO_GROUP_GET_DEVICE_FD, cstr(`${pfName} vf_token=${other}`)));
  assert.equal(pf.vfToken?.uuid, other);
  assert.throws(() => getFd(`${vfPdev.bdf} vf_token=${TOKEN}`), errno('EACCES'), 'the old token no longer opens the VF');
  bed.proc.close(getFd(`${vfPdev.bdf} vf_token=${other}`));
  bed.proc.close(pfFd);
  await pciSriovSetNumVfs(pfDev, 0);
});

test('a token for a function that is neither a vfio-pci PF nor its VF is EINVAL; the feature is ENOTTY there', async (t) => {
  const bed = pciBed({ devices: [{ device: 1, hw: new PcieDmaEngine() }] });
  t.after(() => bed.done());
  const vdev = bed.bind('0000:00:01.0');
  const { group, device } = openViaGroup(bed.proc, vdev);
  assert.throws(() => bed.proc.ioctl(group, VFIO_GROUP_GET_DEVICE_FD, cstr(`0000:00:01.0 vf_token=${TOKEN}`)), errno('EINVAL'));
  assert.throws(() => bed.proc.ioctl(device, VFIO_DEVICE_FEATURE, feature(VFIO_DEVICE_FEATURE_SET, uuidBytes(TOKEN))), errno('ENOTTY'));
});

test('the VF token on the cdev path: BIND_IOMMUFD with VFIO_DEVICE_BIND_FLAG_TOKEN reads it from the caller and checks it', async (t) => {
  const bed = pciBed({ devices: [{ device: 1, hw: new SriovDmaPf({ totalVfs: 1 }) }] }, { enableSriov: true });
  t.after(() => bed.done());
  const pf = bed.bind('0000:00:01.0');
  const pfDev = bed.pdev('0000:00:01.0');
  const { device: pfFd } = openViaGroup(bed.proc, pf);
  bed.proc.ioctl(pfFd, VFIO_DEVICE_FEATURE, feature(VFIO_DEVICE_FEATURE_SET, uuidBytes(TOKEN)));
  await pciSriovSetNumVfs(pfDev, 1);
  const vfPdev = pfDev.sriov?.vfs[0];
  assert.ok(vfPdev !== undefined);
  const vf = vfioPciDeviceOf(vfPdev);
  assert.ok(vf !== null && vf.cdevPath !== null);
  // The token lives in the process's memory; BIND names its address (token_uuid_ptr).
  const VA = 0x7fff0000n;
  bed.proc.mm.map(VA, new ArrayBufferBacking(4096));
  bed.proc.mm.write(VA, uuidBytes(TOKEN));
  bed.proc.mm.write(VA + 16n, uuidBytes('00000000-0000-0000-0000-000000000000'));
  const iommufd = bed.proc.open('/dev/iommu');
  const cdev = bed.proc.open(vf.cdevPath);
  const bind = (flags: number, ptr: bigint): Uint8Array => u32s(24, flags, iommufd, 0, Number(ptr & 0xffffffffn), Number(ptr >> 32n));
  assert.throws(() => bed.proc.ioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, u32s(16, 0, iommufd, 0)), errno('EACCES'), 'VF token required');
  assert.throws(() => bed.proc.ioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, bind(1, VA + 16n)), errno('EACCES'), 'incorrect token');
  assert.throws(() => bed.proc.ioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, bind(1, 0x1000n)), errno('EFAULT'), 'token pointer not mapped');
  assert.throws(() => bed.proc.ioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, u32s(20, 1, iommufd, 0, 0)), errno('EINVAL'), 'TOKEN with an argsz short of the pointer');
  assert.equal(pf.vfToken?.users, 0, 'no refused bind opened the VF');
  assert.equal(bed.proc.ioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, bind(1, VA)), 0);
  assert.equal(pf.vfToken?.users, 1, 'the bound VF counts as a token user');
  bed.proc.close(cdev);
  assert.equal(pf.vfToken?.users, 0);
  bed.proc.close(iommufd);
  bed.proc.close(pfFd);
  await pciSriovSetNumVfs(pfDev, 0);
});
