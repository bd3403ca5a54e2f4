// vfio-fsl-mc's device fd through the uAPI: GET_INFO (FSL_MC, RESET for a DPRC only), GET_REGION_INFO (portals
// not mappable, DPIO windows mappable, index << 40), GET_IRQ_INFO, MC commands as 64-byte writes and reads of a
// portal region, SET_IRQS with an eventfd raised by the object's MSI (and by DATA_NONE/BOOL), mmap of a DPIO
// window seen through the region, and the errnos of bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DpniHw } from '../../hw/fsl-mc/mc-objects.js';
import {
  DPNI_IRQ_EVENT_LINK_CHANGED,
  MC_CMD_STATUS_NO_PRIVILEGE,
  MC_CMD_STATUS_OK,
  OBJ_CMDID_IS_ENABLED,
  OBJ_CMDID_ENABLE,
  OBJ_CMDID_SET_IRQ_ENABLE,
  OBJ_CMDID_SET_IRQ_MASK,
  OBJ_OPEN_CMDID,
} from '../../hw/fsl-mc/mc-cmd.js';
import { eventfdRead, pread, pwrite } from '../../native/index.js';
import { VFIO_DEVICE_FLAGS_FSL_MC, VFIO_DEVICE_FLAGS_RESET, decodeVfioDeviceInfo, encodeVfioDeviceInfo } from '../../uapi/device-info.js';
import { VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_IRQ_INFO, VFIO_DEVICE_GET_REGION_INFO, VFIO_DEVICE_SET_IRQS } from '../../uapi/ioctl.js';
import { VFIO_IRQ_INFO_EVENTFD, decodeVfioIrqInfo, encodeVfioIrqInfo } from '../../uapi/irq-info.js';
import { VFIO_IRQ_SET_ACTION_MASK, VFIO_IRQ_SET_ACTION_TRIGGER, encodeVfioIrqSet, vfioIrqSetOfBools, vfioIrqSetOfEventfds, vfioIrqSetOfNone } from '../../uapi/irq-set.js';
import { VFIO_REGION_INFO_FLAG_MMAP, VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE, decodeVfioRegionInfo, encodeVfioRegionInfo } from '../../uapi/region-info.js';
import { errno } from '../../vfio/uapi.test-kit.js';
import { vfioFslMcIndexToOffset } from './vfio-fsl-mc-private.js';
import { fslMcBed, mcCommandViaFd } from './vfio-fsl-mc.test-kit.js';
import type { FslMcBed } from './vfio-fsl-mc.test-kit.js';

function info(bed: FslMcBed, fd: number, argsz = 24): ReturnType<typeof decodeVfioDeviceInfo> {
  const arg = encodeVfioDeviceInfo({ argsz, flags: 0, numRegions: 0, numIrqs: 0, capOffset: 0 });
  bed.proc.ioctl(fd, VFIO_DEVICE_GET_INFO, arg);
  return decodeVfioDeviceInfo(arg);
}

function regionInfo(bed: FslMcBed, fd: number, index: number): ReturnType<typeof decodeVfioRegionInfo> {
  const arg = encodeVfioRegionInfo({ argsz: 32, flags: 0, index, capOffset: 0, size: 0n, offset: 0n });
  bed.proc.ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, arg);
  return decodeVfioRegionInfo(arg);
}

test('GET_INFO, GET_REGION_INFO and GET_IRQ_INFO describe the object as the MC does', async (t) => {
  const bed = fslMcBed();
  t.after(() => bed.done());
  const dprc = bed.open('dprc.2');
  const dpni = bed.open('dpni.0');
  const dpio = bed.open('dpio.0');
  assert.deepEqual({ ...info(bed, dprc), argsz: 0 }, { argsz: 0, flags: VFIO_DEVICE_FLAGS_FSL_MC | VFIO_DEVICE_FLAGS_RESET, numRegions: 1, numIrqs: 1, capOffset: 0 });
  assert.equal(info(bed, dpni).flags, VFIO_DEVICE_FLAGS_FSL_MC, 'only a DPRC advertises RESET');
  assert.equal(info(bed, dpni).numRegions, 0);
  assert.equal(info(bed, dpio).numRegions, 2);
  assert.throws(() => info(bed, dpni, 12), errno('EINVAL'), 'argsz below minsz');

  const portal = regionInfo(bed, dprc, 0);
  assert.equal(portal.size, 64n);
  assert.equal(portal.offset, 0n);
  assert.equal(portal.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE, 'a DPRC portal is never mappable');
  const cinh = regionInfo(bed, dpio, 1);
  assert.equal(cinh.offset, vfioFslMcIndexToOffset(1));
  assert.equal(cinh.size, 0x10000n);
  assert.equal(cinh.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP);
  const dpmcp = bed.open('dpmcp.2');
  assert.equal(regionInfo(bed, dpmcp, 0).flags & VFIO_REGION_INFO_FLAG_MMAP, 0, 'a 64-byte portal is not page sized');
  assert.throws(() => regionInfo(bed, dpio, 2), errno('EINVAL'));

  const irq = encodeVfioIrqInfo({ argsz: 16, flags: 0, index: 0, count: 0 });
  bed.proc.ioctl(dpni, VFIO_DEVICE_GET_IRQ_INFO, irq);
  assert.deepEqual(decodeVfioIrqInfo(irq), { argsz: 16, flags: VFIO_IRQ_INFO_EVENTFD, index: 0, count: 1 });
  assert.throws(() => bed.proc.ioctl(dpni, VFIO_DEVICE_GET_IRQ_INFO, encodeVfioIrqInfo({ argsz: 16, flags: 0, index: 1, count: 0 })), errno('EINVAL'));
  assert.throws(() => bed.proc.ioctl(dpni, 0x3b99), errno('ENOTTY'));
});

test('a portal region carries MC commands: 64 bytes at offset 0, answered in place', async (t) => {
  const bed = fslMcBed();
  t.after(() => bed.done());
  const fd = bed.open('dpmcp.2');
  const open = mcCommandViaFd(bed.proc, fd, OBJ_OPEN_CMDID.dpni ?? 0, 0, (p) => p.setUint32(0, 0, true));
  assert.equal(open.status, MC_CMD_STATUS_OK);
  assert.equal(mcCommandViaFd(bed.proc, fd, OBJ_CMDID_ENABLE, open.token).status, MC_CMD_STATUS_OK);
  assert.equal((bed.machine.object('dpni.0') as DpniHw).enabled, true);
  assert.equal(mcCommandViaFd(bed.proc, fd, OBJ_CMDID_IS_ENABLED, open.token).p.getUint8(0), 1);
  // The portal's reach is its container: the root DPRC is outside. The MC's status comes back in the header.
  assert.equal(mcCommandViaFd(bed.proc, fd, OBJ_OPEN_CMDID.dprc ?? 0, 0, (p) => p.setUint32(0, 1, true)).status, MC_CMD_STATUS_NO_PRIVILEGE);
  // The DPRC's own portal works the same way.
  const dprc = bed.open('dprc.2');
  assert.equal(mcCommandViaFd(bed.proc, dprc, OBJ_OPEN_CMDID.dpbp ?? 0, 0, (p) => p.setUint32(0, 0, true)).status, MC_CMD_STATUS_OK);

  assert.throws(() => bed.proc.pread(fd, new Uint8Array(8), 0), errno('EINVAL'), 'not 64 bytes');
  assert.throws(() => bed.proc.pwrite(fd, new Uint8Array(64), 8), errno('EINVAL'), 'not at offset 0');
  assert.throws(() => bed.proc.pread(fd, new Uint8Array(64), Number(vfioFslMcIndexToOffset(1))), errno('EINVAL'), 'no region 1');
  // A memory window does not answer: the header keeps READY and the write times out as the kernel's poll would.
  const dpio = bed.open('dpio.0');
  const ready = new Uint8Array(64);
  ready[2] = 1;
  assert.throws(() => bed.proc.pwrite(dpio, ready, 0), errno('ETIMEDOUT'));
});

test("SET_IRQS: the object's MSI signals the eventfd; DATA_NONE and BOOL fire it by hand; only TRIGGER", async (t) => {
  const bed = fslMcBed();
  t.after(() => bed.done());
  const dpni = bed.machine.object('dpni.0');
  assert.ok(dpni instanceof DpniHw);
  const fd = bed.open('dpni.0');
  const efd = bed.eventfd();
  bed.proc.ioctl(fd, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfEventfds(0, 0, [efd])));
  assert.notEqual(dpni.irqs[0]?.msiAddr, 0n, 'the MSI was programmed through the container');

  // The user's software enables the link cause through its portal, as a DPAA2 Ethernet driver would.
  const portal = bed.open('dpmcp.2');
  const token = mcCommandViaFd(bed.proc, portal, OBJ_OPEN_CMDID.dpni ?? 0, 0, (p) => p.setUint32(0, 0, true)).token;
  mcCommandViaFd(bed.proc, portal, OBJ_CMDID_SET_IRQ_MASK, token, (p) => p.setUint32(0, DPNI_IRQ_EVENT_LINK_CHANGED, true));
  mcCommandViaFd(bed.proc, portal, OBJ_CMDID_SET_IRQ_ENABLE, token, (p) => p.setUint8(0, 1));
  assert.equal(eventfdRead(efd), -11, 'nothing yet (EAGAIN)');
  dpni.setLink(true);
  assert.equal(eventfdRead(efd), 1n);

  bed.proc.ioctl(fd, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfNone(0, 0, 1, VFIO_IRQ_SET_ACTION_TRIGGER)));
  bed.proc.ioctl(fd, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfBools(0, 0, [true], VFIO_IRQ_SET_ACTION_TRIGGER)));
  bed.proc.ioctl(fd, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfBools(0, 0, [false], VFIO_IRQ_SET_ACTION_TRIGGER)));
  assert.equal(eventfdRead(efd), 2n);

  assert.throws(() => bed.proc.ioctl(fd, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfNone(0, 0, 1, VFIO_IRQ_SET_ACTION_MASK))), errno('EINVAL'));
  assert.throws(() => bed.proc.ioctl(fd, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfEventfds(1, 0, [efd]))), errno('EINVAL'), 'one irq index');
  assert.throws(() => bed.proc.ioctl(fd, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfEventfds(0, 0, [0x7fff]))), errno('EBADF'));
  const dpbp = bed.open('dpbp.0');
  assert.throws(() => bed.proc.ioctl(dpbp, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfEventfds(0, 0, [efd]))), errno('EINVAL'), 'a dpbp has no irqs');

  // Disabled (count 0, DATA_NONE): the MSI is cleared and link changes reach nobody.
  bed.proc.ioctl(fd, VFIO_DEVICE_SET_IRQS, encodeVfioIrqSet(vfioIrqSetOfNone(0, 0, 0, VFIO_IRQ_SET_ACTION_TRIGGER)));
  assert.equal(dpni.irqs[0]?.msiAddr, 0n);
  // Closing the device frees its irqs and, with nothing else holding one, the container's pool.
  bed.proc.close(fd);
  assert.equal(bed.mcDev('dpni.0').irqs, null);
  assert.equal(bed.mcDev('dprc.2').mcBus?.irqPool, null);
});

test('mmap of a DPIO portal window is the memory the region reads back; DPRC portals do not map', async (t) => {
  const bed = fslMcBed();
  t.after(() => bed.done());
  const dpio = bed.open('dpio.0');
  const map = bed.proc.mmap(dpio, Number(vfioFslMcIndexToOffset(0)), 4096, true);
  assert.equal(pwrite(map.fd, Uint8Array.of(0xde, 0xad, 0xbe, 0xef), map.offset), 4);
  const back = new Uint8Array(64);
  bed.proc.pread(dpio, back, 0);
  assert.deepEqual([...back.subarray(0, 4)], [0xde, 0xad, 0xbe, 0xef]);
  // Writes through the region land in the same memory (the header status byte 0 is not READY: no wait).
  const cmd = new Uint8Array(64).fill(0x5a);
  cmd[2] = 0;
  bed.proc.pwrite(dpio, cmd, 0);
  const seen = new Uint8Array(4);
  pread(map.fd, seen, map.offset + 8);
  assert.deepEqual([...seen], [0x5a, 0x5a, 0x5a, 0x5a]);
  assert.throws(() => bed.proc.mmap(dpio, Number(vfioFslMcIndexToOffset(0)) + 100, 4096, true), errno('EINVAL'), 'unaligned');
  assert.throws(() => bed.proc.mmap(dpio, Number(vfioFslMcIndexToOffset(0)), 0x20000, true), errno('EINVAL'), 'past the window');
  const dprc = bed.open('dprc.2');
  assert.throws(() => bed.proc.mmap(dprc, 0, 4096, true), errno('EINVAL'));
  // The last close resets the DPIO: its portal memory is cleared.
  bed.proc.close(dpio);
  const after = new Uint8Array(4);
  pread(map.fd, after, map.offset);
  assert.deepEqual([...after], [0, 0, 0, 0]);
});
