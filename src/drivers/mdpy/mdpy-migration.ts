// mdpy migrates (our addition: samples/vfio-mdev/mdpy.c has no migration ops): STOP_COPY, P2P and PRE_COPY
// through the emu layer's snapshot arcs with the framebuffer as migratable memory (src/emu/memory-saving-file.ts).
// mdpy's display state is fixed by its type (format, width, height in the vendor capability), so the state record
// is config space plus that display, checked on resume; the stream is for one type ('mdpy-vga' never into 'mdpy-hd').
import { VfioError, check } from '../../uapi/errno.js';
import { VFIO_MIGRATION_P2P, VFIO_MIGRATION_PRE_COPY, VFIO_MIGRATION_STOP_COPY } from '../../uapi/migration.js';
import { pciEmuMigrationInit } from '../../emu/migration-arcs.js';
import type { MigratableMemory } from '../../emu/migratable-memory.js';
import { pciEmuCheckConfig, pciEmuLoadConfig, pciEmuSaveConfig } from '../../emu/config-state.js';
import type { MdpyState } from './mdpy.js';

/** The version of mdpy's state record. */
export const MDPY_STATE_VERSION = 1;

function display(dev: MdpyState): { format: number; width: number; height: number; memsize: number } {
  const t = dev.type;
  if (t === null) throw new VfioError('EINVAL', 'mdpy without a type');
  return { format: t.format, width: t.width, height: t.height, memsize: dev.memsize };
}

/** Checks the display and config space first, then applies: a bad record changes nothing. */
function load(dev: MdpyState, state: unknown): void {
  check(typeof state === 'object' && state !== null, 'EINVAL', 'mdpy state is not an object');
  const m = new Map<string, unknown>(Object.entries(state));
  const want = display(dev);
  const got = m.get('display');
  check(typeof got === 'object' && got !== null, 'EINVAL', 'mdpy state display');
  const g = new Map<string, unknown>(Object.entries(got));
  for (const [k, v] of Object.entries(want)) check(g.get(k) === v, 'EINVAL', `mdpy state display ${k} ${String(g.get(k))}, device has ${v}`);
  const config = m.get('config');
  pciEmuCheckConfig(dev, config);
  pciEmuLoadConfig(dev, config);
}

/** Called from mdpy's init once the framebuffer and config space exist. */
export function mdpyMigrationInit(dev: MdpyState, memory: MigratableMemory): void {
  const type = dev.type;
  if (type === null) throw new VfioError('EINVAL', 'mdpy migration before its type');
  pciEmuMigrationInit(dev, {
    device: `mdpy-${type.sysfsName}`,
    version: MDPY_STATE_VERSION,
    flags: VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY,
    memory,
    // mdpy has no DMA and no interrupts: the P2P arcs have nothing to stop.
    save: () => ({ display: display(dev), config: pciEmuSaveConfig(dev) }),
    load: (state) => load(dev, state),
  });
}
