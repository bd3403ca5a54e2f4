// vfio-fsl-mc through the uAPI (group, container, device fds in a VfioProcess): a DPRC and its objects binding and
// sharing one device set, open counts, close and RESET resetting through the MC, and an unbind of the DPRC while
// an object inside is open, which waits until the user lets go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DpniHw } from '../../hw/fsl-mc/mc-objects.js';
import { fslMcPendingRemoval } from '../../hw/fsl-mc/fsl-mc-bus.js';
import { OBJ_CMDID_ENABLE, OBJ_OPEN_CMDID, MC_CMD_STATUS_OK } from '../../hw/fsl-mc/mc-cmd.js';
import { VFIO_DEVICE_RESET } from '../../uapi/ioctl.js';
import { deviceSetOpenCount } from '../../vfio/device-set.js';
import { subscribeLifecycle } from '../../vfio/events.js';
import { fslMcBed, mcCommandViaFd } from './vfio-fsl-mc.test-kit.js';

const OBJECTS = ['dpbp.0', 'dpcon.0', 'dpmcp.2', 'dpni.0', 'dpio.0'];

test('binding a DPRC binds its objects by driver_override; one device set per container, open counts summed', async (t) => {
  const bed = fslMcBed();
  t.after(() => bed.done());
  const { host } = bed;
  for (const name of ['dprc.2', ...OBJECTS]) {
    assert.equal(host.sysfs.readlink(`/sys/bus/fsl-mc/devices/${name}/driver`), '/sys/bus/fsl-mc/drivers/vfio-fsl-mc', name);
  }
  assert.equal(host.sysfs.read('/sys/bus/fsl-mc/devices/dpni.0/driver_override'), 'vfio-fsl-mc\n');
  assert.equal(host.sysfs.read('/sys/bus/fsl-mc/devices/dprc.2/driver_override'), 'vfio-fsl-mc\n');
  const dprc = bed.vdev('dprc.2');
  const set = dprc.devSet;
  assert.ok(set !== null);
  assert.equal(set.setId, bed.mcDev('dprc.2'), 'the DPRC names the set');
  for (const name of OBJECTS) assert.equal(bed.vdev(name).devSet, set, `${name} is in its container's set`);
  assert.equal(set.devices.length, 6);
  // The root DPRC and its dpmcp.1 stay with the kernel's DPRC driver, in another group and set.
  assert.equal(host.sysfs.readlink('/sys/bus/fsl-mc/devices/dprc.1/driver'), '/sys/bus/fsl-mc/drivers/fsl_mc_dprc');

  const dpniFd = bed.open('dpni.0');
  const dprcFd = bed.open('dprc.2');
  const counts = (): number => set.lock.withLock(() => deviceSetOpenCount(set));
  assert.equal(counts(), 2);
  assert.equal(bed.vdev('dpni.0').openCount, 1);
  bed.proc.close(dprcFd);
  assert.equal(counts(), 1);
  bed.proc.close(dpniFd);
  assert.equal(counts(), 0);
});

test('reset: a DPRC resets its container through the MC; an object resets alone; the last close resets the device', async (t) => {
  const bed = fslMcBed();
  t.after(() => bed.done());
  const dpni = bed.machine.object('dpni.0');
  assert.ok(dpni instanceof DpniHw);
  const portal = bed.open('dpmcp.2');
  // A session on the dpni through the dpmcp.2 portal; a container reset closes it, an object reset does not.
  let token = 0;
  const enableDpni = (reopen: boolean): void => {
    if (reopen) {
      const open = mcCommandViaFd(bed.proc, portal, OBJ_OPEN_CMDID.dpni ?? 0, 0, (p) => p.setUint32(0, 0, true));
      assert.equal(open.status, MC_CMD_STATUS_OK);
      token = open.token;
    }
    assert.equal(mcCommandViaFd(bed.proc, portal, OBJ_CMDID_ENABLE, token).status, MC_CMD_STATUS_OK);
  };
  enableDpni(true);
  assert.equal(dpni.enabled, true);

  const dprcFd = bed.open('dprc.2');
  bed.proc.ioctl(dprcFd, VFIO_DEVICE_RESET);
  assert.equal(dpni.enabled, false, 'the container reset reached the dpni');
  assert.equal(dpni.resets, 1);

  // An object's own reset (fsl_mc_obj_open/reset/close through its container's portal).
  enableDpni(true);
  const dpniFd = bed.open('dpni.0');
  const dpioFd = bed.open('dpio.0');
  bed.proc.ioctl(dpniFd, VFIO_DEVICE_RESET);
  assert.equal(dpni.enabled, false);
  assert.equal(dpni.resets, 2);

  // close_device resets the device it closes: closing the dpio resets only the dpio.
  enableDpni(false);
  bed.proc.close(dpioFd);
  assert.equal(dpni.enabled, true);
  assert.equal(bed.machine.object('dpio.0')?.resets, 2, 'the container reset, then its own close');
  // The DPRC's last close resets the whole container, the open dpni included (the kernel does the same).
  bed.proc.close(dprcFd);
  assert.equal(dpni.enabled, false);
  assert.equal(dpni.resets, 3);
  assert.equal(bed.vdev('dpni.0').openCount, 1, 'the dpni stays open');
});

test('unbinding the DPRC while an object inside is open waits for that user, then everything is released', async (t) => {
  const bed = fslMcBed();
  t.after(() => bed.done());
  const dprc2 = bed.mcDev('dprc.2');
  const dpni = bed.vdev('dpni.0');
  const dpniName = dpni.name;
  const fd = bed.open('dpni.0');
  const steps: string[] = [];
  const unsubscribe = subscribeLifecycle((e) => {
    if (e.event === 'request' && e.name === dpniName) steps.push('request');
    if (e.event === 'release') steps.push(`release ${e.name}`);
  });
  t.after(unsubscribe);

  bed.host.sysfs.write('/sys/bus/fsl-mc/drivers/vfio-fsl-mc/unbind', 'dprc.2');
  let done = false;
  const removal = fslMcPendingRemoval(dprc2).then(() => (done = true));
  await new Promise((r) => setTimeout(r, 40));
  // The DPRC itself was not open: its objects left the bus, but the dpni's remove waits for its user.
  assert.equal(bed.host.sysfs.exists('/sys/bus/fsl-mc/devices/dpbp.0'), false);
  assert.equal(bed.host.sysfs.exists('/sys/bus/fsl-mc/devices/dpni.0'), false);
  assert.equal(done, false, 'still waiting');
  assert.ok(steps.filter((s) => s === 'request').length >= 2, `the core kept asking (${steps.length})`);
  assert.equal(steps.some((s) => s === `release ${dpniName}`), false);

  bed.proc.close(fd);
  await removal;
  assert.equal(done, true);
  assert.ok(steps.includes(`release ${dpniName}`));
  assert.equal(dprc2.driver, null);
  assert.equal(dprc2.mcIo, null, "the DPRC's release closed its portal");
  assert.equal(bed.host.sysfs.exists('/sys/bus/fsl-mc/devices/dprc.2'), true, 'the DPRC stays on the bus, unbound');
});
