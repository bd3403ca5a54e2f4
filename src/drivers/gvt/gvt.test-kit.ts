// Test support for gvt: a host with the gvt module loaded (checked for leaks and fds at the end), the GPU's mdev
// parent, and vGPUs created by type.
import assert from 'node:assert/strict';
import { Host } from '../../base/host.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { vfioConfigure } from '../../vfio/core-state.js';
import { VfioProcess } from '../../vfio/vfio-process.js';
import { mdevCreate, mdevParentType, mdevVfioDevice } from '../../mdev/index.js';
import type { MdevDevice, MdevParent } from '../../mdev/index.js';
import type { VfioDriverModule } from '../descriptor.js';
import { openFdCount } from '../../native/fd.test-kit.js';
import { driver } from './gvt-driver.js';
import { GvtVgpu } from './vgpu.js';

export const UUID = (n: number): string => `0000000${n}-0000-4000-8000-00000000000${n}`;
export const GPU_SYSFS = '/sys/devices/pci0000:00/0000:00:02.0';

export interface GvtBed {
  readonly host: Host;
  readonly module: VfioDriverModule;
  readonly parent: MdevParent;
  /** Creates a vGPU of `type` ('GVTg_V5_8' ...) named UUID(n). */
  create(type: string, n: number): { mdev: MdevDevice; vgpu: GvtVgpu };
  /** A process on the host, whose fds are closed before the module unloads. */
  process(): VfioProcess;
}

/** The gvt module on a fresh host, registered as the CLI does (`driver.register(host, options)`). */
export function gvtBed(t: { after(fn: () => unknown): void }, options: Record<string, unknown> = {}): GvtBed {
  const mark = sanitizer.mark();
  const fds = openFdCount();
  const host = new Host();
  vfioConfigure(host, { requestIntervalMs: 10 });
  const module = driver.register(host, options);
  const procs: VfioProcess[] = [];
  t.after(async () => {
    for (const p of procs) p.closeAll();
    await module.unregister();
    assert.equal(openFdCount(), fds, 'the GPU memory and every exported buffer are closed');
    sanitizer.assertNoLeaks(mark);
  });
  const [parent] = module.parents();
  assert.ok(parent, 'the i915 driver bound the GPU and made it an mdev parent');
  return {
    host,
    module,
    parent,
    create(type, n) {
      const ty = mdevParentType(parent, type);
      assert.ok(ty, `type ${type}`);
      const mdev = mdevCreate(ty, UUID(n));
      const vgpu = mdevVfioDevice(mdev);
      assert.ok(vgpu instanceof GvtVgpu);
      return { mdev, vgpu };
    },
    process() {
      const p = new VfioProcess(host);
      procs.push(p);
      return p;
    },
  };
}
