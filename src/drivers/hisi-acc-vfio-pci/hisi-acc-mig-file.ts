// struct hisi_acc_vf_migration_file (drivers/vfio/pci/hisilicon/hisi_acc_vfio_pci.c hisi_acc_vf_save_read,
// hisi_acc_vf_precopy_ioctl, hisi_acc_vf_resume_write, hisi_acc_vf_disable_fd, hisi_acc_vf_release_file): one
// struct acc_vf_data and how much of it is valid, read by the saving side, written by the resuming side.
import { VfioError } from '../../uapi/errno.js';
import type { VfioMigrationFile } from '../../vfio/vfio-ops.js';
import { VF_DATA } from './hisi-acc-device.js';
import type { HisiAccVfCoreDevice } from './hisi-acc-device.js';
import { vfQmCheckMatch } from './vf-qm.js';

export abstract class HisiAccVfMigrationFile implements VfioMigrationFile {
  /** struct acc_vf_data. */
  readonly vfData = new Uint8Array(VF_DATA.size);
  /** The valid bytes of vfData (total_length). */
  totalLength = 0;
  /** The stream's file position (f_pos). */
  pos = 0;
  disabled = false;

  constructor(readonly vdev: HisiAccVfCoreDevice) {}

  /** hisi_acc_vf_disable_fd(): the stream stops working and forgets its data. */
  disable(): void {
    this.disabled = true;
    this.totalLength = 0;
    this.pos = 0;
  }

  /** hisi_acc_vf_release_file(): the user closed it. */
  release(): void {
    this.disable();
  }
}

/** The saving stream (hisi_acc_vf_save_fops). */
export class HisiAccVfSaveFile extends HisiAccVfMigrationFile {
  /** hisi_acc_vf_save_read(): EINVAL past the data, ENODEV once disabled, 0 at the end. */
  read(buf: Uint8Array): number {
    if (this.pos > this.totalLength) throw new VfioError('EINVAL', 'position past the migration data');
    if (this.disabled) throw new VfioError('ENODEV', 'migration stream is disabled');
    const n = Math.min(this.totalLength - this.pos, buf.length);
    buf.set(this.vfData.subarray(this.pos, this.pos + n));
    this.pos += n;
    return n;
  }

  /**
   * hisi_acc_vf_precopy_ioctl() once the core checked the struct and that the device is in PRE_COPY: ENODEV once
   * disabled, EINVAL past the data; what is left to read is initial data, nothing is ever dirty.
   */
  precopyInfo(): { initialBytes: bigint; dirtyBytes: bigint } {
    if (this.disabled) throw new VfioError('ENODEV', 'migration stream is disabled');
    if (this.pos > this.totalLength) throw new VfioError('EINVAL', 'position past the migration data');
    return { initialBytes: BigInt(this.totalLength - this.pos), dirtyBytes: 0n };
  }
}

/** The resuming stream (hisi_acc_vf_resume_fops). */
export class HisiAccVfResumeFile extends HisiAccVfMigrationFile {
  /**
   * hisi_acc_vf_resume_write(): ENOMEM past the struct, ENODEV once disabled; the bytes are kept, and once the match
   * data is complete it is checked: a mismatch fails the write with EFAULT, as the kernel turns any check error.
   */
  write(buf: Uint8Array): number {
    if (this.pos + buf.length > VF_DATA.size) throw new VfioError('ENOMEM', `migration data past ${VF_DATA.size} bytes`);
    if (this.disabled) throw new VfioError('ENODEV', 'migration stream is disabled');
    this.vfData.set(buf, this.pos);
    this.pos += buf.length;
    this.totalLength += buf.length;
    try {
      vfQmCheckMatch(this.vdev, this.vfData, this.totalLength);
    } catch (err) {
      if (!(err instanceof VfioError)) throw err;
      throw new VfioError('EFAULT', `failed to match the VF: ${err.message}`);
    }
    return buf.length;
  }
}
