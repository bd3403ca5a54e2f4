// struct fsl_mc_device and struct fsl_mc_bus (include/linux/fsl/mc.h, fsl-mc-private.h): an MC object as the
// kernel's driver model sees it, with its object descriptor, MMIO resources, MC I/O object and session handle.
// A DPRC's device also carries what struct fsl_mc_bus adds (its attributes and the interrupt pool).
import { Device } from '../../base/device.js';
import type { SysfsAttrTable } from '../../base/sysfs.js';
import type { FslMcObjDesc, DprcAttributes } from './dprc.js';
import type { FslMcIo } from './mc-sys.js';

/** FSL_MC_IS_DPRC. */
export const FSL_MC_IS_DPRC = 0x1;

/** struct resource of an object region: [start, start + size), with the region's flags (FSL_MC_REGION_*). */
export interface FslMcResource {
  readonly start: bigint;
  readonly size: number;
  readonly flags: number;
}

/** struct fsl_mc_device_irq: one of an object's interrupts, with the Linux irq number it got. */
export interface FslMcDeviceIrq {
  readonly virq: number;
  readonly devIrqIndex: number;
}

/** The interrupt pool of a DPRC's bus (FSL_MC_POOL_IRQ): irq numbers its objects take from. */
export interface FslMcIrqPool {
  readonly maxCount: number;
  readonly free: number[];
}

/** What struct fsl_mc_bus adds to a DPRC's device. */
export interface FslMcBusState {
  dprcAttr: DprcAttributes | null;
  irqPool: FslMcIrqPool | null;
}

export class FslMcDevice extends Device {
  flags = 0;
  icid = 0;
  /** The session on this object (a DPRC's own, from dprc_open in dprc_setup). */
  mcHandle = 0;
  mcIo: FslMcIo | null = null;
  regions: FslMcResource[] = [];
  irqs: FslMcDeviceIrq[] | null = null;
  /** For a DPRC: its bus state; null for other objects. */
  mcBus: FslMcBusState | null = null;

  constructor(readonly objDesc: FslMcObjDesc) {
    super();
  }
}

/** is_fsl_mc_bus_dprc(). */
export function isFslMcBusDprc(mcDev: FslMcDevice): boolean {
  return mcDev.objDesc.type === 'dprc';
}

/** fsl_mc_cont_dev(): a DPRC is its own container; any other object's container is its parent. */
export function fslMcContDev(mcDev: FslMcDevice): FslMcDevice {
  if ((mcDev.flags & FSL_MC_IS_DPRC) !== 0) return mcDev;
  const parent = mcDev.parent;
  if (!(parent instanceof FslMcDevice)) throw new Error(`${mcDev.name} has no container`);
  return parent;
}

/** The fsl-mc MODALIAS (fsl_mc_bus_uevent, modalias_show). */
export function fslMcModalias(mcDev: FslMcDevice): string {
  return `fsl-mc:v${mcDev.objDesc.vendor.toString(16).toUpperCase().padStart(8, '0')}d${mcDev.objDesc.type}`;
}

/** fsl_mc_dev_attrs: modalias (driver_override is the base bus's, which the kernel's matches). */
export const fslMcDevAttrs: SysfsAttrTable<Device> = Object.freeze({
  modalias: { show: (dev: Device) => (dev instanceof FslMcDevice ? `${fslMcModalias(dev)}\n` : '\n') },
});
