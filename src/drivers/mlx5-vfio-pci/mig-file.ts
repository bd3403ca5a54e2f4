// The migration data files of mlx5-vfio-pci (drivers/vfio/pci/mlx5/main.c mlx5vf_save_fops and mlx5vf_resume_fops):
// a stream of records, each a 16-byte header (record_size u64, flags u32, tag u32) and its data: the STOP_COPY_SIZE
// record (optional) and FW_DATA records holding the firmware's images. Reading at the end of the data in PRE_COPY
// is ENOMSG; a file in error is ENODEV; the resuming side loads each image as its last byte arrives.
import { VfioError } from '../../uapi/errno.js';
import type { VfioMigrationFile } from '../../vfio/vfio-ops.js';

export const MLX5_MIGF_HEADER_SIZE = 16;
export const MLX5_MIGF_HEADER_FLAGS_TAG_MANDATORY = 0;
export const MLX5_MIGF_HEADER_FLAGS_TAG_OPTIONAL = 1;
export const MLX5_MIGF_HEADER_TAG_FW_DATA = 0;
export const MLX5_MIGF_HEADER_TAG_STOP_COPY_SIZE = 1;
/** MAX_LOAD_SIZE: load_vhca_state_in.size is 32 bits. */
export const MLX5_MAX_LOAD_SIZE = 2 ** 32 - 1;

export type Mlx5MigfState = 'init' | 'pre-copy' | 'save-stop-copy-chunk' | 'complete' | 'error';

/** One record: header and data. */
export function mlx5MigRecord(tag: number, flags: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(MLX5_MIGF_HEADER_SIZE + data.length);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(data.length), true);
  dv.setUint32(8, flags, true);
  dv.setUint32(12, tag, true);
  out.set(data, MLX5_MIGF_HEADER_SIZE);
  return out;
}

/** What the saving file asks of the device: the next chunk of a chunked save, and PRE_COPY's info. */
export interface Mlx5SaveHooks {
  /** A chunk was read whole while more are to come: save the next one (mlx5vf_mig_file_save_work). */
  nextChunk(file: Mlx5SaveFile): void;
  /** VFIO_MIG_GET_PRECOPY_INFO (the device is in PRE_COPY or PRE_COPY_P2P: the core checked). */
  precopyInfo(file: Mlx5SaveFile): { initialBytes: bigint; dirtyBytes: bigint };
}

/** struct mlx5_vf_migration_file on the saving side. */
export class Mlx5SaveFile implements VfioMigrationFile {
  state: Mlx5MigfState = 'init';
  /** Records not read yet, the first one possibly in part. */
  private readonly bufs: Uint8Array[] = [];
  /** Bytes handed to the user (filp->f_pos). */
  pos = 0;
  /** Bytes queued so far (migf->max_pos). */
  maxPos = 0;
  /** The first bytes the user must read before PRE_COPY's data counts as dirty (pre_copy_initial_bytes). */
  preCopyInitialBytes = 0;
  /** In a chunked save: bytes still to save after the queued chunk (0: none). */
  nextRequiredUmemSize = 0;

  constructor(private readonly hooks: Mlx5SaveHooks) {}

  /** Queues a record the user will read. */
  append(record: Uint8Array): void {
    this.bufs.push(record);
    this.maxPos += record.length;
  }

  get queued(): number {
    return this.maxPos - this.pos;
  }

  /** mlx5vf_save_read(): ENODEV in error, ENOMSG at the end of the data in PRE_COPY, 0 at the end of a complete save. */
  read(buf: Uint8Array): number {
    if (this.state === 'error') throw new VfioError('ENODEV', 'the migration file is in error');
    if (this.bufs.length === 0 && this.state === 'pre-copy') throw new VfioError('ENOMSG', 'no PRE_COPY data now');
    let done = 0;
    while (done < buf.length) {
      const head = this.bufs[0];
      if (head === undefined) break;
      const n = Math.min(head.length, buf.length - done);
      buf.set(head.subarray(0, n), done);
      done += n;
      this.pos += n;
      if (n === head.length) {
        this.bufs.shift();
        // mlx5vf_buf_read_done(): the chunk buffer is free again; the next chunk is saved into it.
        if (this.bufs.length === 0 && this.state === 'save-stop-copy-chunk') this.hooks.nextChunk(this);
      } else {
        this.bufs[0] = head.subarray(n);
      }
      // A failed chunk save leaves the file in error: what was read so far is returned.
      if (this.failed()) break;
    }
    return done;
  }

  failed(): boolean {
    return this.state === 'error';
  }

  precopyInfo(): { initialBytes: bigint; dirtyBytes: bigint } {
    if (this.state === 'error') throw new VfioError('ENODEV', 'the migration file is in error');
    return this.hooks.precopyInfo(this);
  }

  /** The user closed the file (mlx5vf_release_file): it stops working. */
  release(): void {
    this.disable();
  }

  /** mlx5vf_disable_fd(). */
  disable(): void {
    this.state = 'error';
    this.bufs.length = 0;
  }
}

type LoadState = 'read-header' | 'read-header-data' | 'read-image';

/** struct mlx5_vf_migration_file on the resuming side: records parsed as they arrive, images loaded when whole. */
export class Mlx5ResumeFile implements VfioMigrationFile {
  state: Mlx5MigfState = 'init';
  private loadState: LoadState = 'read-header';
  private readonly header = new Uint8Array(MLX5_MIGF_HEADER_SIZE);
  private have = 0;
  private record: Uint8Array = new Uint8Array(0);
  private tag = 0;
  /** The STOP_COPY_SIZE the source announced (stop_copy_prep_size). */
  stopCopyPrepSize = 0;

  constructor(private readonly load: (image: Uint8Array) => void) {}

  /** mlx5vf_resume_write(): ENODEV in error; ENOMEM for a record past MAX_LOAD_SIZE; EOPNOTSUPP for a mandatory unknown tag. */
  write(buf: Uint8Array): number {
    if (this.state === 'error') throw new VfioError('ENODEV', 'the migration file is in error');
    try {
      let at = 0;
      while (at < buf.length) at += this.step(buf.subarray(at));
      return buf.length;
    } catch (err) {
      this.state = 'error';
      throw err;
    }
  }

  /** Consumes what the current load state needs of `buf`; returns the bytes taken. */
  private step(buf: Uint8Array): number {
    if (this.loadState === 'read-header') {
      const n = Math.min(buf.length, MLX5_MIGF_HEADER_SIZE - this.have);
      this.header.set(buf.subarray(0, n), this.have);
      this.have += n;
      if (this.have === MLX5_MIGF_HEADER_SIZE) this.headerDone();
      return n;
    }
    const n = Math.min(buf.length, this.record.length - this.have);
    this.record.set(buf.subarray(0, n), this.have);
    this.have += n;
    if (this.have === this.record.length) this.recordDone();
    return n;
  }

  private headerDone(): void {
    const dv = new DataView(this.header.buffer);
    const size = dv.getBigUint64(0, true);
    if (size > BigInt(MLX5_MAX_LOAD_SIZE)) throw new VfioError('ENOMEM', `a ${size}-byte record`);
    const flags = dv.getUint32(8, true);
    this.tag = dv.getUint32(12, true);
    if (this.tag === MLX5_MIGF_HEADER_TAG_FW_DATA) this.loadState = 'read-image';
    else if (this.tag === MLX5_MIGF_HEADER_TAG_STOP_COPY_SIZE || (flags & MLX5_MIGF_HEADER_FLAGS_TAG_OPTIONAL) !== 0) this.loadState = 'read-header-data';
    else throw new VfioError('EOPNOTSUPP', `mandatory record tag ${this.tag}`);
    this.record = new Uint8Array(Number(size));
    this.have = 0;
    if (this.record.length === 0) this.recordDone();
  }

  private recordDone(): void {
    if (this.loadState === 'read-image') {
      this.load(this.record);
    } else if (this.tag === MLX5_MIGF_HEADER_TAG_STOP_COPY_SIZE && this.record.length >= 8) {
      const v = new DataView(this.record.buffer).getBigUint64(0, true);
      this.stopCopyPrepSize = Number(v < BigInt(MLX5_MAX_LOAD_SIZE) ? v : BigInt(MLX5_MAX_LOAD_SIZE));
    }
    this.loadState = 'read-header';
    this.record = new Uint8Array(0);
    this.have = 0;
  }

  release(): void {
    this.disable();
  }

  disable(): void {
    this.state = 'error';
  }
}
