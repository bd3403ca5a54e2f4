// A vfio-fsl-mc object exported by the vfio-user server and driven with the TypeScript client (QEMU's vfio-user
// client is PCI-only): GET_INFO with the fsl-mc flags, the portal region's info, an MC command as a 64-byte
// REGION_WRITE answered by a REGION_READ, the kernel's EINVAL for any other access size, and a client that
// disconnects while an unbind waits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DpniHw } from '../../hw/fsl-mc/mc-objects.js';
import { fslMcPendingRemoval } from '../../hw/fsl-mc/fsl-mc-bus.js';
import { MC_CMD_STATUS_OK, OBJ_CMDID_ENABLE, OBJ_OPEN_CMDID, mcEncodeCmd, mcParams, mcReadHeader } from '../../hw/fsl-mc/mc-cmd.js';
import { VFIO_DEVICE_FLAGS_FSL_MC, VFIO_DEVICE_FLAGS_RESET } from '../../uapi/device-info.js';
import { VfioError } from '../../uapi/errno.js';
import { VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE } from '../../uapi/region-info.js';
import { VfioUserClient } from '../../vfio-user/client.js';
import { VfioUserServer } from '../../vfio-user/server.js';
import { fslMcBed } from './vfio-fsl-mc.test-kit.js';

test('vfio-user: a dpmcp portal exported and driven with the TypeScript client', async (t) => {
  const bed = fslMcBed();
  const dir = mkdtempSync(join(tmpdir(), 'vfio-fsl-mc-user-'));
  const server = new VfioUserServer({});
  const path = join(dir, 'dpmcp.sock');
  const dprcPath = join(dir, 'dprc.sock');
  await server.export(bed.vdev('dpmcp.2'), path);
  await server.export(bed.vdev('dprc.2'), dprcPath);
  const client = await VfioUserClient.connect(path);
  t.after(async () => {
    client.destroy();
    await server.close();
    await bed.done();
    rmSync(dir, { recursive: true, force: true });
  });

  assert.deepEqual(await client.getDeviceInfo(), { flags: VFIO_DEVICE_FLAGS_FSL_MC, numRegions: 1, numIrqs: 1 });
  const dprc = await VfioUserClient.connect(dprcPath);
  assert.equal((await dprc.getDeviceInfo()).flags, VFIO_DEVICE_FLAGS_FSL_MC | VFIO_DEVICE_FLAGS_RESET);
  await dprc.close();
  const r = await client.getRegionInfo(0);
  assert.equal(r.size, 64n);
  assert.equal(r.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE);
  assert.equal(r.fd, undefined, 'a portal has no mmap fd');

  // dpni_open through the portal, then enable: the MC answers in the same 64 bytes.
  const open = mcEncodeCmd(OBJ_OPEN_CMDID.dpni ?? 0, 0);
  mcParams(open).setUint32(0, 0, true);
  await client.regionWrite(0, 0, open);
  const answer = await client.regionRead(0, 0, 64);
  const header = mcReadHeader(answer);
  assert.equal(header.status, MC_CMD_STATUS_OK);
  await client.regionWrite(0, 0, mcEncodeCmd(OBJ_CMDID_ENABLE, header.token));
  assert.equal(mcReadHeader(await client.regionRead(0, 0, 64)).status, MC_CMD_STATUS_OK);
  assert.equal((bed.machine.object('dpni.0') as DpniHw).enabled, true);

  await assert.rejects(client.regionRead(0, 0, 8), (e: unknown) => VfioError.is(e, 'EINVAL'), 'the kernel moves 64 bytes at offset 0 only');
  await assert.rejects(client.regionRead(0, 8, 8), (e: unknown) => VfioError.is(e, 'EINVAL'));

  // The connection is a user: an unbind of the DPRC waits until the client goes, and its close resets the dpmcp.
  bed.host.sysfs.write('/sys/bus/fsl-mc/drivers/vfio-fsl-mc/unbind', 'dprc.2');
  let done = false;
  const removal = fslMcPendingRemoval(bed.mcDev('dprc.2')).then(() => (done = true));
  await new Promise((res) => setTimeout(res, 30));
  assert.equal(done, false);
  const resetsBefore = bed.machine.object('dpmcp.2')?.resets ?? 0;
  client.destroy();
  await removal;
  assert.equal(bed.machine.object('dpmcp.2')?.resets, resetsBefore + 1);
});
