// SET_IRQS of vfio-fsl-mc (drivers/vfio/fsl-mc/vfio_fsl_mc_intr.c): one IRQ index per object irq, one vector each,
// trigger only; the first trigger populates the container's irq pool and allocates the object's irqs; an eventfd is
// signalled from the object's MSI handler, and DATA_NONE/BOOL fire the handler by hand.
import { signalEventfd, takeEventfd } from '../../emu/irq-triggers.js';
import { fslMcContDev } from '../../hw/fsl-mc/fsl-mc-device.js';
import { FSL_MC_IRQ_POOL_MAX_TOTAL_IRQS, fslMcAllocateIrqs, fslMcFreeIrq, fslMcFreeIrqs, fslMcPopulateIrqPool, fslMcRequestIrq } from '../../hw/fsl-mc/fsl-mc-msi.js';
import { close } from '../../native/index.js';
import { VfioError } from '../../uapi/errno.js';
import { VFIO_IRQ_INFO_EVENTFD } from '../../uapi/irq-info.js';
import { VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_DATA_BOOL, VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_DATA_NONE, vfioIrqSetBools, vfioIrqSetEventfds } from '../../uapi/irq-set.js';
import type { VfioIrqSet } from '../../uapi/irq-set.js';
import { mcDevOf } from './vfio-fsl-mc-private.js';
import type { VfioFslMcDevice, VfioFslMcIrq } from './vfio-fsl-mc-private.js';

/** vfio_fsl_mc_irqs_allocate(): once, with the container's pool populated. */
function irqsAllocate(vdev: VfioFslMcDevice): void {
  const mcDev = mcDevOf(vdev);
  const count = mcDev.objDesc.irqCount;
  if (count === 0 || vdev.mcIrqs !== null) return;
  fslMcAllocateIrqs(mcDev);
  vdev.mcIrqs = Array.from({ length: count }, (): VfioFslMcIrq => ({ count: 1, flags: VFIO_IRQ_INFO_EVENTFD, trigger: -1, name: '' }));
}

/** vfio_fsl_mc_irq_handler(). */
function irqHandler(irq: VfioFslMcIrq): void {
  signalEventfd(irq.trigger);
}

/** vfio_set_trigger(): drops the current trigger (free_irq), then takes `fd` and requests the irq with it. */
function setTrigger(vdev: VfioFslMcDevice, index: number, fd: number): void {
  const mcDev = mcDevOf(vdev);
  const irq = vdev.mcIrqs?.[index];
  const hw = mcDev.irqs?.[index];
  if (irq === undefined || hw === undefined) return;
  if (irq.trigger >= 0) {
    fslMcFreeIrq(mcDev, hw);
    // Balances takeEventfd below (on an earlier call).
    close(irq.trigger);
    irq.trigger = -1;
    irq.name = '';
  }
  if (fd < 0) return;
  const trigger = takeEventfd(fd);
  irq.name = `vfio-irq[${hw.virq}](${mcDev.name})`;
  irq.trigger = trigger;
  try {
    fslMcRequestIrq(mcDev, hw, () => irqHandler(irq));
  } catch (err) {
    close(trigger);
    irq.trigger = -1;
    irq.name = '';
    throw err;
  }
}

/** vfio_fsl_mc_set_irq_trigger(). */
function setIrqTrigger(vdev: VfioFslMcDevice, hdr: VfioIrqSet): number {
  if (hdr.count === 0 && (hdr.flags & VFIO_IRQ_SET_DATA_NONE) !== 0) {
    setTrigger(vdev, hdr.index, -1);
    return 0;
  }
  if (hdr.start !== 0 || hdr.count !== 1) throw new VfioError('EINVAL', 'vfio-fsl-mc: one vector per irq index');
  const set = vdev.devSet;
  const prepare = (): void => {
    fslMcPopulateIrqPool(fslMcContDev(mcDevOf(vdev)), FSL_MC_IRQ_POOL_MAX_TOTAL_IRQS);
    irqsAllocate(vdev);
  };
  if (set === null) prepare();
  else set.lock.withLock(prepare, 'vfio_fsl_mc_set_irq_trigger');
  if ((hdr.flags & VFIO_IRQ_SET_DATA_EVENTFD) !== 0) {
    setTrigger(vdev, hdr.index, vfioIrqSetEventfds(hdr)[0] ?? -1);
    return 0;
  }
  const irq = vdev.mcIrqs?.[hdr.index];
  if (irq === undefined) return 0;
  if ((hdr.flags & VFIO_IRQ_SET_DATA_NONE) !== 0) irqHandler(irq);
  else if ((hdr.flags & VFIO_IRQ_SET_DATA_BOOL) !== 0 && vfioIrqSetBools(hdr)[0] === true) irqHandler(irq);
  return 0;
}

/** vfio_fsl_mc_set_irqs_ioctl(): only ACTION_TRIGGER. */
export function vfioFslMcSetIrqsIoctl(vdev: VfioFslMcDevice, hdr: VfioIrqSet): number {
  if ((hdr.flags & VFIO_IRQ_SET_ACTION_TRIGGER) === 0) throw new VfioError('EINVAL', 'vfio-fsl-mc: only ACTION_TRIGGER');
  return setIrqTrigger(vdev, hdr);
}

/** vfio_fsl_mc_irqs_cleanup(): every trigger dropped, the object's irqs back to the pool. */
export function vfioFslMcIrqsCleanup(vdev: VfioFslMcDevice): void {
  const irqs = vdev.mcIrqs;
  if (irqs === null) return;
  for (let i = 0; i < irqs.length; i++) setTrigger(vdev, i, -1);
  fslMcFreeIrqs(mcDevOf(vdev));
  vdev.mcIrqs = null;
}
