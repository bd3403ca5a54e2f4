// struct ap_matrix (drivers/s390/crypto/vfio_ap_private.h): an mdev's adapters (apm), usage domains (aqm) and
// control domains (adm) with their maxima, vfio_ap_matrix_init, the `matrix`/`guest_matrix` text
// (vfio_ap_mdev_matrix_show), and vfio_ap_mdev_filter_matrix: the guest's matrix (shadow_apcb) is the assigned
// adapters and domains the machine has, less every adapter with an assigned APQN not bound to vfio_ap.
import { ApMask } from '../../hw/ap/ap-mask.js';
import type { ApConfigInfo } from '../../hw/ap/ap-machine.js';
import { apMkQid } from '../../hw/ap/ap-defs.js';
import { signalEventfd } from '../../emu/irq-triggers.js';
import type { VfioApQueue } from './vfio-ap-queue.js';

export interface ApMatrix {
  apmMax: number;
  aqmMax: number;
  admMax: number;
  readonly apm: ApMask;
  readonly aqm: ApMask;
  readonly adm: ApMask;
}

/** vfio_ap_matrix_init(): empty masks, maxima from the machine (Na/Nd with APXA, else 63/15). */
export function vfioApMatrixInit(info: ApConfigInfo): ApMatrix {
  return {
    apmMax: info.apxa ? info.na : 63,
    aqmMax: info.apxa ? info.nd : 15,
    admMax: info.apxa ? info.nd : 15,
    apm: new ApMask(),
    aqm: new ApMask(),
    adm: new ApMask(),
  };
}

const hex = (v: number, w: number): string => v.toString(16).padStart(w, '0');

/** vfio_ap_mdev_matrix_show(): `XX.YYYY` per APQN; `XX.` or `.YYYY` lines when only one side is assigned. */
export function vfioApMatrixShow(m: ApMatrix): string {
  const apids = m.apm.ids(m.apmMax + 1);
  const apqis = m.aqm.ids(m.aqmMax + 1);
  if (apids.length > 0 && apqis.length > 0) return apids.flatMap((a) => apqis.map((q) => `${hex(a, 2)}.${hex(q, 4)}\n`)).join('');
  if (apids.length > 0) return apids.map((a) => `${hex(a, 2)}.\n`).join('');
  return apqis.map((q) => `.${hex(q, 4)}\n`).join('');
}

/** The part of ap_matrix_mdev the filter reads and writes. */
export interface FilterTarget {
  readonly matrix: ApMatrix;
  readonly shadow: ApMatrix;
  readonly qtable: ReadonlyMap<number, VfioApQueue>;
}

/**
 * vfio_ap_mdev_filter_matrix(): recomputes the guest's adapters and domains from the assignment and the machine,
 * then drops each adapter of `apm` with an APQN in `aqm` that is not in the queue table (not bound to vfio_ap) or
 * whose last reset failed. Returns whether the guest's matrix changed.
 */
export function vfioApFilterMatrix(apm: ApMask, aqm: ApMask, t: FilterTarget, info: ApConfigInfo): boolean {
  const prevApm = t.shadow.apm.clone();
  const prevAqm = t.shadow.aqm.clone();
  t.shadow.apm.copyFrom(t.matrix.apm.and(info.apm));
  t.shadow.aqm.copyFrom(t.matrix.aqm.and(info.aqm));
  for (const apid of apm.ids()) {
    for (const apqi of aqm.ids()) {
      const q = t.qtable.get(apMkQid(apid, apqi));
      if (q === undefined || q.resetStatus !== 0) {
        t.shadow.apm.clear(apid);
        break;
      }
    }
  }
  return !prevApm.equals(t.shadow.apm) || !prevAqm.equals(t.shadow.aqm);
}

/** vfio_ap_mdev_filter_cdoms(): the guest's control domains are the assigned ones the machine has. */
export function vfioApFilterCdoms(t: FilterTarget, info: ApConfigInfo): boolean {
  const prev = t.shadow.adm.clone();
  t.shadow.adm.copyFrom(t.matrix.adm.and(info.adm));
  return !prev.equals(t.shadow.adm);
}

/** What vfio_ap_mdev_update_guest_apcb needs of an mdev. */
export interface GuestApcbTarget {
  readonly guestAttached: boolean;
  /** The CFG_CHG eventfd (-1: none). */
  readonly cfgChgTrigger: number;
}

/**
 * vfio_ap_mdev_update_guest_apcb(): with a guest attached, its masks are now the shadow's (read through the
 * guest API), and userspace hears of it on the CFG_CHG eventfd (signal_guest_ap_cfg_changed).
 */
export function vfioApUpdateGuestApcb(t: GuestApcbTarget): void {
  if (t.guestAttached) signalEventfd(t.cfgChgTrigger);
}
