// The matrix device and the vfio_ap queue driver (drivers/s390/crypto/vfio_ap_drv.c, and vfio_ap_ops.c
// vfio_ap_mdev_probe_queue/remove_queue/resource_in_use): `/sys/devices/vfio_ap/matrix` is the mdev parent and
// keeps the mdev list (matrix_dev->mdev_list); the queue driver `vfio_ap` takes the queues apmask/aqmask leave,
// links each to the mdev whose matrix holds it, and takes it out of that guest (hot unplug) when it is unbound.
import { Device } from '../../base/device.js';
import type { Host } from '../../base/host.js';
import type { SysfsAttrTable } from '../../base/sysfs.js';
import type { ApConfigInfo, ApMachine } from '../../hw/ap/ap-machine.js';
import type { ApMask } from '../../hw/ap/ap-mask.js';
import type { ApDriver } from '../../hw/ap/ap-bus.js';
import { ApQueue } from '../../hw/ap/ap-devices.js';
import { apMkQid, apQidCard, apQidQueue } from '../../hw/ap/ap-defs.js';
import { vfioApFilterMatrix, vfioApUpdateGuestApcb } from './matrix.js';
import { VfioApQueue, vfioApResetQueue } from './vfio-ap-queue.js';
import type { ApMatrixMdev } from './matrix-mdev.js';

/** MAX_ZDEV_ENTRIES_EXT: the mdevs the passthrough type offers. */
export const VFIO_AP_MAX_INSTANCES = 255;

/** struct ap_matrix_dev. */
export class MatrixDev extends Device {
  /** matrix_dev->mdev_list. */
  readonly mdevs = new Set<ApMatrixMdev>();
  /** The queues bound to vfio_ap, by APQN (their drvdata). */
  readonly queues = new Map<number, VfioApQueue>();
  /** Queue removals still waiting for their resets (the module's exit waits for them, as driver_unregister blocks). */
  readonly removing = new Set<Promise<void>>();

  constructor(
    readonly machine: ApMachine,
    /** matrix_dev->info: the machine's configuration (QCI). */
    readonly info: ApConfigInfo,
  ) {
    super();
    this.name = 'matrix';
  }
}

/** The mdev whose matrix holds `apqn` (vfio_ap_mdev_for_queue), if any. */
export function vfioApMdevForApqn(md: MatrixDev, apqn: number): ApMatrixMdev | undefined {
  for (const m of md.mdevs) if (m.matrix.apm.test(apQidCard(apqn)) && m.matrix.aqm.test(apQidQueue(apqn))) return m;
  return undefined;
}

/** vfio_ap_mdev_verify_no_sharing(): EADDRINUSE if another mdev (not `self`) has an APQN of apm x aqm. */
export function vfioApSharedWith(md: MatrixDev, apm: ApMask, aqm: ApMask, self: ApMatrixMdev | null): ApMatrixMdev | undefined {
  for (const m of md.mdevs) if (m !== self && m.matrix.apm.intersects(apm) && m.matrix.aqm.intersects(aqm)) return m;
  return undefined;
}

/** The queue's `status` file (vfio_ap_ops.c status_show). */
const queueAttrs: SysfsAttrTable<Device> = Object.freeze({
  status: {
    show: (d: Device) => {
      const q = d.driverData;
      const m = q instanceof VfioApQueue ? vfioApMdevForApqn(q.matrixDev, q.apqn) : undefined;
      if (m === undefined) return 'unassigned\n';
      return m.guestAttached ? 'in use\n' : 'assigned\n';
    },
  },
});

/** vfio_ap_mdev_probe_queue(). */
function probeQueue(md: MatrixDev, apq: ApQueue): void {
  const host: Host | null = apq.host;
  if (host === null || apq.kobj === null) return;
  host.sysfs.addAttrs(apq.kobj, queueAttrs);
  const q = new VfioApQueue(apq.hw, md);
  md.queues.set(q.apqn, q);
  // dev_set_drvdata: the base core clears it after remove.
  apq.driverData = q;
  const m = vfioApMdevForApqn(md, q.apqn);
  if (m !== undefined) {
    q.matrixMdev = m;
    m.qtable.set(q.apqn, q);
    if (vfioApFilterMatrix(m.matrix.apm, m.matrix.aqm, m, md.info)) vfioApUpdateGuestApcb(m);
  }
}

/**
 * vfio_ap_mdev_remove_queue(): out of its mdev's table; a queue the guest had takes its whole adapter out of the
 * guest (hot unplug) and every queue of that adapter the guest had is reset (reset_queues_for_apid, skipped for an
 * adapter the host's configuration lost: its ZAPQ would fail); any other queue is reset alone. The remove returns
 * when those resets are over (flush_work), so the unbind that ran it, and the driver that gets the queue next,
 * come after; the event loop runs meanwhile.
 */
async function removeQueue(md: MatrixDev, apq: ApQueue): Promise<void> {
  if (apq.kobj !== null) apq.host?.sysfs.removeAttrs(apq.kobj, queueAttrs);
  const q = md.queues.get(apq.qid);
  if (q === undefined) return;
  const m = q.matrixMdev;
  let toReset: VfioApQueue[] = [q];
  if (m !== null) {
    const apid = apQidCard(q.apqn);
    // The guest loses the whole adapter: the architecture cannot take away one APQN of it.
    if (m.shadow.apm.test(apid) && m.shadow.aqm.test(apQidQueue(q.apqn))) {
      m.shadow.apm.clear(apid);
      vfioApUpdateGuestApcb(m);
      toReset = [];
      if (md.info.apm.test(apid)) {
        for (const apqi of m.shadow.aqm.ids()) {
          const r = m.qtable.get(apMkQid(apid, apqi));
          if (r !== undefined) toReset.push(r);
        }
      }
    }
    m.qtable.delete(q.apqn);
  }
  q.matrixMdev = null;
  md.queues.delete(q.apqn);
  for (const r of toReset) vfioApResetQueue(r);
  for (const r of toReset) await r.resetWork.flush();
}

/** The vfio_ap driver on the ap bus (struct ap_driver vfio_ap_drv) for `md`. */
export function vfioApQueueDriver(md: MatrixDev): ApDriver {
  return Object.freeze({
    name: 'vfio_ap',
    kind: 'queue',
    isDefault: false,
    probe: (dev: Device) => {
      if (dev instanceof ApQueue) probeQueue(md, dev);
    },
    remove: (dev: Device) => {
      if (!(dev instanceof ApQueue)) return undefined;
      const removal = removeQueue(md, dev);
      md.removing.add(removal);
      const done = (): void => void md.removing.delete(removal);
      removal.then(done, done);
      return removal;
    },
    inUse: (apm: ApMask, aqm: ApMask) => vfioApSharedWith(md, apm, aqm, null) !== undefined,
  });
}
