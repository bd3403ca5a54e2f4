// The firmware behind a ConnectX PF's command interface, for the commands the vfio variant driver issues on a VF's
// behalf (drivers/vfio/pci/mlx5/cmd.c): QUERY_HCA_CAP of another function (its vhca_id and migration caps),
// SUSPEND_VHCA / RESUME_VHCA, QUERY_VHCA_MIGRATION_STATE, SAVE_VHCA_STATE (whole, incremental, in chunks),
// LOAD_VHCA_STATE, and the PAGE_TRACK general object. A command is a typed call here, not a mailbox in BAR0 memory,
// and a saved image is returned as bytes rather than written by DMA into an mkey; a failed command throws the
// VfioError the kernel's mlx5_cmd_exec would turn its status into (bad parameter or state: EINVAL).
import { VfioError } from '../../uapi/errno.js';
import {
  MLX5_RESUME_VHCA_IN_OP_MOD_RESUME_INITIATOR,
  MLX5_RESUME_VHCA_IN_OP_MOD_RESUME_RESPONDER,
  MLX5_SUSPEND_VHCA_IN_OP_MOD_SUSPEND_INITIATOR,
  MLX5_SUSPEND_VHCA_IN_OP_MOD_SUSPEND_RESPONDER,
} from './mlx5-regs.js';
import { Mlx5PageTracker } from './page-tracker.js';
import type { Mlx5TrackRange, Mlx5TrackerCaps } from './page-tracker.js';
import { VHCA_IMAGE_HEADER_SIZE, decodeVhcaImage, encodeVhcaImage, vhcaSectionBytes } from './vhca-state.js';
import type { VhcaSection } from './vhca-state.js';
import type { Mlx5Vf } from './vf.js';

/** The general-device and advanced-virtualization caps a function reports (the bits mlx5vf_cmd_set_migratable reads). */
export interface Mlx5HcaCaps {
  readonly vhcaId: number;
  /** cmd_hca_cap.migration. */
  readonly migration: boolean;
  /** cmd_hca_cap_2.migration_multi_load and migration_tracking_state (both are needed for PRE_COPY). */
  readonly migrationMultiLoad: boolean;
  readonly migrationTrackingState: boolean;
  /** cmd_hca_cap_2.migration_in_chunks. */
  readonly migrationInChunks: boolean;
  /** cmd_hca_cap.adv_virtualization: the page tracker exists. */
  readonly advVirtualization: boolean;
  readonly tracker: Mlx5TrackerCaps;
}

export type Mlx5FirmwareCaps = Omit<Mlx5HcaCaps, 'vhcaId'>;

export interface Mlx5MigrationStateSize {
  /** required_umem_size: the buffer the next SAVE needs (in chunk mode, the least that makes progress). */
  readonly requiredUmemSize: number;
  /** remaining_total_size: every byte still to save. */
  readonly remainingTotalSize: number;
}

export interface Mlx5SaveOut {
  /** The image (actual_image_size bytes). */
  readonly image: Uint8Array;
  /** next_required_umem_size: bytes of the same save still to come in further chunks; 0 when this was the last. */
  readonly nextRequiredUmemSize: number;
}

export class Mlx5Firmware {
  private readonly trackers = new Map<number, Mlx5Vf>();
  private nextObjId = 1;

  constructor(
    readonly caps: Mlx5FirmwareCaps,
    /** The VF with this vhca_id, while enabled; and the vhca_id of the function with this function_id (VF n: n + 1). */
    private readonly lookup: { vf(vhcaId: number): Mlx5Vf | undefined; vhcaIdOf(functionId: number): number | undefined },
  ) {}

  /** QUERY_HCA_CAP (other_function): EINVAL for a function that does not exist. */
  queryHcaCap(functionId: number): Mlx5HcaCaps {
    const vhcaId = this.lookup.vhcaIdOf(functionId);
    if (vhcaId === undefined) throw new VfioError('EINVAL', `no function ${functionId}`);
    return { ...this.caps, vhcaId };
  }

  suspendVhca(vhcaId: number, opMod: number): void {
    const vf = this.vf(vhcaId);
    if (opMod !== MLX5_SUSPEND_VHCA_IN_OP_MOD_SUSPEND_INITIATOR && opMod !== MLX5_SUSPEND_VHCA_IN_OP_MOD_SUSPEND_RESPONDER) throw new VfioError('EINVAL', `suspend op_mod ${opMod}`);
    vf.fwSuspend(opMod === MLX5_SUSPEND_VHCA_IN_OP_MOD_SUSPEND_RESPONDER);
  }

  resumeVhca(vhcaId: number, opMod: number): void {
    const vf = this.vf(vhcaId);
    if (opMod !== MLX5_RESUME_VHCA_IN_OP_MOD_RESUME_RESPONDER && opMod !== MLX5_RESUME_VHCA_IN_OP_MOD_RESUME_INITIATOR) throw new VfioError('EINVAL', `resume op_mod ${opMod}`);
    vf.fwResume(opMod === MLX5_RESUME_VHCA_IN_OP_MOD_RESUME_INITIATOR);
  }

  /** QUERY_VHCA_MIGRATION_STATE: incremental needs tracking on (EINVAL); `chunk` asks for the chunk-mode figures. */
  queryVhcaMigrationState(vhcaId: number, incremental: boolean, chunk: boolean): Mlx5MigrationStateSize {
    const vf = this.vf(vhcaId);
    const m = vf.fwMig;
    let sections = m.pending;
    if (sections.length === 0) {
      if (incremental && !m.tracking) throw new VfioError('EINVAL', 'incremental query without tracking');
      sections = vf.fwSections(!incremental);
    }
    // Nothing changed since the tracked save: nothing to save.
    if (incremental && sections.length === 0) return { requiredUmemSize: 0, remainingTotalSize: 0 };
    const total = imageBytes(sections);
    if (!chunk || !this.caps.migrationInChunks) return { requiredUmemSize: total, remainingTotalSize: total };
    const least = VHCA_IMAGE_HEADER_SIZE + Math.max(0, ...sections.map(vhcaSectionBytes));
    return { requiredUmemSize: Math.min(total, least), remainingTotalSize: total };
  }

  /**
   * SAVE_VHCA_STATE into a buffer of `size` bytes. A save continues a chunked one still pending; otherwise it takes
   * every section (or, incremental, those changed since the last tracked save: EINVAL without tracking) and starts
   * tracking afresh when `setTrack`. Without chunk mode the buffer must hold the whole image (EINVAL).
   */
  saveVhcaState(vhcaId: number, size: number, incremental: boolean, setTrack: boolean): Mlx5SaveOut {
    const vf = this.vf(vhcaId);
    const m = vf.fwMig;
    if (m.pending.length === 0) {
      if (incremental && !m.tracking) throw new VfioError('EINVAL', 'incremental save without tracking');
      m.pending = vf.fwSections(!incremental);
      vf.fwClearDirty();
    }
    m.tracking = setTrack;
    if (!this.caps.migrationInChunks && imageBytes(m.pending) > size) {
      throw new VfioError('EINVAL', `a ${imageBytes(m.pending)}-byte image does not fit ${size} bytes`);
    }
    const take: VhcaSection[] = [];
    let used = VHCA_IMAGE_HEADER_SIZE;
    while (m.pending.length > 0) {
      const s = m.pending[0];
      if (s === undefined || used + vhcaSectionBytes(s) > size) break;
      used += vhcaSectionBytes(s);
      take.push(s);
      m.pending.shift();
    }
    if (take.length === 0 && m.pending.length > 0) throw new VfioError('EINVAL', `${size} bytes cannot hold the next section`);
    const image = encodeVhcaImage(vf.shape, incremental, take);
    return { image, nextRequiredUmemSize: m.pending.length === 0 ? 0 : imageBytes(m.pending) };
  }

  /** LOAD_VHCA_STATE: the VF must be suspended (EINVAL while running); the image is checked whole, then applied. */
  loadVhcaState(vhcaId: number, image: Uint8Array): void {
    const vf = this.vf(vhcaId);
    if (vf.runState === 'running') throw new VfioError('EINVAL', 'load into a running VHCA');
    vf.fwApply(decodeVhcaImage(image, vf.shape, (id) => vf.fwSectionSize(id)));
  }

  /** CREATE_GENERAL_OBJECT(PAGE_TRACK) for a VF; one per VF (EEXIST); limits as Mlx5PageTracker's. */
  createPageTrack(vhcaId: number, ranges: readonly Mlx5TrackRange[], logPageSize: number): number {
    if (!this.caps.advVirtualization) throw new VfioError('EOPNOTSUPP', 'no page tracker');
    const vf = this.vf(vhcaId);
    if (vf.tracker !== null) throw new VfioError('EEXIST', 'the VHCA already has a page tracker');
    const id = this.nextObjId++;
    vf.tracker = new Mlx5PageTracker(id, ranges, logPageSize, this.caps.tracker);
    this.trackers.set(id, vf);
    return id;
  }

  /** MODIFY_GENERAL_OBJECT(PAGE_TRACK, REPORTING): the dirty pages of the window, cleared. */
  modifyPageTrackReport(objId: number, rangeStart: bigint, length: bigint): bigint[] {
    const t = this.trackers.get(objId)?.tracker;
    if (t === undefined || t === null || t.id !== objId) throw new VfioError('EINVAL', `no page tracker ${objId}`);
    return t.report(rangeStart, length);
  }

  destroyPageTrack(objId: number): void {
    const vf = this.trackers.get(objId);
    if (vf === undefined) throw new VfioError('EINVAL', `no page tracker ${objId}`);
    this.trackers.delete(objId);
    if (vf.tracker?.id === objId) vf.tracker = null;
  }

  /** The PF was reset or its VFs went away: every object and session is gone. */
  reset(): void {
    for (const vf of this.trackers.values()) vf.tracker = null;
    this.trackers.clear();
  }

  private vf(vhcaId: number): Mlx5Vf {
    const vf = this.lookup.vf(vhcaId);
    if (vf === undefined) throw new VfioError('EINVAL', `no VHCA ${vhcaId}`);
    return vf;
  }
}

function imageBytes(sections: readonly VhcaSection[]): number {
  return sections.reduce((n, s) => n + vhcaSectionBytes(s), VHCA_IMAGE_HEADER_SIZE);
}
