// mbochs migrates (our addition: samples/vfio-mdev/mbochs.c has no migration ops): STOP_COPY, P2P and PRE_COPY
// through the emu layer's snapshot arcs with VRAM as migratable memory (src/emu/memory-saving-file.ts). The state
// record carries config space, the bochs dispi registers (with the QEMU extension's framebuffer endianness) and the
// EDID region's registers and blob; the stream is for one type ('mbochs-small' never resumes into a large one).
import { VfioError, check } from '../../uapi/errno.js';
import { VFIO_MIGRATION_P2P, VFIO_MIGRATION_PRE_COPY, VFIO_MIGRATION_STOP_COPY } from '../../uapi/migration.js';
import { pciEmuMigrationInit } from '../../emu/migration-arcs.js';
import type { MigratableMemory } from '../../emu/migratable-memory.js';
import { pciEmuCheckConfig, pciEmuLoadConfig, pciEmuSaveConfig } from '../../emu/config-state.js';
import { VFIO_REGION_GFX_EDID_OFFSETS } from '../../uapi/region-caps.js';
import { BochsDispi } from '../../hw/bochs-dispi.js';
import type { MbochsState } from './mbochs.js';

/** The version of mbochs's state record. */
export const MBOCHS_STATE_VERSION = 1;

/** The stream's device type: a stream is only for a device of the same type. */
export function mbochsMigrationDevice(typeName: string): string {
  return `mbochs-${typeName}`;
}

function save(dev: MbochsState): unknown {
  const edid = dev.edidOf();
  return {
    memsize: dev.memsize,
    config: pciEmuSaveConfig(dev),
    dispi: dev.dispiOf().save(),
    edid: { regs: Buffer.from(edid.regs).toString('hex'), blob: Buffer.from(edid.blob).toString('hex') },
  };
}

function hexOf(v: unknown, bytes: number, what: string): Uint8Array {
  check(typeof v === 'string' && v.length === bytes * 2 && /^[0-9a-f]*$/.test(v), 'EINVAL', `mbochs state ${what}`);
  return new Uint8Array(Buffer.from(v, 'hex'));
}

/** Checks every part first (dispi into a scratch register file), then applies them: a bad record changes nothing. */
function load(dev: MbochsState, state: unknown): void {
  check(typeof state === 'object' && state !== null, 'EINVAL', 'mbochs state is not an object');
  const m = new Map<string, unknown>(Object.entries(state));
  check(m.get('memsize') === dev.memsize, 'EINVAL', `mbochs state of ${String(m.get('memsize'))} bytes of VRAM, device has ${dev.memsize}`);
  const config = m.get('config');
  pciEmuCheckConfig(dev, config);
  const dispi = m.get('dispi');
  new BochsDispi(dev.memsize).restore(dispi);
  const edidRec = m.get('edid');
  check(typeof edidRec === 'object' && edidRec !== null, 'EINVAL', 'mbochs state edid');
  const e = new Map<string, unknown>(Object.entries(edidRec));
  const edid = dev.edidOf();
  const regs = hexOf(e.get('regs'), edid.regs.length, 'EDID registers');
  const blob = hexOf(e.get('blob'), edid.blob.length, 'EDID blob');
  // Only link_state and edid_size are the VMM's; the rest says what this type's region is.
  const fixed = new DataView(regs.buffer);
  const own = new DataView(edid.regs.buffer, edid.regs.byteOffset);
  const O = VFIO_REGION_GFX_EDID_OFFSETS;
  for (const off of [O.edidOffset, O.edidMaxSize, O.maxXres, O.maxYres]) {
    check(fixed.getUint32(off, true) === own.getUint32(off, true), 'EINVAL', 'mbochs state of an EDID region of another layout');
  }
  pciEmuLoadConfig(dev, config);
  dev.dispiOf().restore(dispi);
  edid.regs.set(regs);
  edid.blob.set(blob);
}

/** Called from mbochs's init once VRAM, the dispi and the EDID exist. */
export function mbochsMigrationInit(dev: MbochsState, memory: MigratableMemory): void {
  const type = dev.type;
  if (type === null) throw new VfioError('EINVAL', 'mbochs migration before its type');
  pciEmuMigrationInit(dev, {
    device: mbochsMigrationDevice(type.sysfsName),
    version: MBOCHS_STATE_VERSION,
    flags: VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY,
    memory,
    // mbochs has no DMA and no interrupts: the P2P arcs have nothing to stop.
    save: () => save(dev),
    load: (state) => load(dev, state),
  });
}
