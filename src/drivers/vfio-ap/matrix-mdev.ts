// The matrix mdev (drivers/s390/crypto/vfio_ap_ops.c struct ap_matrix_mdev): the driver state that IS the VFIO
// device, vfio_ap_mdev_init_dev (the matrices, the queue table) and the assignment operations behind its sysfs
// files (assign_adapter_store and friends, ap_config_store) with the kernel's validation and errno. The ops
// table is in matrix-ops.ts.
import { kstrtoul } from '../../base/kstrtox.js';
import { MdevDevice } from '../../mdev/mdev-objects.js';
import { ApMask, apParseMask } from '../../hw/ap/ap-mask.js';
import { apMkQid } from '../../hw/ap/ap-defs.js';
import { apApqnInMatrixOwnedByDefDrv } from '../../hw/ap/ap-bus.js';
import { VfioError } from '../../uapi/errno.js';
import type { ErrnoName } from '../../uapi/errno.js';
import { VfioDevice } from '../../vfio/vfio-device.js';
import type { ApMatrix } from './matrix.js';
import { vfioApFilterCdoms, vfioApFilterMatrix, vfioApMatrixInit, vfioApUpdateGuestApcb } from './matrix.js';
import { MatrixDev, vfioApSharedWith } from './matrix-dev.js';
import type { VfioApQueue } from './vfio-ap-queue.js';
import { vfioApResetQueue, vfioApResetQueues } from './vfio-ap-queue.js';

/** struct ap_matrix_mdev. */
export class ApMatrixMdev extends VfioDevice {
  /** The parent's matrix device (matrix_dev), found through the mdev in init. */
  matrixDev: MatrixDev | null = null;
  /** What userspace assigned. */
  matrix: ApMatrix = emptyMatrix();
  /** What the guest gets (shadow_apcb): `guest_matrix`. */
  shadow: ApMatrix = emptyMatrix();
  /** The queues of the matrix bound to vfio_ap (qtable), by APQN. */
  readonly qtable = new Map<number, VfioApQueue>();
  /** Whether a guest uses the device (matrix_mdev->kvm: set on open, cleared on close; there is no KVM here). */
  guestAttached = false;
  reqTrigger = -1;
  cfgChgTrigger = -1;
}

function emptyMatrix(): ApMatrix {
  return { apmMax: 0, aqmMax: 0, admMax: 0, apm: new ApMask(), aqm: new ApMask(), adm: new ApMask() };
}

/** The matrix device of an initialized mdev; a bug otherwise. */
export function matrixDevOf(m: ApMatrixMdev): MatrixDev {
  if (m.matrixDev === null) throw new Error(`${m.name}: vfio_ap device used outside init..release`);
  return m.matrixDev;
}

/** vfio_ap_mdev_init_dev(): matrices sized by the machine, an empty queue table. EINVAL on a foreign parent. */
export function vfioApMdevInitDev(m: ApMatrixMdev): void {
  const mdev = m.dev;
  const md = mdev instanceof MdevDevice ? mdev.type.parent.dev : null;
  if (!(md instanceof MatrixDev)) throw new VfioError('EINVAL', 'vfio_ap drives mdevs of the matrix device');
  m.matrixDev = md;
  m.matrix = vfioApMatrixInit(md.info);
  m.shadow = vfioApMatrixInit(md.info);
  m.qtable.clear();
}

/** kstrtoul, then the id's range: EINVAL if not a number, ENODEV past `max`. */
function parseId(text: string, max: number): number {
  const v = kstrtoul(text);
  if (v > BigInt(max)) throw new VfioError('ENODEV', `${v} is past the maximum ${max}`);
  return Number(v);
}

/** vfio_ap_mdev_validate_masks(): EADDRNOTAVAIL if the host keeps an APQN, EADDRINUSE if another mdev has one. */
function validateMasks(m: ApMatrixMdev, md: MatrixDev): void {
  const host = md.host;
  if (host !== null && apApqnInMatrixOwnedByDefDrv(host, m.matrix.apm, m.matrix.aqm)) {
    throw new VfioError('EADDRNOTAVAIL', 'an APQN of the matrix belongs to the host (apmask/aqmask)');
  }
  const other = vfioApSharedWith(md, m.matrix.apm, m.matrix.aqm, m);
  if (other !== undefined) throw new VfioError('EADDRINUSE', `an APQN of the matrix is already assigned to ${other.dev?.name ?? 'another mdev'}`);
}

/** vfio_ap_mdev_link_apqn() for every APQN of the matrix: bound queues join the table. */
function linkQueues(m: ApMatrixMdev, md: MatrixDev): void {
  for (const apid of m.matrix.apm.ids()) {
    for (const apqi of m.matrix.aqm.ids()) {
      const q = md.queues.get(apMkQid(apid, apqi));
      if (q !== undefined && !m.qtable.has(q.apqn)) {
        q.matrixMdev = m;
        m.qtable.set(q.apqn, q);
      }
    }
  }
}

/**
 * The hot unplug of vfio_ap_mdev_hot_unplug_adapter/_domain/_cfg: queues no longer in the matrix leave the table;
 * those the guest had are reset after the guest's masks shrink. The store does not wait for the resets to end (the
 * kernel's flushes them under its locks): a sysfs write cannot sleep here; the queues answer RESET_IN_PROGRESS
 * until their works see them out of reset, and whoever gets them next (another mdev's RESET, the host driver) meets
 * that state.
 */
function unlinkGone(m: ApMatrixMdev, md: MatrixDev): void {
  const gone = [...m.qtable.values()].filter((q) => !(m.matrix.apm.test(q.apqn >> 8) && m.matrix.aqm.test(q.apqn & 0xff)));
  const hadGuest = gone.filter((q) => m.shadow.apm.test(q.apqn >> 8) && m.shadow.aqm.test(q.apqn & 0xff));
  for (const q of gone) m.qtable.delete(q.apqn);
  if (vfioApFilterMatrix(m.matrix.apm, m.matrix.aqm, m, md.info)) vfioApUpdateGuestApcb(m);
  for (const q of hadGuest) vfioApResetQueue(q);
  for (const q of gone) q.matrixMdev = null;
}

type MaskName = 'apm' | 'aqm' | 'adm';

function maxOf(m: ApMatrix, which: MaskName): number {
  return which === 'apm' ? m.apmMax : which === 'aqm' ? m.aqmMax : m.admMax;
}

/** assign_adapter/assign_domain/assign_control_domain_store. */
export function vfioApAssign(m: ApMatrixMdev, which: MaskName, text: string): void {
  const md = matrixDevOf(m);
  const id = parseId(text, maxOf(m.matrix, which));
  const mask = m.matrix[which];
  if (mask.test(id)) return;
  mask.set(id);
  if (which === 'adm') {
    if (vfioApFilterCdoms(m, md.info)) vfioApUpdateGuestApcb(m);
    return;
  }
  try {
    validateMasks(m, md);
  } catch (err) {
    mask.clear(id);
    throw err;
  }
  linkQueues(m, md);
  const delta = ApMask.of([id]);
  const changed = which === 'apm' ? vfioApFilterMatrix(delta, m.matrix.aqm, m, md.info) : vfioApFilterMatrix(m.matrix.apm, delta, m, md.info);
  if (changed) vfioApUpdateGuestApcb(m);
}

/** unassign_adapter/unassign_domain/unassign_control_domain_store. */
export function vfioApUnassign(m: ApMatrixMdev, which: MaskName, text: string): void {
  const md = matrixDevOf(m);
  const id = parseId(text, maxOf(m.matrix, which));
  const mask = m.matrix[which];
  if (!mask.test(id)) return;
  mask.clear(id);
  if (which === 'adm') {
    if (vfioApFilterCdoms(m, md.info)) vfioApUpdateGuestApcb(m);
    return;
  }
  unlinkGone(m, md);
}

/**
 * ap_config_store(): three lines, the new apm, aqm and adm as "0x" hex masks, replacing the assignment at once.
 * EINVAL for malformed masks or bits past the maxima; the assignment's own errno otherwise (nothing changes).
 */
export function vfioApSetConfig(m: ApMatrixMdev, text: string): void {
  const md = matrixDevOf(m);
  const lines = text.replace(/\n$/, '').split('\n');
  if (lines.length !== 3) throw new VfioError('EINVAL', 'ap_config takes three masks: apm, aqm, adm');
  const masks = lines.map((l) => parseHexMask(l));
  const [apm, aqm, adm] = masks;
  if (apm === undefined || aqm === undefined || adm === undefined) throw new VfioError('EINVAL', 'ap_config takes three masks');
  const over = (mask: ApMask, max: number): boolean => mask.ids().some((i) => i > max);
  if (over(apm, m.matrix.apmMax) || over(aqm, m.matrix.aqmMax) || over(adm, m.matrix.admMax)) {
    throw new VfioError('EINVAL', 'ap_config: a mask has bits past the machine maximum');
  }
  const saved = { apm: m.matrix.apm.clone(), aqm: m.matrix.aqm.clone(), adm: m.matrix.adm.clone() };
  m.matrix.apm.copyFrom(apm);
  m.matrix.aqm.copyFrom(aqm);
  m.matrix.adm.copyFrom(adm);
  try {
    validateMasks(m, md);
  } catch (err) {
    m.matrix.apm.copyFrom(saved.apm);
    m.matrix.aqm.copyFrom(saved.aqm);
    m.matrix.adm.copyFrom(saved.adm);
    throw err;
  }
  unlinkGone(m, md);
  linkQueues(m, md);
  const changed = vfioApFilterMatrix(m.matrix.apm, m.matrix.aqm, m, md.info);
  if (vfioApFilterCdoms(m, md.info) || changed) vfioApUpdateGuestApcb(m);
}

/** One ap_config line: an absolute "0x" mask (hex2bitmap). */
function parseHexMask(line: string): ApMask {
  const s = line.trim();
  if (!/^0[xX]/.test(s)) throw new VfioError('EINVAL', `ap_config: bad mask '${s.slice(0, 80)}'`);
  return apParseMask(s, new ApMask());
}

/** `ap_config`'s text: the three masks, one a line. */
export function vfioApShowConfig(m: ApMatrixMdev): string {
  return `${m.matrix.apm.toHex()}\n${m.matrix.aqm.toHex()}\n${m.matrix.adm.toHex()}\n`;
}

/**
 * vfio_ap_mdev_reset_queues(&matrix_mdev->qtable): 0, or EBUSY / EIO when a queue's reset did not complete; the
 * caller sleeps until every queue's reset work is done.
 */
export function vfioApMdevResetQueues(m: ApMatrixMdev): Promise<0 | 'EBUSY' | 'EIO'> {
  return vfioApResetQueues(m.qtable.values());
}
