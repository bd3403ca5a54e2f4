// MSIs of fsl-mc objects (drivers/bus/fsl-mc/fsl-mc-allocator.c fsl_mc_populate_irq_pool/fsl_mc_allocate_irqs,
// fsl-mc-msi.c __fsl_mc_msi_write_msg): each DPRC's bus has a pool of irq numbers its objects take; requesting
// one programs the object's MSI through the container's MC session (dprc_set_obj_irq, dprc_set_irq for the
// DPRC itself) to write its irq number at the MSI controller's doorbell, which runs the handler.
import type { Host } from '../../base/host.js';
import { VfioError } from '../../uapi/errno.js';
import { dprcSetIrq, dprcSetObjIrq } from './dprc.js';
import type { DprcIrqCfg } from './dprc.js';
import { fslMcContDev, isFslMcBusDprc } from './fsl-mc-device.js';
import type { FslMcDevice } from './fsl-mc-device.js';
import type { FslMcDeviceIrq } from './fsl-mc-device.js';

/** FSL_MC_IRQ_POOL_MAX_TOTAL_IRQS. */
export const FSL_MC_IRQ_POOL_MAX_TOTAL_IRQS = 256;
/** The MSI doorbell (an ITS GITS_TRANSLATER on a real LS2088A): writing an irq number there raises it. */
export const FSL_MC_MSI_DOORBELL = 0x6_0202_0040n;

type IrqHandler = (virq: number) => void;

interface MsiState {
  nextVirq: number;
  readonly handlers: Map<number, IrqHandler>;
}

const states = new WeakMap<Host, MsiState>();

function msiState(host: Host): MsiState {
  let s = states.get(host);
  if (s === undefined) {
    // Linux irq numbers for MC MSIs start above the SoC's wired interrupts.
    s = { nextVirq: 64, handlers: new Map() };
    states.set(host, s);
  }
  return s;
}

/** The MSI controller: an MSI written at the doorbell runs the handler of the irq number it carries. */
export function fslMcMsiDeliver(host: Host, addr: bigint, data: number): void {
  if (addr !== FSL_MC_MSI_DOORBELL) {
    host.logger.debug({ addr: `0x${addr.toString(16)}`, data }, 'fsl-mc: MSI to an address with no doorbell dropped');
    return;
  }
  msiState(host).handlers.get(data)?.(data);
}

function hostOfDev(mcDev: FslMcDevice): Host {
  if (mcDev.host === null) throw new Error(`${mcDev.name} is not initialized`);
  return mcDev.host;
}

/** fsl_mc_populate_irq_pool(): the container's pool of `maxCount` irq numbers, made once. */
export function fslMcPopulateIrqPool(mcBusDev: FslMcDevice, maxCount: number): void {
  const bus = mcBusDev.mcBus;
  if (bus === null) throw new VfioError('EINVAL', `${mcBusDev.name} is not a DPRC`);
  if (bus.irqPool !== null) return;
  const s = msiState(hostOfDev(mcBusDev));
  const free = Array.from({ length: maxCount }, (_, i) => s.nextVirq + i);
  s.nextVirq += maxCount;
  bus.irqPool = { maxCount, free };
}

/** fsl_mc_cleanup_irq_pool(): only a pool with every irq returned goes (else the kernel WARNs and keeps it). */
export function fslMcCleanupIrqPool(mcBusDev: FslMcDevice): void {
  const pool = mcBusDev.mcBus?.irqPool;
  if (pool == null || mcBusDev.mcBus === null) return;
  if (pool.free.length !== pool.maxCount) {
    hostOfDev(mcBusDev).logger.warn({ device: mcBusDev.name }, 'fsl-mc: irq pool still in use, not cleaned up');
    return;
  }
  mcBusDev.mcBus.irqPool = null;
}

/** fsl_mc_allocate_irqs(): one irq number per object irq, from the container's pool. */
export function fslMcAllocateIrqs(mcDev: FslMcDevice): FslMcDeviceIrq[] {
  if (mcDev.irqs !== null) throw new VfioError('EINVAL', `${mcDev.name} has its irqs already`);
  const count = mcDev.objDesc.irqCount;
  if (count === 0) throw new VfioError('EINVAL', `${mcDev.name} has no irqs`);
  const pool = fslMcContDev(mcDev).mcBus?.irqPool;
  if (pool == null) throw new VfioError('ENXIO', `${mcDev.name}: the container's irq pool is not populated`);
  if (pool.free.length < count) throw new VfioError('ENOSPC', `${mcDev.name}: the irq pool is exhausted`);
  const irqs = Array.from({ length: count }, (_, i): FslMcDeviceIrq => ({ virq: pool.free.shift() ?? -1, devIrqIndex: i }));
  mcDev.irqs = irqs;
  return irqs;
}

/** fsl_mc_free_irqs(): back to the pool. */
export function fslMcFreeIrqs(mcDev: FslMcDevice): void {
  const irqs = mcDev.irqs;
  if (irqs === null) return;
  const pool = fslMcContDev(mcDev).mcBus?.irqPool;
  if (pool != null) for (const irq of irqs) pool.free.push(irq.virq);
  mcDev.irqs = null;
}

/** __fsl_mc_msi_write_msg(): programs irq `irq.devIrqIndex` of `mcDev` through its container's session. */
function writeMsiMsg(mcDev: FslMcDevice, irq: FslMcDeviceIrq, cfg: DprcIrqCfg): void {
  const cont = isFslMcBusDprc(mcDev) ? mcDev : fslMcContDev(mcDev);
  if (cont.mcIo === null) throw new VfioError('ENODEV', `${cont.name} has no MC portal`);
  if (isFslMcBusDprc(mcDev)) dprcSetIrq(cont.mcIo, cont.mcHandle, irq.devIrqIndex, cfg);
  else dprcSetObjIrq(cont.mcIo, cont.mcHandle, mcDev.objDesc.type, mcDev.objDesc.id, irq.devIrqIndex, cfg);
}

/** request_irq(): the handler runs when the object's MSI arrives. */
export function fslMcRequestIrq(mcDev: FslMcDevice, irq: FslMcDeviceIrq, handler: IrqHandler): void {
  const s = msiState(hostOfDev(mcDev));
  if (s.handlers.has(irq.virq)) throw new VfioError('EBUSY', `irq ${irq.virq} is taken`);
  writeMsiMsg(mcDev, irq, { paddr: FSL_MC_MSI_DOORBELL, val: irq.virq, irqNum: irq.virq });
  s.handlers.set(irq.virq, handler);
}

/** free_irq(): the handler goes and the object's MSI is cleared. */
export function fslMcFreeIrq(mcDev: FslMcDevice, irq: FslMcDeviceIrq): void {
  const s = msiState(hostOfDev(mcDev));
  if (!s.handlers.delete(irq.virq)) return;
  try {
    writeMsiMsg(mcDev, irq, { paddr: 0n, val: 0, irqNum: 0 });
  } catch (err) {
    hostOfDev(mcDev).logger.debug({ device: mcDev.name, err: String(err) }, 'fsl-mc: clearing an MSI failed');
  }
}
