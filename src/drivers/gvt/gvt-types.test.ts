// GVT-g's mdev types on the simulated IGD through sysfs, as libvirt or a user sees them: the four
// i915-GVTg_V5_* types with the kernel's description, available_instances computed from what is left of aperture,
// hidden memory and fences, create and remove moving resources, a failing create taking nothing, and the module
// loaded and unloaded through the registry as the CLI does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Host } from '../../base/host.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { VfioError } from '../../uapi/errno.js';
import { vfioConfigure } from '../../vfio/core-state.js';
import { mdevCreate, mdevParentType, mdevRemove } from '../../mdev/index.js';
import { builtinDrivers } from '../registry.js';
import { openFdCount } from '../../native/fd.test-kit.js';
import { GPU_SYSFS, UUID, gvtBed } from './gvt.test-kit.js';
import { GvtVgpu, IntelGvt, gvtOf } from './index.js';

const TYPES = `${GPU_SYSFS}/mdev_supported_types`;
const NAMES = ['i915-GVTg_V5_1', 'i915-GVTg_V5_2', 'i915-GVTg_V5_4', 'i915-GVTg_V5_8'];

test('the IGD at 0000:00:02.0 is bound to i915 and offers the four GVTg_V5 types with the kernel\'s description', (t) => {
  const { host } = gvtBed(t);
  assert.equal(host.sysfs.read(`${GPU_SYSFS}/vendor`), '0x8086\n');
  assert.equal(host.sysfs.read(`${GPU_SYSFS}/class`), '0x030000\n');
  assert.deepEqual(host.sysfs.ls('/sys/bus/pci/drivers/i915').filter((n) => n.startsWith('0000')), ['0000:00:02.0']);
  assert.deepEqual(host.sysfs.ls(TYPES), NAMES);
  assert.equal(
    host.sysfs.read(`${TYPES}/i915-GVTg_V5_8/description`),
    'low_gm_size: 64MB\nhigh_gm_size: 384MB\nfence: 4\nresolution: 1024x768\nweight: 1\n',
  );
  assert.equal(
    host.sysfs.read(`${TYPES}/i915-GVTg_V5_1/description`),
    'low_gm_size: 512MB\nhigh_gm_size: 2048MB\nfence: 4\nresolution: 1920x1200\nweight: 8\n',
  );
  assert.equal(host.sysfs.read(`${TYPES}/i915-GVTg_V5_4/device_api`), 'vfio-pci\n');
  // 1024 MiB aperture - 128 for the host, 3072 hidden - 384, 32 fences - 4: the tightest of the three wins.
  const avail = (): number[] => NAMES.map((n) => Number(host.sysfs.read(`${TYPES}/${n}/available_instances`)));
  assert.deepEqual(avail(), [1, 2, 5, 7]);
  host.sysfs.write(`${TYPES}/i915-GVTg_V5_4/create`, UUID(1));
  // Left: 768 MiB aperture, 2176 MiB hidden, 24 fences.
  assert.deepEqual(avail(), [1, 2, 4, 5]);
  host.sysfs.write(`${TYPES}/i915-GVTg_V5_1/create`, UUID(2));
  // 256 MiB of aperture and 16 fences are left, but only 128 MiB of hidden memory: nothing fits.
  assert.deepEqual(avail(), [0, 0, 0, 0]);
});

test('a small aperture offers only the types it can hold once (intel_gvt_init_vgpu_types stops at the first that does not fit)', (t) => {
  const { host } = gvtBed(t, { apertureMb: 256, hiddenMb: 1024, fences: 16 });
  assert.deepEqual(host.sysfs.ls(TYPES), ['i915-GVTg_V5_4', 'i915-GVTg_V5_8']);
  assert.equal(host.sysfs.read(`${TYPES}/i915-GVTg_V5_8/available_instances`), '1\n', 'hidden: 640 MiB holds one 384');
});

test('create takes the type\'s ranges and fences, remove gives them back; a create with too little left takes nothing', async (t) => {
  const bed = gvtBed(t, { apertureMb: 512, hiddenMb: 2048, fences: 12 });
  const gvt = gvtOf(bed.parent.dev);
  assert.ok(gvt instanceof IntelGvt);
  const a = bed.create('GVTg_V5_8', 1);
  const b = bed.create('GVTg_V5_4', 2);
  const ra = a.vgpu.live().res;
  const rb = b.vgpu.live().res;
  assert.deepEqual([ra.id, ra.lowBase, ra.lowSize, ra.highBase, ra.fences], [1, 128 << 20, 64 << 20, (512 + 384) << 20, [4, 5, 6, 7]]);
  assert.deepEqual([rb.id, rb.lowBase, rb.highBase, rb.fences], [2, 192 << 20, (512 + 384 + 384) << 20, [8, 9, 10, 11]]);
  const v58 = mdevParentType(bed.parent, 'GVTg_V5_8');
  assert.ok(v58);
  assert.equal(v58.availableInstances(), 0, 'no fences left');
  const before = [...gvt.vgpus.values()];
  const mark = sanitizer.mark();
  assert.throws(() => mdevCreate(v58, UUID(3)), (e: unknown) => VfioError.is(e, 'ENOSPC'));
  sanitizer.assertNoLeaks(mark);
  assert.deepEqual([...gvt.vgpus.values()], before, 'the failed create left the resources untouched');
  assert.deepEqual(bed.host.sysfs.ls(`${GPU_SYSFS}`).filter((n) => n.startsWith('0000000')), [UUID(1), UUID(2)]);
  await mdevRemove(a.mdev);
  assert.equal(gvt.vgpus.has(1), false, 'release gave vGPU 1 back');
  assert.equal(v58.availableInstances(), 1);
  const c = bed.create('GVTg_V5_8', 4);
  assert.deepEqual([c.vgpu.live().res.id, c.vgpu.live().res.lowBase, c.vgpu.live().res.fences], [1, 128 << 20, [4, 5, 6, 7]], 'the freed ranges are reused first');
});

test('through the registry as the CLI loads it: register with {}, create on the parent from parents(), remove, unregister, no leaks', async () => {
  const mark = sanitizer.mark();
  const fds = openFdCount();
  const gvt = (await builtinDrivers()).find((d) => d.name === 'gvt');
  assert.ok(gvt, 'the registry found drivers/gvt');
  assert.equal(gvt.bus, 'mdev');
  const host = new Host();
  vfioConfigure(host, { requestIntervalMs: 10 });
  assert.throws(() => gvt.register(host, { apertureMb: 300 }), (e: unknown) => VfioError.is(e, 'EINVAL'));
  const module = gvt.register(host, {});
  const [parent] = module.parents();
  assert.ok(parent);
  const type = mdevParentType(parent, 'i915-GVTg_V5_2');
  assert.ok(type);
  const mdev = mdevCreate(type, UUID(5));
  assert.ok(mdev.driverData instanceof GvtVgpu);
  assert.throws(() => gvt.screenshot?.(mdev.driverData instanceof GvtVgpu ? mdev.driverData : assert.fail()), (e: unknown) => VfioError.is(e, 'ENODATA'));
  await mdevRemove(mdev);
  assert.equal(type.availableInstances(), 2);
  mdevCreate(type, UUID(6));
  await module.unregister();
  await module.unregister();
  assert.equal(host.sysfs.exists(`${GPU_SYSFS}/${UUID(6)}`), false, 'unregister removed the remaining vGPU');
  assert.equal(host.sysfs.exists('/sys/devices/pci0000:00'), false);
  assert.equal(openFdCount(), fds);
  sanitizer.assertNoLeaks(mark);
});
