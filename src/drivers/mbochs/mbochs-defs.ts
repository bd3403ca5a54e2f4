// mbochs's device definition (samples/vfio-mdev/mbochs.c): PCI ids, the MMIO BAR and EDID region layout,
// the three types and the memory budget they share.
import type { MdevTypeSpec } from '../../mdev/mdev-objects.js';
import type { Host } from '../../base/host.js';
import { VfioError } from '../../uapi/errno.js';

export const MBOCHS_PCI_VENDOR_ID = 0x1234;
export const MBOCHS_PCI_DEVICE_ID = 0x1111;
/** PCI_SUBVENDOR_ID_REDHAT_QUMRANET / PCI_SUBDEVICE_ID_QEMU. */
export const MBOCHS_PCI_SUBVENDOR_ID = 0x1af4;
export const MBOCHS_PCI_SUBDEVICE_ID = 0x1100;

/** BAR2: the MMIO registers (EDID block at 0, VGA ports at 0x400, dispi at 0x500, QEMU extension at 0x600). */
export const MBOCHS_MMIO_BAR_SIZE = 0x1000;
/** The MMIO BAR's EDID block window. */
export const MBOCHS_MMIO_EDID_SIZE = 0x400;
/** The EDID region: VFIO_PCI_NUM_REGIONS, a GFX/EDID typed region of one page. */
export const MBOCHS_EDID_REGION_INDEX = 9;
export const MBOCHS_EDID_SIZE = 0x1000;
/** Where the EDID blob starts in the EDID region (after the vfio_region_gfx_edid registers). */
export const MBOCHS_EDID_BLOB_OFFSET = MBOCHS_EDID_SIZE / 2;
/** sizeof(mdev_state->edid_blob): edid_max_size. */
export const MBOCHS_EDID_BLOB_SIZE = 0x400;

/** The module parameter: megabytes all mbochs devices of a host share. */
export const MBOCHS_MAX_MBYTES = 256;

export interface MbochsType extends MdevTypeSpec {
  readonly sysfsName: 'small' | 'medium' | 'large';
  readonly prettyName: string;
  /** VRAM (BAR0) in MiB. */
  readonly mbytes: number;
  /** The EDID region's max_xres / max_yres (0: no limit). */
  readonly maxX: number;
  readonly maxY: number;
}

export const MBOCHS_TYPES: readonly MbochsType[] = Object.freeze([
  Object.freeze({ sysfsName: 'small', prettyName: 'mbochs-small', mbytes: 4, maxX: 800, maxY: 600 }),
  Object.freeze({ sysfsName: 'medium', prettyName: 'mbochs-medium', mbytes: 16, maxX: 1920, maxY: 1440 }),
  Object.freeze({ sysfsName: 'large', prettyName: 'mbochs-large', mbytes: 64, maxX: 0, maxY: 0 }),
] as const);

/** The mbochs type named `name`; EINVAL otherwise. */
export function mbochsType(name: string): MbochsType {
  const t = MBOCHS_TYPES.find((x) => x.sysfsName === name);
  if (t === undefined) throw new VfioError('EINVAL', `no mbochs type '${name}'`);
  return t;
}

/** mbochs_avail_mbytes: one per host the module is registered on (the kernel's is per module load). */
export class MbochsBudget {
  constructor(public availMbytes: number = MBOCHS_MAX_MBYTES) {}

  /** mbochs_get_available(). */
  availableInstances(type: MbochsType): number {
    return Math.floor(this.availMbytes / type.mbytes);
  }

  /** Takes a type's memory; ENOSPC when short (mbochs_init_dev). Balanced by put in release. */
  take(type: MbochsType): void {
    if (this.availMbytes < type.mbytes) throw new VfioError('ENOSPC', `mbochs: ${type.mbytes} MB wanted, ${this.availMbytes} MB left`);
    this.availMbytes -= type.mbytes;
  }

  put(type: MbochsType): void {
    this.availMbytes += type.mbytes;
  }
}

/** The module's budget on each host it is registered on (set by its init, cleared by its exit). */
const budgets = new WeakMap<Host, MbochsBudget>();

/** Balanced by mbochsDropBudget in the module's exit. */
export function mbochsSetBudget(host: Host, budget: MbochsBudget): void {
  budgets.set(host, budget);
}

export function mbochsDropBudget(host: Host): void {
  budgets.delete(host);
}

/** The budget of `host`; ENODEV when the mbochs module is not registered there. */
export function mbochsBudgetOf(host: Host): MbochsBudget {
  const b = budgets.get(host);
  if (b === undefined) throw new VfioError('ENODEV', 'mbochs is not registered on this host');
  return b;
}
