// Test support for vfio-ap: a host with the module loaded (default machine: cards 4 and 5, domains 6, 7, 71, card 5
// left to vfio_ap), matrix mdevs created as the kernel does, and their sysfs paths.
import { randomUUID } from 'node:crypto';
import assert from 'node:assert/strict';
import { Host } from '../../base/host.js';
import { sanitizer } from '../../sanitizer/sanitizer.js';
import { vfioConfigure } from '../../vfio/core-state.js';
import { mdevCreate } from '../../mdev/mdev-device.js';
import { mdevParentType } from '../../mdev/mdev-parent.js';
import { mdevVfioDevice } from '../../mdev/mdev-vfio.js';
import type { MdevDevice } from '../../mdev/mdev-objects.js';
import { vfioApRegister } from './vfio-ap-driver.js';
import type { VfioApModule } from './vfio-ap-driver.js';
import { ApMatrixMdev } from './matrix-mdev.js';
import type { VfioApModuleOptions, VfioApParams } from './vfio-ap-params.js';

export const MATRIX = '/sys/devices/vfio_ap/matrix';

export interface ApTestHost {
  readonly host: Host;
  readonly mod: VfioApModule;
  create(params?: VfioApParams): { mdev: MdevDevice; m: ApMatrixMdev; path: string };
  /** Runs `fn` at cleanup before the module unloads (closing what holds devices open). */
  atUnload(fn: () => void): void;
}

/** Loads the module on a fresh host; cleanup unloads it (removing what is left) and checks for leaks. */
export function apTestHost(t: { after(fn: () => unknown): void }, opts: VfioApModuleOptions = {}): ApTestHost {
  const mark = sanitizer.mark();
  const host = new Host();
  vfioConfigure(host, { requestIntervalMs: 10 });
  const mod = vfioApRegister(host, opts);
  const first: (() => void)[] = [];
  t.after(async () => {
    for (const fn of first.reverse()) fn();
    await mod.unregister();
    assert.equal(host.sysfs.exists('/sys/bus/ap'), false, 'the module exit removed the ap bus');
    sanitizer.assertNoLeaks(mark);
  });
  return {
    host,
    mod,
    atUnload: (fn) => void first.push(fn),
    create: (params) => {
      const type = mdevParentType(mod.parent, 'passthrough');
      assert.ok(type);
      const mdev = mdevCreate(type, randomUUID(), params);
      const m = mdevVfioDevice(mdev);
      assert.ok(m instanceof ApMatrixMdev);
      return { mdev, m, path: `${MATRIX}/${mdev.name}` };
    },
  };
}
