// A vGPU exported over vfio-user, the way `vfio-ts serve` exports it to QEMU: a real server on a real socket,
// a client speaking the protocol (and one exchange byte for byte): DEVICE_GET_INFO, GET_REGION_INFO with the
// OpRegion's type cap, config-space ids, BAR0's PVINFO and a display register round trip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { close } from '../../native/index.js';
import { findVfioInfoCap } from '../../uapi/caps.js';
import { VFIO_DEVICE_FLAGS_PCI } from '../../uapi/device-info.js';
import {
  VFIO_REGION_INFO_CAP_SPARSE_MMAP,
  VFIO_REGION_INFO_CAP_TYPE,
  VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION,
  VFIO_REGION_TYPE_PCI_VENDOR_TYPE,
  decodeVfioRegionCapSparseMmap,
  decodeVfioRegionCapType,
} from '../../uapi/region-caps.js';
import { VFIO_REGION_INFO_FLAG_MMAP } from '../../uapi/region-info.js';
import { VfioUserServer } from '../../vfio-user/server.js';
import { VfioUserClient } from '../../vfio-user/client.js';
import { VFIO_USER_REGION_READ, encodeCommand, encodeRegionAccess } from '../../vfio-user/protocol/index.js';
import { RawClient } from '../../vfio-user/server.test-kit.js';
import { PLANE_STRIDE, VGTIF, VGT_PVINFO_PAGE } from '../../hw/i915/i915-regs.js';
import { gvtBed } from './gvt.test-kit.js';
import { GVT_OPREGION_REGION_INDEX } from './index.js';

test('a GVTg_V5_8 vGPU over vfio-user: info, region info with the OpRegion cap, config ids, BAR0 registers', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gvt-vfio-user-'));
  const server = new VfioUserServer({});
  const clients: { close(): unknown }[] = [];
  // Registered before the bed: the connections go before the module waits for its devices' users.
  t.after(async () => {
    for (const c of clients) await c.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const bed = gvtBed(t);
  const { vgpu } = bed.create('GVTg_V5_8', 1);
  const path = join(dir, 'vgpu.sock');
  await server.export(vgpu, path);
  const c = await VfioUserClient.connect(path);
  clients.push(c);
  const info = await c.getDeviceInfo();
  assert.equal(info.flags & VFIO_DEVICE_FLAGS_PCI, VFIO_DEVICE_FLAGS_PCI);
  assert.deepEqual([info.numRegions, info.numIrqs], [11, 5]);
  const op = await c.getRegionInfo(GVT_OPREGION_REGION_INDEX, 32);
  assert.equal(op.size, 8192n);
  const cap = findVfioInfoCap(op.raw, op.capOffset, VFIO_REGION_INFO_CAP_TYPE);
  assert.ok(cap, 'the reply carries the type cap (the client grew argsz to fit it)');
  assert.deepEqual(decodeVfioRegionCapType(cap.data), { type: (VFIO_REGION_TYPE_PCI_VENDOR_TYPE | 0x8086) >>> 0, subtype: VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION });
  assert.equal((await c.regionRead(GVT_OPREGION_REGION_INDEX, 0, 16)).toString('latin1'), 'IntelGraphicsMem');
  const bar0 = await c.getRegionInfo(0, 256);
  assert.deepEqual([bar0.size, bar0.flags & VFIO_REGION_INFO_FLAG_MMAP, bar0.fd], [16n << 20n, 0, undefined], 'BAR0 is served by messages');
  // BAR2, the aperture: only the vGPU's slice may be mapped, so no fd is handed out and messages serve it.
  const bar2 = await c.getRegionInfo(2, 256);
  assert.deepEqual([bar2.flags & VFIO_REGION_INFO_FLAG_MMAP, bar2.fd], [0, undefined]);
  const sparse = findVfioInfoCap(bar2.raw, bar2.capOffset, VFIO_REGION_INFO_CAP_SPARSE_MMAP);
  assert.ok(sparse, 'the sparse areas still say which part is the vGPU\'s');
  const [slice] = decodeVfioRegionCapSparseMmap(sparse.data);
  assert.ok(slice !== undefined && slice.size > 0n);
  await c.regionWrite(2, Number(slice.offset), Buffer.from('aperture'));
  assert.equal((await c.regionRead(2, Number(slice.offset), 8)).toString(), 'aperture');
  const cfg = await c.regionRead(7, 0, 4);
  assert.deepEqual([cfg.readUInt16LE(0), cfg.readUInt16LE(2)], [0x8086, 0x5912]);
  const magic = await c.regionRead(0, VGT_PVINFO_PAGE, 8);
  assert.equal(magic.readBigUInt64LE(0), 0x4776544776544776n);
  assert.equal((await c.regionRead(0, VGT_PVINFO_PAGE + VGTIF.fenceNum, 4)).readUInt32LE(0), 4);
  await c.regionWrite(0, PLANE_STRIDE(0), Buffer.from([0x10, 0, 0, 0]));
  assert.equal((await c.regionRead(0, PLANE_STRIDE(0), 4)).readUInt32LE(0), 0x10);
  assert.equal(vgpu.live().mmio.display.read(PLANE_STRIDE(0)), 0x10, 'the write reached the vGPU\'s display engine');
  // The same config read, byte for byte, on a second connection once the first let go (one user at a time).
  await c.close();
  const raw = new RawClient(path);
  clients.push({ close: () => close(raw.fd) });
  await raw.handshake();
  raw.send(encodeCommand(7, VFIO_USER_REGION_READ, encodeRegionAccess(0, 7, 4)));
  const r = await raw.next();
  assert.deepEqual([r.header.msgId, r.header.errorNo], [7, 0]);
  assert.deepEqual([...r.payload], [...encodeRegionAccess(0, 7, 4), 0x86, 0x80, 0x12, 0x59]);
});
