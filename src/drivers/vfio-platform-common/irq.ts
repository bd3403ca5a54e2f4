// Interrupts of a vfio-platform device (drivers/vfio/platform/vfio_platform_irq.c, with the persistent handlers of
// "vfio/platform: Create persistent IRQ handlers"): at open each line is requested disabled (IRQF_NO_AUTOEN); a
// level line is MASKABLE|AUTOMASKED (its handler masks it and signals), an edge line EVENTFD only (its handler
// signals). SET_IRQS: TRIGGER sets the eventfd (enabling the line) or fires the handler by hand; MASK and UNMASK
// (level lines) take NONE, BOOL or an eventfd (virqfd).
import { close } from '../../native/index.js';
import { signalEventfd, takeEventfd } from '../../emu/irq-triggers.js';
import { VfioError } from '../../uapi/errno.js';
import { VFIO_IRQ_INFO_AUTOMASKED, VFIO_IRQ_INFO_EVENTFD, VFIO_IRQ_INFO_MASKABLE } from '../../uapi/irq-info.js';
import {
  VFIO_IRQ_SET_ACTION_MASK,
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_ACTION_TYPE_MASK,
  VFIO_IRQ_SET_ACTION_UNMASK,
  VFIO_IRQ_SET_DATA_BOOL,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_DATA_NONE,
  vfioIrqSetBools,
  vfioIrqSetEventfds,
} from '../../uapi/irq-set.js';
import type { VfioIrqSet } from '../../uapi/irq-set.js';
import type { VfioPlatformDevice, VfioPlatformIrq } from './private.js';
import { Virqfd } from './virqfd.js';

function vfioPlatformMask(irq: VfioPlatformIrq): void {
  if (!irq.masked) {
    irq.line.disable();
    irq.masked = true;
  }
}

function vfioPlatformUnmask(irq: VfioPlatformIrq): void {
  if (irq.masked) {
    // Unmasked before the enable: an asserted level line is delivered from inside enable (the kernel's handler runs
    // once the lock is dropped), and it must see the line unmasked.
    irq.masked = false;
    irq.line.enable();
  }
}

/** vfio_automasked_irq_handler(): masks the line and signals, unless already masked. */
function automaskedHandler(irq: VfioPlatformIrq): void {
  if (irq.masked) return;
  irq.line.disable();
  irq.masked = true;
  signalEventfd(irq.trigger);
}

/** vfio_irq_handler(). */
function plainHandler(irq: VfioPlatformIrq): void {
  signalEventfd(irq.trigger);
}

const handlerOf = (irq: VfioPlatformIrq): ((irq: VfioPlatformIrq) => void) =>
  (irq.flags & VFIO_IRQ_INFO_AUTOMASKED) !== 0 ? automaskedHandler : plainHandler;

/** vfio_platform_irq_init(): one IRQ per line get_irq gives, each requested with its handler and left disabled. */
export function vfioPlatformIrqInit(vdev: VfioPlatformDevice): void {
  const get = vdev.getIrq;
  const irqs: VfioPlatformIrq[] = [];
  for (let i = 0; get !== null; i++) {
    const line = get(vdev, i);
    if (line === null) break;
    let flags = VFIO_IRQ_INFO_EVENTFD;
    if (line.trigger === 'level') flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
    const irq: VfioPlatformIrq = { flags, count: 1, line, requestError: null, masked: false, trigger: -1, mask: null, unmask: null };
    const handler = handlerOf(irq);
    try {
      line.request(() => handler(irq), { noAutoEn: true });
    } catch (err) {
      // For compatibility, request_irq errors are local to the SET_IRQS path (polling mode stays possible).
      irq.requestError = err instanceof Error ? err : new Error(String(err));
    }
    irqs.push(irq);
  }
  vdev.irqs = irqs;
}

/** vfio_platform_irq_cleanup(): virqfds off, handlers freed, triggers dropped. */
export function vfioPlatformIrqCleanup(vdev: VfioPlatformDevice): void {
  for (const irq of vdev.irqs) {
    irq.mask?.disable();
    irq.unmask?.disable();
    irq.mask = irq.unmask = null;
    if (irq.requestError !== null) continue;
    irq.line.free();
    if (irq.trigger >= 0) close(irq.trigger); // balances takeEventfd in vfioSetTrigger
    irq.trigger = -1;
  }
  vdev.irqs = [];
}

function setVirqfd(irq: VfioPlatformIrq, which: 'mask' | 'unmask', fd: number, fn: () => void): void {
  irq[which]?.disable();
  irq[which] = null;
  if (fd >= 0) irq[which] = new Virqfd(fd, fn);
}

/** vfio_platform_set_irq_mask / _unmask. */
function setIrqMaskOrUnmask(irq: VfioPlatformIrq, hdr: VfioIrqSet, mask: boolean): void {
  if (hdr.start !== 0 || hdr.count !== 1) throw new VfioError('EINVAL', 'platform IRQs have one vector');
  if ((irq.flags & VFIO_IRQ_INFO_MASKABLE) === 0) throw new VfioError('EINVAL', 'an edge IRQ cannot be masked');
  const act = mask ? () => vfioPlatformMask(irq) : () => vfioPlatformUnmask(irq);
  if ((hdr.flags & VFIO_IRQ_SET_DATA_EVENTFD) !== 0) {
    setVirqfd(irq, mask ? 'mask' : 'unmask', vfioIrqSetEventfds(hdr)[0] ?? -1, act);
  } else if ((hdr.flags & VFIO_IRQ_SET_DATA_NONE) !== 0) {
    act();
  } else if ((hdr.flags & VFIO_IRQ_SET_DATA_BOOL) !== 0 && vfioIrqSetBools(hdr)[0] === true) {
    act();
  }
}

/** vfio_set_trigger(): the old trigger off (line disabled), the new one on (line enabled). */
function vfioSetTrigger(irq: VfioPlatformIrq, fd: number): void {
  if (irq.trigger >= 0) {
    irq.line.disable();
    close(irq.trigger); // balances takeEventfd below, on the previous call
    irq.trigger = -1;
  }
  if (fd < 0) return;
  irq.trigger = takeEventfd(fd);
  // irq.masked nests inside this enable: request_irq left the line disabled once.
  irq.line.enable();
}

/** vfio_platform_set_irq_trigger(). */
function setIrqTrigger(irq: VfioPlatformIrq, hdr: VfioIrqSet): void {
  const handler = handlerOf(irq);
  if (hdr.count === 0 && (hdr.flags & VFIO_IRQ_SET_DATA_NONE) !== 0) {
    vfioSetTrigger(irq, -1);
    return;
  }
  if (hdr.start !== 0 || hdr.count !== 1) throw new VfioError('EINVAL', 'platform IRQs have one vector');
  if ((hdr.flags & VFIO_IRQ_SET_DATA_EVENTFD) !== 0) {
    vfioSetTrigger(irq, vfioIrqSetEventfds(hdr)[0] ?? -1);
  } else if ((hdr.flags & VFIO_IRQ_SET_DATA_NONE) !== 0) {
    handler(irq);
  } else if ((hdr.flags & VFIO_IRQ_SET_DATA_BOOL) !== 0 && vfioIrqSetBools(hdr)[0] === true) {
    handler(irq);
  }
}

/** vfio_platform_set_irqs_ioctl(): the header was validated by the caller. */
export function vfioPlatformSetIrqsIoctl(vdev: VfioPlatformDevice, hdr: VfioIrqSet): number {
  const irq = vdev.irqs[hdr.index];
  if (irq === undefined) throw new VfioError('EINVAL', `irq index ${hdr.index}`);
  if (irq.requestError !== null) throw irq.requestError;
  switch (hdr.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK) {
    case VFIO_IRQ_SET_ACTION_MASK:
      setIrqMaskOrUnmask(irq, hdr, true);
      return 0;
    case VFIO_IRQ_SET_ACTION_UNMASK:
      setIrqMaskOrUnmask(irq, hdr, false);
      return 0;
    case VFIO_IRQ_SET_ACTION_TRIGGER:
      setIrqTrigger(irq, hdr);
      return 0;
    default:
      throw new VfioError('ENOTTY', 'no such SET_IRQS action');
  }
}
